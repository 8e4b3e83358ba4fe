import type { ChangeBatch } from '../model/changelog.js';
import type { JsonValue } from '../runtime/operator.js';
import type { Schema } from '../model/types.js';
import type { Logger } from '../log.js';

export interface SinkContext {
  readonly jobName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** The rows the sink receives. */
  readonly schema: Schema;
  /** Column indexes of the sink table's primary key; empty for an append-only sink. */
  readonly primaryKey: readonly number[];
  readonly log: Logger;
}

/**
 * The exactly-once sink contract (as Flink's TwoPhaseCommitSinkFunction). For checkpoint n:
 * begin(n) opens a transaction, write() adds rows to it, preCommit() makes it durable but
 * invisible when barrier n arrives, and commit() makes it visible once checkpoint n is complete.
 * Every committable is keyed by (job, operator uid, subtask, checkpoint id).
 */
export interface TwoPhaseCommitSink<Txn = unknown, Committable extends JsonValue = JsonValue> {
  /** Connects and prepares the target (e.g. creates the table). Called once before recover(). */
  open(): Promise<void>;
  /**
   * After a restore: commit `restored` (the restored checkpoint's committables, which may or may
   * not have been committed before the crash) and abort anything of this job/operator/subtask
   * that is newer. Called with [] on a fresh start (still aborting leftovers of earlier runs).
   */
  recover(restored: Committable[], restoredCheckpointId: number): Promise<void>;
  begin(checkpointId: number): Promise<Txn>;
  write(txn: Txn, batch: ChangeBatch): Promise<void>;
  /** Durable before the barrier is acknowledged. */
  preCommit(txn: Txn): Promise<Committable>;
  /** Idempotent: may run again after a restore for the same committable. */
  commit(c: Committable): Promise<void>;
  abort(c: Committable): Promise<void>;
  /**
   * Optional: checkpoint n is complete and commit() has run for every committable this subtask
   * pre-committed at or before barrier n. Called once per completed checkpoint, in order, on every
   * subtask. A sink whose subtasks publish a checkpoint together (rows staged per subtask, made
   * visible in one step once all subtasks committed) does that here.
   */
  notifyCheckpointComplete?(checkpointId: number): Promise<void>;
  close(): Promise<void>;
}

/** A planned sink table: creates one TwoPhaseCommitSink per subtask. */
export interface Sink {
  /** False when the sink cannot take -U/-D rows (no primary key, or an append-only format). */
  readonly acceptsUpdates: boolean;
  createWriter(ctx: SinkContext): TwoPhaseCommitSink;
  describe(): string;
}
