/**
 * Asynchronous snapshots of keyed-aggregate's slot table (KeyGroupedStructure.freezeKeyGroups):
 * at the barrier the snapshot only notes which slots it covers, per key group; each key group is
 * packed later, when the backend's drain gets to it, from the table as it was at the barrier.
 * That holds by copy on write per slot: the operator calls `keep(slot)` before it first changes a
 * slot after the barrier (a row touching its group, a drop, an expiry), which saves the slot's
 * hash, row count and values (object accumulators as structured-clone copies).
 */
import { KEY_GROUPS } from '../../model/partition.js';
import { type GroupChanges, type GroupDeletes, packGroups, type GroupsV2, type GroupTable } from './keyed-aggregate-state.js';

interface SavedGroup {
  readonly hash: number;
  readonly count: number;
  /** The slot's `width` values: key values, then accumulators. */
  readonly values: unknown[];
}

export class FrozenGroups {
  /** By slot: 1 while the snapshot covers it and it has not changed since the barrier. */
  private readonly pending: Uint8Array;
  private readonly saved = new Map<number, SavedGroup>();
  /** Key groups not packed yet; at 0 the snapshot is done and keeps nothing. */
  private left: number;

  /**
   * `slots`: per key group with data, the slots the snapshot covers; `table`: the operator's table
   * as it is when called (its arrays are replaced when it grows).
   */
  constructor(
    slotCount: number,
    private readonly slots: ReadonlyMap<number, Int32Array>,
    private readonly table: () => GroupTable,
  ) {
    this.pending = new Uint8Array(slotCount);
    for (const list of slots.values()) for (let i = 0; i < list.length; i++) this.pending[list[i]!] = 1;
    this.left = slots.size;
  }

  /** Whether every key group has been packed. */
  get done(): boolean {
    return this.left === 0;
  }

  /** The operator is about to change `slot`: saves it first if the snapshot still needs it. */
  keep(slot: number): void {
    if (slot >= this.pending.length || this.pending[slot] !== 1) return;
    this.pending[slot] = 0;
    const t = this.table();
    const base = slot * t.width;
    const values: unknown[] = [];
    for (let i = 0; i < t.width; i++) {
      const v = t.data[base + i];
      values.push(typeof v === 'object' && v !== null ? structuredClone(v) : v);
    }
    this.saved.set(slot, { hash: t.hashes[slot]!, count: t.meta[2 * slot]!, values });
  }

  /**
   * One function per key group with data, giving what snapshotKeyGroups (`deletes` null) or
   * snapshotKeyGroupChanges (GroupChanges, with these dropped groups) gives for it; `onDone` once
   * every key group with groups is packed.
   */
  keyGroups(deletes: ReadonlyMap<number, GroupDeletes> | null, onDone: () => void): [number, () => unknown][] {
    const packed = (kg: number): GroupsV2 | null => {
      if (!this.slots.has(kg)) return null;
      const groups = this.pack(kg);
      if (this.done) onDone();
      return groups;
    };
    const out: [number, () => unknown][] = [];
    for (let kg = 0; kg < KEY_GROUPS; kg++) {
      if (deletes === null) {
        if (this.slots.has(kg)) out.push([kg, () => packed(kg)]);
      } else if (this.slots.has(kg) || deletes.has(kg)) {
        out.push([kg, () => ({ puts: packed(kg), deletes: deletes.get(kg) ?? null }) satisfies GroupChanges]);
      }
    }
    return out;
  }

  /** Key group `kg`'s groups as of the barrier, packed (what snapshotKeyGroups gives for it). */
  private pack(kg: number): GroupsV2 {
    const list = this.slots.get(kg)!;
    const t = this.table();
    const n = list.length;
    const width = t.width;
    const hashes = new Uint32Array(n);
    const meta = new Float64Array(2 * n);
    const data: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const slot = list[i]!;
      const s = this.saved.get(slot);
      if (s !== undefined) {
        hashes[i] = s.hash;
        meta[2 * i] = s.count;
        for (let k = 0; k < width; k++) data.push(s.values[k]);
        this.saved.delete(slot);
      } else {
        hashes[i] = t.hashes[slot]!;
        meta[2 * i] = t.meta[2 * slot]!;
        const base = slot * width;
        for (let k = 0; k < width; k++) data.push(t.data[base + k]);
      }
      this.pending[slot] = 0;
    }
    this.left--;
    const sel = new Int32Array(n);
    for (let i = 0; i < n; i++) sel[i] = i;
    return packGroups({ hashes, meta, data, width, keyCount: t.keyCount, retractable: t.retractable }, n, sel);
  }
}
