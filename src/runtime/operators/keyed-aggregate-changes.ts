/**
 * Change tracking of keyed-aggregate's group table for incremental checkpoints: which live groups
 * changed since the previous snapshot (slots flagged with the change set's bit, listed per key
 * group as they change) and which groups were dropped (hash and key values, columnar). `freeze`
 * hands them to a snapshot without touching them (keyed-aggregate-frozen.ts packs them).
 *
 * Two flag bits take turns: the current change set's slots carry one, the slots a frozen snapshot
 * still has to pack carry the other, which its packing and its copy on write clear before the
 * bit is used again (the backend packs a snapshot whole before it takes the next).
 *
 * Nothing is recorded until the first snapshot (full or changes) asks for it: a job without
 * checkpoints would otherwise grow the lists for as long as it runs. A change set asked for
 * before any snapshot holds every live group as a put.
 */
import { KEY_GROUPS, keyGroupOf } from '../../model/partition.js';
import { bucketByKeyGroup, type GroupDeletes, packDeletes } from './keyed-aggregate-state.js';

/**
 * Flag bits of a slot (with KeyedAggregateOperator's EMITTED = 1 and TOUCHED = 2): its group is in
 * a change set's lists. Both are cleared when the slot is freed: a freed slot that is reused may
 * be listed twice, even in two key groups, and is packed once, in its group's key group.
 */
export const CHANGE_BITS = [4, 8] as const;

/** What a frozen snapshot covers: every live slot (whole) or the slots listed per key group. */
export interface Capture {
  /** The flag bit the covered slots carry (whole: the old change set's, to be cleared). */
  readonly bit: number;
  /** Per key group: the slots changed (null: a whole snapshot, every live slot). */
  readonly lists: readonly number[][] | null;
  /** Dropped groups per key group (changes only). */
  readonly deletes: ReadonlyMap<number, GroupDeletes>;
}

export class GroupChangeLog {
  private on = false;
  /** Index into CHANGE_BITS of the current change set's bit. */
  private turn = 0;
  /** Per key group: slots flagged in this change set, in change order (some since freed, or listed twice). */
  private lists: number[][] = emptyLists();
  /** Dropped groups: their hashes and their key values (the table's keyCount each), in drop order. */
  private removedHashes = new Uint32Array(64);
  private readonly removedKeys: unknown[] = [];
  private removedCount = 0;

  /** Whether changes are recorded (some snapshot has been taken). */
  get recording(): boolean {
    return this.on;
  }

  /** After a batch, while recording: the live group in `slot` changed. */
  changedSlot(meta: Float64Array, hashes: Uint32Array, slot: number): void {
    const f = meta[2 * slot + 1];
    const bit = CHANGE_BITS[this.turn];
    if ((f & bit) !== 0) return;
    meta[2 * slot + 1] = f | bit;
    this.lists[keyGroupOf(hashes[slot])].push(slot);
  }

  /** While recording: the group with hash `hash` and key values `data[base .. base + keyCount)` is dropped. */
  removed(hash: number, data: readonly unknown[], base: number, keyCount: number): void {
    const r = this.removedCount++;
    if (r === this.removedHashes.length) {
      const grown = new Uint32Array(2 * r);
      grown.set(this.removedHashes);
      this.removedHashes = grown;
    }
    this.removedHashes[r] = hash;
    for (let k = 0; k < keyCount; k++) this.removedKeys.push(data[base + k]);
  }

  /**
   * A snapshot's capture: every live group (`changes` false, or before any snapshot) or the change
   * set since the previous snapshot, without packing or even reading the groups (FrozenGroups
   * packs them, as of now, later or at once). The dropped groups are packed now (they are few and
   * already copies). Starts the next change set; recording is on from now.
   */
  freeze(keyCount: number, changes: boolean): Capture {
    const bit = CHANGE_BITS[this.turn];
    const capture: Capture = {
      bit,
      lists: changes && this.on ? this.lists : null,
      deletes: changes && this.on ? this.deletesByKeyGroup(keyCount) : new Map(),
    };
    this.next();
    return capture;
  }

  private deletesByKeyGroup(keyCount: number): Map<number, GroupDeletes> {
    const deletes = new Map<number, GroupDeletes>();
    if (!this.on || this.removedCount === 0) return deletes;
    const d = bucketByKeyGroup(
      this.removedHashes,
      Int32Array.from({ length: this.removedCount }, (_, i) => i),
    );
    for (let kg = 0; kg < KEY_GROUPS; kg++) {
      const nd = d.starts[kg + 1] - d.starts[kg];
      if (nd > 0) deletes.set(kg, packDeletes(this.removedHashes, this.removedKeys, keyCount, nd, d.order.subarray(d.starts[kg], d.starts[kg + 1])));
    }
    return deletes;
  }

  /** Ends the change set; the next one is recorded, under the other bit. */
  private next(): void {
    this.on = true;
    this.turn = 1 - this.turn;
    this.lists = emptyLists();
    this.removedKeys.length = 0;
    this.removedCount = 0;
    if (this.removedHashes.length > 64) this.removedHashes = new Uint32Array(64);
  }
}

function emptyLists(): number[][] {
  return Array.from({ length: KEY_GROUPS }, () => []);
}
