import type { CheckpointCoordinator } from '../checkpoint/coordinator.js';
import { isWeirError } from '../errors.js';
import type { JobCounters } from '../runtime/task-common.js';
import type { JobState } from './job-state.js';

export interface JobStatus {
  state: JobState;
  /** Epoch millis. */
  startedAt: number;
  rowsIn: number;
  rowsOut: number;
  restarts: number;
  /**
   * While RESTARTING: the restart under way (1 = the first), when it starts (epoch millis; absent
   * once it has started) and the failure that caused it, as one line.
   */
  restart?: RestartInfo;
  lastCheckpoint?: { id: number; kind: 'checkpoint' | 'savepoint'; durationMs: number; sizeBytes: number; completedAt: number; path: string };
  checkpointsCompleted: number;
  checkpointsFailed: number;
  counters: Record<string, number>;
  /** Gauges by name, the largest across subtasks (e.g. 'lag-bytes', 'lag-ms'). */
  gauges: Record<string, number>;
  /** Long tasks such as table snapshots: rows done and the expected total (when known). */
  progress: Record<string, { done: number; total: number | undefined }>;
}

export interface RestartInfo {
  attempt: number;
  at?: number;
  cause: string;
}

export interface StatusSources {
  readonly state: JobState;
  readonly startedAt: number;
  readonly counters: JobCounters;
  readonly restarts: number;
  readonly restartInfo: RestartInfo | undefined;
  readonly coordinator: CheckpointCoordinator | undefined;
}

export function jobStatus(s: StatusSources): JobStatus {
  const cp = s.coordinator?.latest;
  return {
    state: s.state,
    startedAt: s.startedAt,
    rowsIn: s.counters.rowsIn,
    rowsOut: s.counters.rowsOut,
    restarts: s.restarts,
    ...(s.state === 'RESTARTING' && s.restartInfo ? { restart: { ...s.restartInfo } } : {}),
    ...(cp
      ? { lastCheckpoint: { id: cp.id, kind: cp.kind, durationMs: cp.durationMs, sizeBytes: cp.sizeBytes, completedAt: cp.completedAt, path: cp.path } }
      : {}),
    checkpointsCompleted: s.coordinator?.completedCount ?? 0,
    checkpointsFailed: s.coordinator?.failedCount ?? 0,
    counters: s.counters.snapshot(),
    gauges: s.counters.gaugeSnapshot(),
    progress: Object.fromEntries(s.counters.progress),
  };
}

/** The failure as one short line for the status line (no control characters, at most 200 characters). */
export function oneLine(e: unknown): string {
  const text = isWeirError(e) ? e.toUserLine() : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}
