import type { SplitPosition } from '../runtime/source.js';
import type { Barrier } from '../runtime/stream-element.js';
import { type CheckpointMetadata, METADATA_FORMAT_VERSION, type SubtaskStateEntry } from './metadata.js';

/** What a checkpoint collected from its acks, as the coordinator holds it when it commits. */
export interface CollectedCheckpoint {
  readonly id: number;
  readonly jobName: string;
  readonly fingerprint: string;
  readonly barrier: Barrier;
  readonly participants: { readonly vertices: readonly { uid: string; name: string; kind: 'source' | 'operator'; parallelism: number }[] };
  readonly operators: ReadonlyMap<string, SubtaskStateEntry[]>;
  readonly sources: ReadonlyMap<string, { subtask: number; positions: readonly SplitPosition[] }[]>;
  readonly triggeredAt: number;
  readonly completedAt: number;
  readonly stateSize: number;
  readonly addedSize: number;
}

/** The `_metadata` of a checkpoint whose acks are all in (subtasks and positions in subtask order). */
export function buildMetadata(c: CollectedCheckpoint): CheckpointMetadata {
  const operators: CheckpointMetadata['operators'] = {};
  const sources: CheckpointMetadata['sources'] = {};
  for (const v of c.participants.vertices) {
    if (v.kind === 'operator') {
      const subtasks = (c.operators.get(v.uid) ?? []).slice().sort((a, b) => a.subtask - b.subtask);
      operators[v.uid] = { name: v.name, parallelism: v.parallelism, subtasks };
    } else {
      const bySubtask = (c.sources.get(v.uid) ?? []).slice().sort((a, b) => a.subtask - b.subtask);
      sources[v.uid] = {
        name: v.name,
        parallelism: v.parallelism,
        positions: bySubtask.flatMap((s) => s.positions) as CheckpointMetadata['sources'][string]['positions'],
      };
    }
  }
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    jobName: c.jobName,
    checkpointId: c.id,
    kind: c.barrier.savepoint ? 'savepoint' : 'checkpoint',
    savepointName: c.barrier.savepoint?.name ?? null,
    final: c.barrier.final === true,
    triggeredAt: c.triggeredAt,
    timestamp: c.completedAt,
    durationMs: c.completedAt - c.triggeredAt,
    stateSize: c.stateSize,
    ...(c.addedSize !== c.stateSize ? { addedSize: c.addedSize } : {}),
    fingerprint: c.fingerprint,
    operators,
    sources,
  };
}
