/**
 * Change tracking of keyed-aggregate's group table for incremental checkpoints: which live groups a
 * batch changed (slots flagged CHANGED, listed once per change set) and which groups were dropped
 * (hash and key values, columnar), since the previous snapshot. `take` packs them per key group as
 * GroupChanges (keyed-aggregate-state.ts).
 *
 * Nothing is recorded until the first snapshot (full or changes) asks for it: a job without
 * checkpoints would otherwise grow the lists of dropped groups for as long as it runs. A change set
 * asked for before any snapshot holds every live group as a put.
 */
import { internalError } from '../../errors.js';
import { KEY_GROUPS } from '../../model/partition.js';
import {
  bucketByKeyGroup,
  type GroupChanges,
  type GroupDeletes,
  type GroupsV2,
  type GroupTable,
  packByKeyGroup,
  packDeletes,
  packGroups,
} from './keyed-aggregate-state.js';

/**
 * Flag bit of a slot (with KeyedAggregateOperator's EMITTED = 1 and TOUCHED = 2): its group is in
 * the current change set's list of changed slots. Cleared when the slot is freed; a freed slot that
 * is reused may therefore be listed twice, and `take` packs it once.
 */
export const CHANGED = 4;

export class GroupChangeLog {
  private on = false;
  /** Slots flagged CHANGED in this change set (some since freed or listed twice). */
  private readonly changed: number[] = [];
  /** Dropped groups: their hashes and their key values (the table's keyCount each), in drop order. */
  private removedHashes = new Uint32Array(64);
  private readonly removedKeys: unknown[] = [];
  private removedCount = 0;

  /** Whether changes are recorded (some snapshot has been taken). */
  get recording(): boolean {
    return this.on;
  }

  /** After a batch, while recording: the live group in `slot` changed. */
  changedSlot(meta: Float64Array, slot: number): void {
    const f = meta[2 * slot + 1];
    if ((f & CHANGED) !== 0) return;
    meta[2 * slot + 1] = f | CHANGED;
    this.changed.push(slot);
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
   * A full snapshot: the `groups` live groups among slots 0 .. slotCount-1, packed per key group.
   * The next change set starts empty, and recording is on from now.
   */
  whole(table: GroupTable, slotCount: number, groups: number): Iterable<readonly [number, GroupsV2]> {
    for (const slot of this.changed) table.meta[2 * slot + 1] &= ~CHANGED;
    this.clear();
    return packByKeyGroup(table, liveSlots(table.meta, slotCount, groups));
  }

  /**
   * The change set since the previous snapshot, per key group with changes (in key-group order),
   * and starts the next one. Before any snapshot, every live group is a put.
   */
  take(table: GroupTable, slotCount: number, groups: number): [number, GroupChanges][] {
    const meta = table.meta;
    let puts: Int32Array;
    if (!this.on) puts = liveSlots(meta, slotCount, groups);
    else puts = this.changedLiveSlots(meta);
    const p = bucketByKeyGroup(table.hashes, puts);
    const removed = Int32Array.from({ length: this.removedCount }, (_, i) => i);
    const d = bucketByKeyGroup(this.removedHashes, removed);
    const out: [number, GroupChanges][] = [];
    for (let kg = 0; kg < KEY_GROUPS; kg++) {
      const np = p.starts[kg + 1] - p.starts[kg];
      const nd = d.starts[kg + 1] - d.starts[kg];
      if (np === 0 && nd === 0) continue;
      out.push([
        kg,
        {
          puts: np === 0 ? null : packGroups(table, np, p.order.subarray(p.starts[kg], p.starts[kg + 1])),
          deletes: nd === 0 ? null : packDeletes(this.removedHashes, this.removedKeys, table.keyCount, nd, d.order.subarray(d.starts[kg], d.starts[kg + 1])),
        },
      ]);
    }
    this.clear();
    return out;
  }

  /**
   * What `whole` (`changes` false) or `take` would pack, without packing the groups: the slots per
   * key group (FrozenGroups packs them later, as of now) and, for changes, the dropped groups,
   * packed now (they are few and already copies). Starts the next change set as they do.
   */
  capture(table: GroupTable, slotCount: number, groups: number, changes: boolean): { slots: Map<number, Int32Array>; deletes: Map<number, GroupDeletes> } {
    const meta = table.meta;
    let puts: Int32Array;
    if (!changes || !this.on) {
      for (const slot of this.changed) meta[2 * slot + 1] &= ~CHANGED;
      puts = liveSlots(meta, slotCount, groups);
    } else puts = this.changedLiveSlots(meta);
    const slots = new Map<number, Int32Array>();
    const p = bucketByKeyGroup(table.hashes, puts);
    for (let kg = 0; kg < KEY_GROUPS; kg++) if (p.starts[kg + 1] > p.starts[kg]) slots.set(kg, p.order.subarray(p.starts[kg], p.starts[kg + 1]));
    const deletes = new Map<number, GroupDeletes>();
    if (changes && this.on) {
      const d = bucketByKeyGroup(
        this.removedHashes,
        Int32Array.from({ length: this.removedCount }, (_, i) => i),
      );
      for (let kg = 0; kg < KEY_GROUPS; kg++) {
        const nd = d.starts[kg + 1] - d.starts[kg];
        if (nd > 0) deletes.set(kg, packDeletes(this.removedHashes, this.removedKeys, table.keyCount, nd, d.order.subarray(d.starts[kg], d.starts[kg + 1])));
      }
    }
    this.clear();
    return { slots, deletes };
  }

  /** The slots flagged CHANGED whose group is still live, each once; clears their flags. */
  private changedLiveSlots(meta: Float64Array): Int32Array {
    const puts = new Int32Array(this.changed.length);
    let n = 0;
    for (const slot of this.changed) {
      const f = meta[2 * slot + 1];
      if ((f & CHANGED) === 0) continue;
      meta[2 * slot + 1] = f & ~CHANGED;
      if (meta[2 * slot] > 0) puts[n++] = slot;
    }
    return puts.subarray(0, n);
  }

  /** Ends the change set; the next one is recorded. */
  private clear(): void {
    this.on = true;
    this.changed.length = 0;
    this.removedKeys.length = 0;
    this.removedCount = 0;
    if (this.removedHashes.length > 64) this.removedHashes = new Uint32Array(64);
  }
}

/** The slots of the `n` live groups (row count > 0) among slots 0 .. slotCount-1, in slot order. */
function liveSlots(meta: Float64Array, slotCount: number, n: number): Int32Array {
  const live = new Int32Array(n);
  let i = 0;
  for (let s = 0; s < slotCount; s++) if (meta[2 * s] > 0 && i++ < n) live[i - 1] = s;
  if (i !== n) throw internalError(`keyed aggregate: ${i} live slots for ${n} groups`);
  return live;
}
