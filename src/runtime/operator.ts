import type { ChangeBatch } from '../model/changelog.js';
import type { Schema } from '../model/types.js';
import type { Logger } from '../log.js';
import type { KeyedStateBackend } from '../state/state-backend.js';

/** What an operator sends downstream. Emitting is synchronous; the task handles backpressure. */
export interface Output {
  emit(batch: ChangeBatch): void;
  /**
   * Generates a watermark (an operator that assigns event time). Not for forwarding the input's
   * watermark: the task does that, see Operator.outputWatermark.
   */
  emitWatermark(timestamp: number): void;
}

/** JSON-compatible data (checkpoint metadata holds only this). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** What one subtask contributes to a checkpoint. */
export interface SnapshotResult {
  /** Opaque operator state, written to `<uid>-<subtask>.state` with a checksum. */
  state?: Uint8Array;
  /** Sink committables of this checkpoint, recorded in `_metadata` (never secrets). */
  committables?: JsonValue[];
}

export interface OperatorContext {
  readonly jobName: string;
  /** Stable across runs of the same SQL; keys the operator's state in checkpoints. */
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /**
   * The operator's own (non-keyed) state at the restored checkpoint, what its snapshotState
   * returned: with the same parallelism only this subtask's; with a different parallelism every
   * old subtask's. Keyed state comes back through `state` instead. A checkpoint written before the
   * state layer holds the whole old snapshot here, keyed state included: an operator reading that
   * format keeps the keys that `subtaskOfHash(hash, parallelism)` assigns to it. Empty on a fresh
   * start.
   */
  readonly restoredState: readonly Uint8Array[];
  /** Committables of the restored checkpoint for this subtask (sinks). */
  readonly restoredCommittables: readonly JsonValue[];
  /** Id of the restored checkpoint, or 0 on a fresh start. Ids continue from it. */
  readonly restoredCheckpointId: number;
  /**
   * Id of the first checkpoint this run takes: ids continue after the restored checkpoint and after
   * every id the job's checkpoint folder has used, so it may be larger than restoredCheckpointId + 1.
   * Sinks begin their first transaction with it, so no transaction id is reused across runs.
   * (Optional so that hand-built contexts in tests need not set it.)
   */
  readonly firstCheckpointId?: number;
  readonly output: Output;
  /**
   * The subtask's keyed state (see src/state/state-backend.ts), restored with the key groups it
   * owns. The runtime snapshots it right after snapshotState.
   */
  readonly state: KeyedStateBackend;
  readonly inputSchemas: readonly Schema[];
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
}

export interface OperatorMetrics {
  /** Adds to a named counter, e.g. 'late-rows-dropped', 'parse-errors-skipped'. */
  inc(name: string, by?: number): void;
}

/**
 * One instance per subtask. The task calls these strictly one at a time, in this order:
 * open, then any interleaving of process / onWatermark / snapshotState /
 * notifyCheckpointComplete, then close. Barrier alignment happens before snapshotState, so the
 * state it captures covers exactly the rows before the barrier on every input.
 */
export interface Operator {
  open(ctx: OperatorContext): Promise<void>;
  /**
   * Hot path: loops over the batch without awaiting and without allocating per row. Only sinks
   * may return a promise (a flush to the outside world); the task waits for it before the next
   * element, which is how backpressure reaches the sources.
   */
  process(batch: ChangeBatch, input: number): void | Promise<void>;
  /**
   * With a state backend that keeps state on disk (`ctx.state.prefetches`), called before
   * process(batch, input): announces every key process will read or write, through
   * `ValueState.prefetch`, so the task can load them in one batched read. An operator with value
   * states must declare it; one without never needs it.
   */
  prefetch?(batch: ChangeBatch, input: number): void;
  /**
   * The combined (minimum) watermark of all inputs advanced to `timestamp`: emit what it completes
   * (windows, timers). The operator does not forward the watermark: the task does, once this
   * returns, with what `outputWatermark` says.
   */
  onWatermark(timestamp: number): void;
  /**
   * The watermark the task forwards downstream after onWatermark(timestamp), or undefined to
   * forward none yet. Declared only by an operator that must hold watermarks back because it can
   * still emit rows older than its input watermark (as an interval join may); without it the task
   * forwards `timestamp` itself. Called only with increasing timestamps; what it returns downstream
   * never goes backwards (see TaskOutput).
   */
  outputWatermark?(timestamp: number): number | undefined;
  /**
   * Called once barrier n has arrived on every input (aligned). Must capture state synchronously
   * (serialize or copy) so that later process() calls cannot change the snapshot; the runtime
   * writes it to storage asynchronously. Sinks pre-commit here and may return a promise; the
   * barrier is acknowledged only after it resolves.
   */
  snapshotState(checkpointId: number): SnapshotResult | Promise<SnapshotResult>;
  /** Checkpoint n is complete (its metadata is durable). Sinks commit everything up to n here. */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  /** Checkpoint n was aborted (timeout, failure). Sinks may discard its pre-committed data. */
  notifyCheckpointAborted?(checkpointId: number): Promise<void>;
  /** All inputs ended (bounded job) and the final checkpoint completed. */
  close(): Promise<void>;
}

/** What the task forwards downstream once `op` has seen the combined input watermark `timestamp`. */
export function forwardedWatermark(op: Operator, timestamp: number): number | undefined {
  return op.outputWatermark === undefined ? timestamp : op.outputWatermark(timestamp);
}
