/**
 * Snapshots of keyed-aggregate's slot table, asynchronous (KeyGroupedStructure.freezeKeyGroups)
 * or packed at once (`packNow`, the synchronous snapshotKeyGroups / snapshotKeyGroupChanges):
 * at the barrier the snapshot only takes the change log's capture (keyed-aggregate-changes.ts),
 * which reads no slot; each key group is packed later, when the backend's drain gets to it, from
 * the table as it was at the barrier. That holds by copy on write per slot: the operator calls
 * `keep(slot)` before it first changes a slot after the barrier (a row touching its group, a
 * drop, an expiry, a reuse of a freed slot), which saves the slot's hash, row count and values
 * (object accumulators as structured-clone copies) if the snapshot still needs them.
 *
 * Which slots the snapshot covers:
 * - changes: the slots listed per key group that carry the capture's bit (a slot's bit goes when
 *   it is packed or saved, and with it the slot's claim on the snapshot);
 * - whole: every slot live at the barrier. `prepare` buckets them by key group in slices (the
 *   drain calls it before it packs any key group), and `done` remembers per slot whether it
 *   has been packed or saved since. Slots allocated after the barrier are beyond its `slotCount`.
 */
import { KEY_GROUPS, type KeyGroupRange, keyGroupOf } from '../../model/partition.js';
import type { FrozenKeyGroups } from '../../state/state-backend.js';
import type { Capture } from './keyed-aggregate-changes.js';
import { type GroupChanges, packGroups, type GroupsV2, type GroupTable } from './keyed-aggregate-state.js';

interface SavedGroup {
  readonly hash: number;
  readonly count: number;
  /** The slot's `width` values: key values, then accumulators. */
  readonly values: unknown[];
}

/** Slots the whole snapshot's bucketing looks at between two looks at the clock. */
const PREPARE_CHUNK = 65_536;
/** Slots gathered between two looks at the clock (random reads: far fewer). */
const GATHER_CHUNK = 1_024;

/** A key group's groups gathered so far: the position in its list, hash, count and `width` values each. */
interface Gathered {
  pos: number;
  /** data[0 .. copied) holds no object the operator may still change. */
  copied: number;
  readonly hashes: number[];
  readonly counts: number[];
  readonly data: unknown[];
}

/** A growable list of slots (4 bytes a slot, where an array of numbers takes 8). */
class SlotList {
  private data = new Int32Array(64);
  private length = 0;

  push(slot: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(2 * this.length);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = slot;
  }

