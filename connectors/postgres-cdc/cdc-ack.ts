/**
 * When the replication slot is acknowledged, and how far.
 *
 * The slot is acknowledged only in notifyCheckpointComplete, with `lsn - 1` of the oldest of the
 * last 'slot.retained-checkpoints' completed checkpoints (1: the one just completed):
 * pg-logical-replication reports lsn + 1, so the server's confirmed_flush_lsn becomes exactly that
 * checkpoint's `lsn`, and every retained checkpoint can still be restored (its changes are still in
 * the slot). The runtime has one checkpoint in flight and delivers its completion to this subtask
 * before the next barrier, so the newest capture is the completed checkpoint's. The LSNs of the
 * completed checkpoints before a checkpoint travel in its position (`completed`), so a restored
 * job acknowledges no further than the oldest checkpoint that was retained with it.
 */
import type { JsonValue } from '../../src/runtime/operator.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';

export class SlotAcks {
  private acked: Lsn = 0n;
  /** Stream LSNs captured by positions() since the last completed checkpoint. */
  private captures: Lsn[] = [];
  /** LSNs of the newest completed checkpoints, oldest first (at most `retained`). */
  private completed: Lsn[] = [];

  /** `retained`: completed checkpoints kept restorable ('slot.retained-checkpoints', else the job's num-retained). */
  constructor(private readonly retained: number) {}

  /** Never acknowledge behind where the slot already is (a restored older checkpoint's history may be). */
  startAt(confirmedFlush: Lsn): void {
    this.acked = confirmedFlush;
  }

  /** The restored checkpoint is itself completed; the ones before it were retained with it. */
  restore(completed: unknown, lsn: Lsn): void {
    this.completed = [...(Array.isArray(completed) ? completed.map(parseLsn) : []), lsn].slice(-this.retained);
  }

  /** The `completed` field of a position (undefined: none to record). */
  completedJson(): JsonValue | undefined {
    return this.retained > 1 && this.completed.length > 0 ? this.completed.map(formatLsn) : undefined;
  }

  /** A position was captured at `lsn` for a barrier. */
  capture(lsn: Lsn): void {
    this.captures.push(lsn);
    if (this.captures.length > 16) this.captures.shift();
  }

  /** The checkpoint of the newest capture completed; true when the slot may now be acknowledged further. */
  complete(): boolean {
    const newest = this.captures[this.captures.length - 1];
    this.captures = [];
    if (newest === undefined) return false;
    this.completed.push(newest);
    if (this.completed.length > this.retained) this.completed.shift();
    // LSNs only grow from one checkpoint to the next: the first is the oldest retained one.
    const target = this.completed[0];
    if (target <= this.acked) return false;
    this.acked = target;
    return true;
  }

  /** What to report to the server as flushed: the last acknowledged (checkpointed) position, never more (undefined: nothing yet). */
  status(): string | undefined {
    return this.acked === 0n ? undefined : formatLsn(this.acked - 1n);
  }
}
