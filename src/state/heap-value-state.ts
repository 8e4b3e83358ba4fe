/**
 * A value state of the heap backend: one Map per key group, write times for the state TTL, and,
 * for incremental checkpoints, the keys written or deleted since the previous snapshot.
 *
 * While a snapshot is being serialized (heap-snapshot.ts), each key group it still has to write
 * keeps the state as of the barrier by copy on write, key by key: the first get, put or delete
 * of a key since the barrier saves the key's value as of the barrier (a copy on get, since the
 * caller may change the value in place; the value itself on put and delete, which take it out of
 * the map). Serializing the key group then reads the saved values where there are any and the
 * live map elsewhere. So touching a key costs one copy of its value at most, not the key group.
 */
import { keyGroupOf } from '../model/partition.js';
import type { ValueState } from './state-backend.js';
import { packEntries, packKeys, type SectionEntry } from './heap-sections.js';

/** What the value state needs of its backend. */
export interface ValueStateHost {
  /** Processing time (ms) as the backend last set it. */
  readonly now: number;
  expired(count: number): void;
  foreignKey(keyGroup: number): Error;
  /** Serializes key group g (- start) of the snapshot in flight now, if it is still pending. */
  settleSnapshot(g: number): void;
}

/** A saved value: the key did not exist at the barrier. */
const ABSENT: unique symbol = Symbol('absent');

/** A key group's part in the snapshot in flight, not serialized yet. */
interface PendingGroup<K, V> {
  /** Incremental: the keys changed before the barrier (the only ones in the snapshot). Whole: null. */
  readonly keys: Set<K> | null;
  /** Values as of the barrier of the keys touched since. */
  readonly saved: Map<K, V | typeof ABSENT>;
}

