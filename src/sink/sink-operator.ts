import { userError } from '../errors.js';
import { type ChangeBatch, RowKind } from '../model/changelog.js';
import type { JsonValue, Operator, OperatorContext, SnapshotResult } from '../runtime/operator.js';
import { serializeState } from '../state/serde.js';
import type { Sink, TwoPhaseCommitSink } from './two-phase-commit.js';

/** A pre-committed transaction waiting for its checkpoint to complete. */
interface PendingCommit {
  readonly checkpointId: number;
  readonly committable: JsonValue;
}

/**
 * Drives a TwoPhaseCommitSink through the checkpoint cycle. Transaction states per checkpoint:
 * open (begin, writes) -> pre-committed (on barrier n) -> committed (checkpoint n complete). A
 * pre-committed transaction whose checkpoint is aborted stays pending and is committed with the
 * next completed checkpoint (its rows will not be replayed: they are before a later barrier too).
 * Pending committables go into every checkpoint, so a restore commits them in `recover()`.
 */
class SinkOperator implements Operator {
  private writer: TwoPhaseCommitSink | undefined;
  private txn: unknown;
  private pending: PendingCommit[] = [];
  private ctx!: OperatorContext;

  constructor(
    private readonly sink: Sink,
    private readonly primaryKey: readonly number[],
  ) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.ctx = ctx;
    const writer = this.sink.createWriter({
      jobName: ctx.jobName,
      operatorUid: ctx.operatorUid,
      subtaskIndex: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      schema: ctx.inputSchemas[0],
      primaryKey: this.primaryKey,
      log: ctx.log,
    });
    this.writer = writer;
    await writer.open();
    await writer.recover([...ctx.restoredCommittables], ctx.restoredCheckpointId);
    this.txn = await writer.begin(ctx.firstCheckpointId ?? ctx.restoredCheckpointId + 1);
  }

  process(batch: ChangeBatch): Promise<void> {
    if (!this.sink.acceptsUpdates) this.rejectUpdates(batch);
    this.ctx.metrics.inc('rows-written', batch.size);
    return this.writer!.write(this.txn, batch);
  }

  private rejectUpdates(batch: ChangeBatch): void {
    const kinds = batch.kinds;
    for (let i = 0; i < kinds.length; i++) {
      if (kinds[i] !== RowKind.INSERT) {
        throw userError(
          'SINK_APPEND_ONLY',
          `sink ${this.sink.describe()} is append-only but the query produces updates and deletes; ` +
            'declare a PRIMARY KEY on the sink table (NOT ENFORCED) or change the query to produce inserts only',
          { details: { operator: this.ctx.operatorUid } },
        );
      }
    }
  }

  onWatermark(): void {
    // Sinks do not use event time.
  }

  async snapshotState(checkpointId: number): Promise<SnapshotResult> {
    const writer = this.writer!;
    const committable = await writer.preCommit(this.txn);
    this.pending.push({ checkpointId, committable });
    this.txn = await writer.begin(checkpointId + 1);
    const committables = this.pending.map((p) => p.committable);
    return { committables, state: serializeState(this.pending) };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const writer = this.writer!;
    while (this.pending.length > 0 && this.pending[0].checkpointId <= checkpointId) {
      await writer.commit(this.pending[0].committable);
      this.pending.shift();
    }
    await writer.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(): Promise<void> {
    // Keep the pre-committed transactions: the next completed checkpoint commits them.
  }

  async close(): Promise<void> {
    await this.writer?.close();
  }
}

/** The operator for a sink vertex; `primaryKey` are the sink table's key columns (empty: append-only). */
export function createSinkOperator(sink: Sink, primaryKey: readonly number[]): Operator {
  return new SinkOperator(sink, primaryKey);
}