  slots(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** A frozen snapshot packed at once (a synchronous snapshot): its key groups with data. */
export function packNow(frozen: FrozenKeyGroups): [number, unknown][] {
  const out: [number, unknown][] = [];
  for (const [kg, pack] of frozen.keyGroups) {
    const data = pack();
    if (data !== undefined) out.push([kg, data]);
  }
  return out;
}

export class FrozenGroups implements FrozenKeyGroups {
  private readonly saved = new Map<number, SavedGroup>();
  /** Whole: per slot below slotCount, 1 once packed or saved (its barrier state is taken care of). */
  private readonly done: Uint8Array | null;
  /** Changes: per key group, the capture's lists of slots. */
  private readonly changed: readonly (readonly number[])[] | null;
  /** Whole: per key group, the slots live at the barrier, filled by prepare. */
  private readonly live: SlotList[] | null;
  private readonly gathered = new Map<number, Gathered>();
  /** Whole: the next slot prepare buckets. */
  private cursor = 0;
  /** Key groups not packed yet; at 0 the snapshot is done and keeps nothing. */
  private left: number;
  readonly keyGroups: [number, () => unknown, (deadline: number) => boolean][] = [];

  /**
   * `slotCount`: slots allocated at the barrier; `table`: the operator's table as it is when
   * called (its arrays are replaced when it grows); `asChanges`: pack GroupChanges (with the
   * capture's deletes) rather than whole groups; `onDone`: once every key group is packed.
   */
  constructor(
    private readonly capture: Capture,
    private readonly slotCount: number,
    private readonly table: () => GroupTable,
    range: KeyGroupRange,
    asChanges: boolean,
    onDone: () => void,
  ) {
    const whole = capture.lists === null;
    this.done = whole ? new Uint8Array(slotCount) : null;
    this.changed = capture.lists;
    this.live = whole ? Array.from({ length: KEY_GROUPS }, () => new SlotList()) : null;
    this.cursor = whole ? 0 : slotCount; // changes: nothing to prepare
    const packed = (kg: number): GroupsV2 | null => {
      const groups = this.pack(kg);
      if (--this.left === 0) onDone();
      return groups;
    };
    for (let kg = range.start; kg <= range.end; kg++) {
      const deletes = capture.deletes.get(kg) ?? null;
      if (!whole && capture.lists![kg]!.length === 0 && deletes === null) continue;
      const step = (deadline: number): boolean => this.gather(kg, deadline);
      if (asChanges) {
        const changes = (): GroupChanges | undefined => {
          const puts = packed(kg);
          return puts === null && deletes === null ? undefined : { puts, deletes };
        };
        this.keyGroups.push([kg, changes, step]);
      } else this.keyGroups.push([kg, () => packed(kg) ?? undefined, step]);
    }
    this.left = this.keyGroups.length;
  }

  /** Whether every key group has been packed. */
  get finished(): boolean {
    return this.left === 0;
  }

  /** Whole snapshots: buckets the live slots by key group until `deadline` (ms, performance.now()); true when all are. */
  prepare(deadline: number): boolean {
    const done = this.done;
    const lists = this.live;
    if (done === null || lists === null) return true;
    const { meta, hashes } = this.table();
    while (this.cursor < this.slotCount) {
      const end = Math.min(this.slotCount, this.cursor + PREPARE_CHUNK);
      for (let s = this.cursor; s < end; s++) {
        if (done[s] === 1) {
          const saved = this.saved.get(s);
          if (saved !== undefined) lists[keyGroupOf(saved.hash)]!.push(s);
        } else if (meta[2 * s] > 0) lists[keyGroupOf(hashes[s])]!.push(s);
      }
      this.cursor = end;
      if (performance.now() >= deadline) break;
    }
    return this.cursor >= this.slotCount;
  }

  /** The operator is about to change `slot`: saves it first if the snapshot still needs it. */
  keep(slot: number): void {
    const t = this.table();
    const flags = t.meta[2 * slot + 1];
    if (this.done !== null) {
      if (slot >= this.slotCount || this.done[slot] === 1) return;
      this.done[slot] = 1;
      t.meta[2 * slot + 1] = flags & ~this.capture.bit;
      if (!(t.meta[2 * slot] > 0)) return; // not live at the barrier
    } else {
      if ((flags & this.capture.bit) === 0) return;
      t.meta[2 * slot + 1] = flags & ~this.capture.bit;
    }
    const base = slot * t.width;
    const values: unknown[] = [];
    for (let i = 0; i < t.width; i++) {
      const v = t.data[base + i];
      values.push(typeof v === 'object' && v !== null ? structuredClone(v) : v);
    }
    this.saved.set(slot, { hash: t.hashes[slot]!, count: t.meta[2 * slot]!, values });
  }

  /**
   * Gathers key group kg's covered groups as of the barrier (the random reads of the table, the
   * slow part of packing) until `deadline`; true when all are, and `pack` only has to lay them out.
   * A gathered slot is the snapshot's: keep no longer saves it. Object values gathered by the time
   * it returns false are copied, since the operator may change them in place before it resumes.
   */
  gather(kg: number, deadline: number): boolean {
    if (!this.prepare(deadline)) return false;
    const list: ArrayLike<number> = this.live !== null ? this.live[kg]!.slots() : this.changed![kg]!;
    let g = this.gathered.get(kg);
    if (g === undefined) this.gathered.set(kg, (g = { pos: 0, copied: 0, hashes: [], counts: [], data: [] }));
    const t = this.table();
    const width = t.width;
    const bit = this.capture.bit;
    const done = this.done;
    const { hashes, counts, data } = g;
    while (g.pos < list.length) {
      const end = Math.min(list.length, g.pos + GATHER_CHUNK);
      for (let i = g.pos; i < end; i++) {
        const slot = list[i]!;
        const s = this.saved.get(slot);
        if (s !== undefined) {
          if (keyGroupOf(s.hash) !== kg) continue; // listed under the group the slot held before
          hashes.push(s.hash);
          counts.push(s.count);
          for (let k = 0; k < width; k++) data.push(s.values[k]);
          this.saved.delete(slot);
          continue;
        }
        const f = t.meta[2 * slot + 1];
        if (done !== null) {
          if (done[slot] === 1) continue;
          done[slot] = 1;
        } else if ((f & bit) === 0 || keyGroupOf(t.hashes[slot]!) !== kg) continue;
        t.meta[2 * slot + 1] = f & ~bit;
        hashes.push(t.hashes[slot]!);
        counts.push(t.meta[2 * slot]!);
        const base = slot * width;
        for (let k = 0; k < width; k++) data.push(t.data[base + k]);
      }
      g.pos = end;
      if (g.pos < list.length && performance.now() >= deadline) {
        for (let i = g.copied; i < data.length; i++) {
          const v = data[i];
          if (typeof v === 'object' && v !== null) data[i] = structuredClone(v);
        }
        g.copied = data.length;
        return false;
      }
    }
    return true;
  }

  /** Key group `kg`'s covered groups as of the barrier, packed (null: none). */
  private pack(kg: number): GroupsV2 | null {
    this.gather(kg, Number.POSITIVE_INFINITY);
    const { hashes, counts, data } = this.gathered.get(kg)!;
    this.gathered.delete(kg);
    if (this.live !== null) this.live[kg] = new SlotList();
    const t = this.table();
    const n = hashes.length;
    if (n === 0) return null;
    const meta = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) meta[2 * i] = counts[i]!;
    const sel = new Int32Array(n);
    for (let i = 0; i < n; i++) sel[i] = i;
    return packGroups({ hashes: Uint32Array.from(hashes), meta, data, width: t.width, keyCount: t.keyCount, retractable: t.retractable }, n, sel);
  }
}