/** A copy the caller may change in place without changing `v` (values are plain data). */
function copyOf<V>(v: V): V {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

export class HeapValueState<K, V> implements ValueState<K, V> {
  /** By key group - start. */
  readonly groups: Map<K, V>[];
  /** Last write per key, by key group - start (only with a TTL). */
  readonly written: Map<K, number>[] | null;
  /** Keys written or deleted since the previous snapshot, by key group - start (once tracking). */
  private changed: Set<K>[] | null = null;
  /** By key group - start: its part in the snapshot in flight, while not serialized yet. */
  private pending: (PendingGroup<K, V> | undefined)[] | null = null;
  private pendingGroups = 0;
  private count = 0;
  /** Incremental cleanup position: a key group and a live iterator over its write times. */
  private cursorGroup = 0;
  private cursor: Iterator<[K, number]> | null = null;

  constructor(
    private readonly host: ValueStateHost,
    private readonly start: number,
    groups: number,
    private readonly ttlMs: number,
    /** ValueStateOptions.encode: applied to the values a snapshot writes. */
    private readonly encode?: (value: V) => unknown,
  ) {
    this.groups = Array.from({ length: groups }, () => new Map<K, V>());
    this.written = ttlMs > 0 ? Array.from({ length: groups }, () => new Map<K, number>()) : null;
  }

  private group(hash: number): number {
    const g = keyGroupOf(hash) - this.start;
    if (g < 0 || g >= this.groups.length) throw this.host.foreignKey(keyGroupOf(hash));
    return g;
  }

  get size(): number {
    return this.count;
  }

  get(key: K, hash: number): V | undefined {
    const g = this.group(hash);
    const v = this.groups[g].get(key);
    if (v === undefined) return v;
    if (this.written !== null && this.host.now - this.written[g].get(key)! >= this.ttlMs) {
      this.remove(g, key);
      this.host.expired(1);
      return undefined;
    }
    if (this.pending !== null) this.keep(g, key, true);
    return v;
  }

  put(key: K, hash: number, value: V): void {
    const g = this.group(hash);
    if (this.pending !== null) this.keep(g, key, false);
    const map = this.groups[g];
    const before = map.size;
    map.set(key, value);
    this.count += map.size - before;
    if (this.written !== null) this.written[g].set(key, this.host.now);
    if (this.changed !== null) this.changed[g].add(key);
  }

  delete(key: K, hash: number): void {
    this.remove(this.group(hash), key);
  }

  /** Everything is in memory: nothing to load. */
  prefetch(): void {}

  private remove(g: number, key: K): void {
    if (this.pending !== null) this.keep(g, key, false);
    if (this.groups[g].delete(key)) {
      this.count--;
      if (this.changed !== null) this.changed[g].add(key);
    }
    if (this.written !== null) this.written[g].delete(key);
  }

  forEach(fn: (value: V, key: K) => void): void {
    const now = this.host.now;
    for (let g = 0; g < this.groups.length; g++) {
      // `fn` may change values in place: the snapshot in flight takes the key group first.
      if (this.pending?.[g] !== undefined) this.host.settleSnapshot(g);
      const written = this.written?.[g];
      for (const [k, v] of this.groups[g]) {
        if (written !== undefined && now - written.get(k)! >= this.ttlMs) continue;
        fn(v, k);
      }
    }
  }

  /** Examines up to `budget` keys for expiry, resuming where the last call stopped. */
  cleanUp(budget: number): void {
    const written = this.written;
    if (written === null || this.count === 0) return;
    const now = this.host.now;
    let dropped = 0;
    for (let seen = 0; seen < budget; ) {
      if (this.cursor === null) this.cursor = written[this.cursorGroup].entries();
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = null;
        this.cursorGroup = (this.cursorGroup + 1) % written.length;
        if (this.cursorGroup === 0) break;
        continue;
      }
      seen++;
      const [key, at] = next.value;
      if (now - at >= this.ttlMs) {
        this.remove(this.cursorGroup, key);
        dropped++;
      }
    }
    if (dropped > 0) this.host.expired(dropped);
  }

  /** Takes restored entries of one key group (the state's map for it, when nothing converts them). */
  restore(g: number, entries: Map<unknown, unknown>, migrate: ((v: unknown) => unknown) | undefined): void {
    if (this.pending?.[g] !== undefined) for (const k of entries.keys()) this.keep(g, k as K, false);
    const before = this.groups[g].size;
    if (migrate === undefined && before === 0) this.groups[g] = entries as Map<K, V>;
    else for (const [k, v] of entries) this.groups[g].set(k as K, (migrate === undefined ? v : migrate(v)) as V);
    this.count += this.groups[g].size - before;
    const written = this.written?.[g];
    if (written !== undefined) for (const k of this.groups[g].keys()) written.set(k, this.host.now);
  }

  /** From now on, records the keys each write or delete changes (for incremental snapshots). */
  trackChanges(): void {
    if (this.changed === null) this.changed = Array.from({ length: this.groups.length }, () => new Set<K>());
  }

  /**
   * The barrier of a snapshot: the key groups it holds of this state become pending (whole: every
   * non-empty one; incremental: every one with changes, whose changed keys the snapshot takes).
   * Their entries are read later by takeSnapshotEntry, as of now.
   */
  beginSnapshot(incremental: boolean): void {
    const pending: (PendingGroup<K, V> | undefined)[] = new Array(this.groups.length);
    let n = 0;
    for (let g = 0; g < this.groups.length; g++) {
      if (incremental) {
        const keys = this.changed?.[g];
        if (keys === undefined || keys.size === 0) continue;
        this.changed![g] = new Set<K>();
        pending[g] = { keys, saved: new Map() };
      } else if (this.groups[g].size > 0) pending[g] = { keys: null, saved: new Map() };
      else continue;
      n++;
    }
    if (!incremental && this.changed !== null) for (const s of this.changed) s.clear();
    this.pending = n > 0 ? pending : null;
    this.pendingGroups = n;
  }

  /** Whether key group g (- start) has entries in the snapshot in flight not taken yet. */
  isPending(g: number): boolean {
    return this.pending?.[g] !== undefined;
  }

  /**
   * Key group g's entry in the snapshot in flight, as of its barrier (null: none); the key group
   * is no longer pending. Whole: `[name, packed]`; incremental: `[name, puts, deleted, 'd']`.
   */
  takeSnapshotEntry(name: string, g: number): SectionEntry | null {
    const p = this.pending?.[g];
    if (p === undefined) return null;
    this.pending![g] = undefined;
    if (--this.pendingGroups === 0) this.pending = null;
    const map = this.groups[g];
    const { keys, saved } = p;
    if (keys === null) {
      if (saved.size === 0) return [name, packEntries([...map.keys()], this.encoded([...map.values()]))];
      const ks: K[] = [];
      const vs: V[] = [];
      for (const [k, v] of map) {
        const was = saved.get(k);
        if (was === undefined && !saved.has(k)) {
          ks.push(k);
          vs.push(v);
        } else if (was !== ABSENT) {
          ks.push(k);
          vs.push(was as V);
        }
      }
      // Keys deleted since the barrier.
      for (const [k, was] of saved) {
        if (was !== ABSENT && !map.has(k)) {
          ks.push(k);
          vs.push(was);
        }
      }
      return ks.length > 0 ? [name, packEntries(ks, this.encoded(vs))] : null;
    }
    const putKeys: K[] = [];
    const putValues: V[] = [];
    const deleted: K[] = [];
    for (const k of keys) {
      let v: V | typeof ABSENT | undefined = saved.get(k);
      if (v === undefined && !saved.has(k)) v = map.has(k) ? map.get(k) : ABSENT;
      if (v === ABSENT) deleted.push(k);
      else {
        putKeys.push(k);
        putValues.push(v as V);
      }
    }
    if (putKeys.length === 0 && deleted.length === 0) return null;
    return [name, putKeys.length > 0 ? packEntries(putKeys, this.encoded(putValues)) : null, deleted.length > 0 ? packKeys(deleted) : null, 'd'];
  }

  /** `values` in the form snapshots hold them (ValueStateOptions.encode), replaced in place. */
  private encoded(values: unknown[]): unknown[] {
    const encode = this.encode;
    if (encode !== undefined) for (let i = 0; i < values.length; i++) values[i] = encode(values[i] as V);
    return values;
  }

  /**
   * The snapshot in flight failed: it is given up (its changed keys go back into the change set,
   * which a later snapshot may still need).
   */
  abandonSnapshot(): void {
    const pending = this.pending;
    this.pending = null;
    this.pendingGroups = 0;
    if (pending === null || this.changed === null) return;
    for (let g = 0; g < pending.length; g++) {
      const keys = pending[g]?.keys;
      if (keys != null) for (const k of keys) this.changed[g].add(k);
    }
  }

  /** Saves `key`'s value as of the barrier, the first time since it that the key is touched. */
  private keep(g: number, key: K, copy: boolean): void {
    const p = this.pending![g];
    if (p === undefined || p.saved.has(key) || (p.keys !== null && !p.keys.has(key))) return;
    const map = this.groups[g];
    const v = map.get(key);
    p.saved.set(key, v === undefined && !map.has(key) ? ABSENT : copy ? copyOf(v as V) : (v as V));
  }
}
