import { externalError } from '../../../src/errors.js';
import type { ChangeBatch } from '../../../src/model/changelog.js';
import type { JsonValue } from '../../../src/runtime/operator.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../../src/sink/two-phase-commit.js';

export interface Committable {
  [k: string]: JsonValue;
  key: string;
  uid: string;
  subtask: number;
  txnId: number;
}

interface Prepared {
  uid: string;
  subtask: number;
  rows: unknown[][];
}

/**
 * The "outside world" of the test sink: survives restarts (one object per test). Rows become
 * visible in `committed` only on commit; `prepared` is what pre-commit made durable.
 */
export class SinkRecorder {
  /** Visible rows: [kind, ...columns]. */
  committed: unknown[][] = [];
  readonly committedKeys = new Set<string>();
  readonly prepared = new Map<string, Prepared>();
  readonly commitLog: { key: string; txnId: number; at: number }[] = [];
  readonly recoverCalls: { subtask: number; restored: Committable[]; restoredId: number }[] = [];
  readonly begins: number[] = [];
  writes = 0;
  /** The n-th write (counted over all writers, or the first after it, see failAfterCommits) throws a retriable error, once. */
  failOnWrite = 0;
  private failed = false;
  /** preCommit of a transaction begun with this id hangs for hangMs (once). */
  hangPreCommitTxn = 0;
  hangMs = 0;
  /**
   * Runs at the start of every preCommit with the transaction's id (its checkpoint id) and the
   * writer's subtask; preCommit waits for it. Tests use it to act at a checkpoint's barrier, or to
   * hold a pre-commit until a condition holds, instead of a fixed delay.
   */
  onPreCommit: ((txnId: number, subtask: number) => void | Promise<void>) | undefined = undefined;
  /** Delay of every write, to slow a job down. */
  writeDelayMs = 0;

  /** With failOnWrite: fail only once at least this many transactions were committed. */
  failAfterCommits = 0;

  shouldFail(): boolean {
    if (this.failOnWrite > 0 && this.writes >= this.failOnWrite && this.commitLog.length >= this.failAfterCommits && !this.failed) {
      this.failed = true;
      return true;
    }
    return false;
  }

  commit(c: Committable): void {
    if (this.committedKeys.has(c.key)) return;
    const p = this.prepared.get(c.key);
    if (p === undefined) throw new Error(`commit of unknown transaction ${c.key}`);
    this.committed.push(...p.rows);
    this.committedKeys.add(c.key);
    this.prepared.delete(c.key);
    this.commitLog.push({ key: c.key, txnId: c.txnId, at: Date.now() });
  }
}

interface Txn {
  id: number;
  key: string;
  rows: unknown[][];
}

class TestWriter implements TwoPhaseCommitSink<Txn, Committable> {
  constructor(
    private readonly rec: SinkRecorder,
    private readonly ctx: SinkContext,
  ) {}

  async open(): Promise<void> {}

  async recover(restored: Committable[], restoredCheckpointId: number): Promise<void> {
    this.rec.recoverCalls.push({ subtask: this.ctx.subtaskIndex, restored, restoredId: restoredCheckpointId });
    for (const c of restored) this.rec.commit(c);
    const keep = new Set(restored.map((c) => c.key));
    for (const [key, p] of this.rec.prepared) {
      if (p.uid === this.ctx.operatorUid && p.subtask % this.ctx.parallelism === this.ctx.subtaskIndex && !keep.has(key)) {
        this.rec.prepared.delete(key);
      }
    }
  }

  async begin(checkpointId: number): Promise<Txn> {
    this.rec.begins.push(checkpointId);
    return { id: checkpointId, key: `${this.ctx.jobName}/${this.ctx.operatorUid}/${this.ctx.subtaskIndex}/${checkpointId}`, rows: [] };
  }

  async write(txn: Txn, batch: ChangeBatch): Promise<void> {
    this.rec.writes++;
    if (this.rec.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.rec.writeDelayMs));
    if (this.rec.shouldFail()) throw externalError('FILE_SINK', 'injected write failure');
    for (let i = 0; i < batch.size; i++) {
      const row: unknown[] = [batch.kinds[i]];
      for (const col of batch.columns) row.push(col[i]);
      txn.rows.push(row);
    }
  }

  async preCommit(txn: Txn): Promise<Committable> {
    await this.rec.onPreCommit?.(txn.id, this.ctx.subtaskIndex);
    if (this.rec.hangPreCommitTxn !== 0 && txn.id === this.rec.hangPreCommitTxn) {
      this.rec.hangPreCommitTxn = 0;
      await new Promise((r) => setTimeout(r, this.rec.hangMs));
    }
    this.rec.prepared.set(txn.key, { uid: this.ctx.operatorUid, subtask: this.ctx.subtaskIndex, rows: txn.rows });
    return { key: txn.key, uid: this.ctx.operatorUid, subtask: this.ctx.subtaskIndex, txnId: txn.id };
  }

  async commit(c: Committable): Promise<void> {
    this.rec.commit(c);
  }

  async abort(c: Committable): Promise<void> {
    this.rec.prepared.delete(c.key);
  }

  async close(): Promise<void> {}
}

export function testSink(rec: SinkRecorder, acceptsUpdates = true): Sink {
  return {
    acceptsUpdates,
    createWriter: (ctx) => new TestWriter(rec, ctx) as unknown as TwoPhaseCommitSink,
    describe: () => 'test-sink',
  };
}
