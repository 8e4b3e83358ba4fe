import type { RestartStrategy } from '../config/restart-config.js';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.js';
import type { Logger } from '../log.js';
import type { StateBackendType } from '../config/state-backend-type.js';
import { unreachable, userError } from '../errors.js';

export interface JobOptions {
  /** The job's folder is <checkpointDir>/<graph.jobName>. */
  checkpointDir: string;
  checkpointing: {
    /** 0 = no periodic checkpoints (the final checkpoint of a bounded job or a stop still happens). */
    intervalMs: number;
    mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
    timeoutMs: number;
    /** Pause between the end of one checkpoint and the start of the next periodic one. */
    minPauseMs: number;
    /** Completed checkpoints kept (savepoints are never deleted). */
    numRetained: number;
    /** execution.checkpointing.incremental (default false). */
    incremental?: boolean;
  };
  restartStrategy: RestartStrategy;
  /** state.backend.type (default hashmap). */
  stateBackend?: StateBackendType;
  /** state.backend.local-dir: the rocksdb backend's working files go to <it>/<job> (default: <checkpointDir>/.local-state). */
  stateLocalDir?: string;
  /** `path`: a chk-<n> folder, its _metadata, a savepoint folder, or 'latest'. */
  restore?: { path: string; allowNonRestoredState: boolean };
  log: Logger;
  /** Called on every completed checkpoint or savepoint (benchmarks, monitoring). */
  onCheckpointCompleted?(checkpoint: CompletedCheckpoint): void;
}

export function validateJobOptions(o: JobOptions): void {
  const c = o.checkpointing;
  const bad = (name: string, valid: string): never => {
    throw userError('INVALID_OPTION', `invalid value for '${name}': expected ${valid}`, { details: { option: name } });
  };
  if (!(c.intervalMs >= 0)) bad('execution.checkpointing.interval', 'a duration >= 0');
  if (!(c.timeoutMs > 0)) bad('execution.checkpointing.timeout', 'a duration > 0');
  if (!(c.minPauseMs >= 0)) bad('execution.checkpointing.min-pause', 'a duration >= 0');
  if (!(Number.isInteger(c.numRetained) && c.numRetained >= 1)) bad('state.checkpoints.num-retained', 'an integer >= 1');
  if (c.mode !== 'EXACTLY_ONCE' && c.mode !== 'AT_LEAST_ONCE') bad('execution.checkpointing.mode', 'EXACTLY_ONCE or AT_LEAST_ONCE');
  const r = o.restartStrategy;
  const count = (n: number, min: number): boolean => n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= min);
  switch (r.type) {
    case 'none':
      break;
    case 'fixed-delay':
      if (!(count(r.attempts, 0) && r.delayMs >= 0)) bad('restart-strategy.fixed-delay.attempts', 'an integer >= 0 and a delay >= 0');
      break;
    case 'failure-rate':
      if (!(count(r.maxFailuresPerInterval, 1) && r.intervalMs > 0 && r.delayMs >= 0)) {
        bad('restart-strategy.failure-rate.max-failures-per-interval', 'an integer >= 1, an interval > 0 and a delay >= 0');
      }
      break;
    case 'exponential-delay':
      if (
        !(
          r.initialBackoffMs >= 1 &&
          r.maxBackoffMs >= 1 &&
          r.multiplier > 1 &&
          r.jitterFactor >= 0 &&
          r.jitterFactor <= 1 &&
          r.resetThresholdMs >= 1 &&
          count(r.attemptsBeforeReset, 1)
        )
      ) {
        bad('restart-strategy.exponential-delay.*', 'backoffs >= 1 ms, a multiplier > 1, a jitter factor from 0 to 1, a threshold >= 1 ms and attempts >= 1');
      }
      // Checked here and not at SET: the two keys may be set in either order.
      if (r.initialBackoffMs > r.maxBackoffMs) {
        throw userError(
          'INVALID_CONFIG',
          `'restart-strategy.exponential-delay.initial-backoff' (${r.initialBackoffMs} ms) must not be longer than 'restart-strategy.exponential-delay.max-backoff' (${r.maxBackoffMs} ms)`,
          { details: { key: 'restart-strategy.exponential-delay.initial-backoff' } },
        );
      }
      break;
    default:
      unreachable(r);
  }
}
