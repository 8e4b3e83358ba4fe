/**
 * A value state of the heap backend: one Map per key group, write times for the state TTL, and,
 * for incremental checkpoints, the keys written or deleted since the previous snapshot.
 */
import { keyGroupOf } from '../model/partition.js';
import type { ValueState } from './state-backend.js';
import { packEntries, packKeys, type PackedEntries, type PackedKeys } from './heap-sections.js';

/** What the value state needs of its backend. */
export interface ValueStateHost {
  /** Processing time (ms) as the backend last set it. */
  readonly now: number;
  expired(count: number): void;
  foreignKey(keyGroup: number): Error;
}

export class HeapValueState<K, V> implements ValueState<K, V> {
  /** By key group - start. */
  readonly groups: Map<K, V>[];
  /** Last write per key, by key group - start (only with a TTL). */
  readonly written: Map<K, number>[] | null;
  /** Keys written or deleted since the previous snapshot, by key group - start (once tracking). */
  private changed: Set<K>[] | null = null;
  private count = 0;
  /** Incremental cleanup position: a key group and a live iterator over its write times. */
  private cursorGroup = 0;
  private cursor: Iterator<[K, number]> | null = null;

  constructor(
    private readonly host: ValueStateHost,
    private readonly start: number,
    groups: number,
    private readonly ttlMs: number,
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
    if (v === undefined || this.written === null) return v;
    if (this.host.now - this.written[g].get(key)! < this.ttlMs) return v;
    this.remove(g, key);
    this.host.expired(1);
    return undefined;
  }

  put(key: K, hash: number, value: V): void {
    const g = this.group(hash);
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
    if (this.groups[g].delete(key)) {
      this.count--;
      if (this.changed !== null) this.changed[g].add(key);
    }
    if (this.written !== null) this.written[g].delete(key);
  }

  forEach(fn: (value: V, key: K) => void): void {
    const now = this.host.now;
    for (let g = 0; g < this.groups.length; g++) {
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

  /** Key groups (- start) with changes since the previous snapshot. */
  *changedGroups(): Iterable<number> {
    const changed = this.changed;
    if (changed === null) return;
    for (let g = 0; g < changed.length; g++) if (changed[g].size > 0) yield g;
  }

  /** Key group g's changes since the previous snapshot: written keys with their values, deleted keys. */
  takeChanges(g: number): { puts: PackedEntries | null; deleted: PackedKeys | null } {
    const keys = this.changed![g];
    const map = this.groups[g];
    const putKeys: K[] = [];
    const putValues: V[] = [];
    const deleted: K[] = [];
    for (const k of keys) {
      const v = map.get(k);
      if (v !== undefined || map.has(k)) {
        putKeys.push(k);
        putValues.push(v as V);
      } else deleted.push(k);
    }
    keys.clear();
    return { puts: putKeys.length > 0 ? packEntries(putKeys, putValues) : null, deleted: deleted.length > 0 ? packKeys(deleted) : null };
  }

  /** Forgets the recorded changes (a whole snapshot was taken). */
  clearChanges(): void {
    if (this.changed !== null) for (const s of this.changed) s.clear();
  }
}
