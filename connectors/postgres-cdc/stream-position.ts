/**
 * Where the replication stream is, as a checkpoint records it. `lsn`: every transaction whose
 * commit record starts before it has been emitted (a commit's end LSN, or a keepalive / heartbeat
 * LSN reached outside a transaction). `partial`: the first `n` changes of the transaction
 * committing at `commit` were emitted (a batch ended inside it). A restore starts the slot at `lsn`
 * and skips, by the same rule, what the server sends again (the slot may lag: it is acknowledged
 * only after a checkpoint).
 */
import type { JsonValue } from '../../src/runtime/operator.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';

export class StreamPosition {
  lsn: Lsn = 0n;
  private partial: { commit: Lsn; n: number } | undefined;
  /** The transaction being read: its changes so far (`n`), how many a restore already emitted (`skip`), or all of them (`skipAll`). */
  private txn: { commit: Lsn; n: number; skip: number; skipAll: boolean } | undefined;

  get inTransaction(): boolean {
    return this.txn !== undefined;
  }

  restore(lsn: string, partial: { commit: string; n: number } | undefined): void {
    this.lsn = parseLsn(lsn);
    if (partial) this.partial = { commit: parseLsn(partial.commit), n: partial.n };
  }

  /** Adds `lsn` and `partial` to a checkpoint's position. */
  toJson(position: Record<string, JsonValue>): void {
    position.lsn = formatLsn(this.lsn);
    if (this.partial) position.partial = { commit: formatLsn(this.partial.commit), n: this.partial.n };
  }

  begin(commitLsn: Lsn): void {
    const skipAll = commitLsn < this.lsn;
    const skip = this.partial && this.partial.commit === commitLsn ? this.partial.n : 0;
    this.txn = { commit: commitLsn, n: 0, skip, skipAll };
  }

  commit(endLsn: Lsn): void {
    if (this.txn && !this.txn.skipAll) {
      this.lsn = endLsn;
      this.partial = undefined;
    }
    this.txn = undefined;
  }

  /** Counts a change of the open transaction: its commit LSN when it is to be emitted, undefined when it was already. */
  change(): Lsn | undefined {
    const t = this.txn;
    if (!t || t.skipAll) return undefined;
    t.n++;
    if (t.n <= t.skip) return undefined;
    this.partial = { commit: t.commit, n: t.n };
    return t.commit;
  }

  /** A keepalive's or a non-transactional message's LSN: outside a transaction, everything before it was emitted. */
  reached(lsn: Lsn): void {
    if (!this.txn && lsn > this.lsn) this.lsn = lsn;
  }
}
