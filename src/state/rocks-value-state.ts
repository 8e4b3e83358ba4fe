/**
 * A value state of the disk backend: the store holds every entry, an in-memory cache the ones the
 * current batch uses (and recently used ones, up to a bound). `get`, `put` and `delete` work on the
 * cache only, so the operator's loop stays synchronous: the task has the batch's keys prefetched
 * into the cache before the batch and the changed entries written back after it.
 */
import { internalError } from '../errors.js';
import { keyGroupOf } from '../model/partition.js';
import { decodeKey, decodeValue, encodeKey, encodeValue, RAW, stateRange, type WriteOpList } from './rocks-codec.js';
import type { KeyFilter } from './key-filter.js';
import { type ChangeBudget, ChangeSet } from './rocks-changes.js';
import type { RocksStore } from './rocks-store.js';
import type { ValueState } from './state-backend.js';

/** One cached key: its value (undefined: the store holds none), last write, and whether the store lags. */
interface Entry {
  value: unknown;
  written: number;
  dirty: boolean;
  readonly keyGroup: number;
}

/** What the state needs of its backend. */
export interface RocksStateHost {
  readonly now: number;
  readonly label: string;
  expired(count: number): void;
  foreignKey(keyGroup: number): Error;
  /** Writes the dirty entries of every state and trims the caches (forEach needs it mid-scan). */
  writeBack(): Promise<void>;
  readonly store: RocksStore;
  /** The subtask's key prefix in the store. */
  readonly prefix: number;
  /** What the change sets of the backend's states may hold together. */
  readonly changeBudget: ChangeBudget;
}

export class RocksValueState<K, V> implements ValueState<K, V> {
  private readonly cache = new Map<K, Entry>();
  /** Keys to load before the batch, with their key groups. */
  readonly pending = new Map<K, number>();
  private dirty: K[] = [];
  /** Keys written or deleted since the previous snapshot, with their values (once tracking). */
  private changed: ChangeSet<K> | null = null;
  private count: number;
  /** Converts values restored from an older format (RAW on disk), set when the operator declares the state. */
  migrate: ((value: unknown) => unknown) | undefined = undefined;

  constructor(
    private readonly host: RocksStateHost,
    readonly name: string,
    readonly id: number,
    private readonly start: number,
    private readonly groups: number,
    private readonly ttlMs: number,
    restoredKeys: number,
    /** The keys the store may hold (restored ones included). */
    private readonly filter: KeyFilter,
  ) {
    this.count = restoredKeys;
  }

  get size(): number {
    return this.count;
  }

  /** Entries held in memory, and those of them the store lags behind. */
  get cached(): number {
    return this.cache.size;
  }

  get dirtyCount(): number {
    return this.dirty.length;
  }

  private group(hash: number): number {
    const kg = keyGroupOf(hash);
    if (kg < this.start || kg >= this.start + this.groups) throw this.host.foreignKey(kg);
    return kg;
  }

  prefetch(key: K, hash: number): void {
    if (this.cache.has(key) || this.pending.has(key)) return;
    // A key the store surely lacks needs no read.
    if (!this.filter.mayContain(key)) this.cache.set(key, { value: undefined, written: 0, dirty: false, keyGroup: this.group(hash) });
    else this.pending.set(key, this.group(hash));
  }

  /** Takes the store's answer for a prefetched key (null: it holds none). */
  loaded(key: K, keyGroup: number, bytes: Buffer | null): void {
    if (bytes === null) {
      this.cache.set(key, { value: undefined, written: 0, dirty: false, keyGroup });
      return;
    }
    const d = decodeValue(bytes);
    const entry: Entry = { value: d.value, written: d.written, dirty: false, keyGroup };
    if ((d.flags & RAW) !== 0 && this.migrate !== undefined) {
      entry.value = this.migrate(d.value);
      this.markDirty(entry, key);
    }
    this.cache.set(key, entry);
  }

  private entry(key: K): Entry {
    const e = this.cache.get(key);
    if (e === undefined) throw internalError(`${this.host.label}: state '${this.name}' used a key that was not prefetched`);
    return e;
  }

  get(key: K, _hash: number): V | undefined {
    const e = this.entry(key);
    if (e.value === undefined) return undefined;
    if (this.ttlMs > 0 && this.host.now - e.written >= this.ttlMs) {
      this.remove(e, key);
      this.host.expired(1);
      return undefined;
    }
    return e.value as V;
  }

  put(key: K, hash: number, value: V): void {
    let e = this.cache.get(key);
    if (e === undefined) {
      // A write without a read (restoring a checkpoint of an older format): the key is new.
      e = { value: undefined, written: 0, dirty: false, keyGroup: this.group(hash) };
      this.cache.set(key, e);
    }
    if (e.value === undefined) {
      this.count++;
      this.filter.add(key);
    }
    e.value = value;
    e.written = this.host.now;
    this.markDirty(e, key);
  }

  delete(key: K, _hash: number): void {
    this.remove(this.entry(key), key);
  }

  private remove(e: Entry, key: K): void {
    if (e.value === undefined) return;
    e.value = undefined;
    this.count--;
    this.markDirty(e, key);
  }

  private markDirty(e: Entry, key: K): void {
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(key);
    }
  }

  /**
   * Adds the store writes of every dirty entry to `ops` and marks them clean; the change set
   * records the same bytes (every change is collected here before the snapshot that covers it).
   */
  collectWrites(ops: WriteOpList): void {
    const changed = this.changed;
    for (const key of this.dirty) {
      const e = this.cache.get(key)!;
      e.dirty = false;
      const value = e.value === undefined ? null : encodeValue(e.value, e.written);
      ops.push([encodeKey(this.host.prefix, e.keyGroup, this.id, key), value]);
      changed?.record(e.keyGroup - this.start, key, value);
    }
    this.dirty = [];
  }

  /** Drops the oldest clean entries until at most `max` are cached. */
  trim(max: number): void {
    if (this.cache.size <= max) return;
    for (const [k, e] of this.cache) {
      if (this.cache.size <= max) break;
      if (!e.dirty) this.cache.delete(k);
    }
  }

  async forEach(fn: (value: V, key: K) => void): Promise<void> {
    const store = this.host.store;
    for (let g = 0; g < this.groups; g++) {
      await this.host.writeBack();
      const kg = this.start + g;
      const [gte, lt] = stateRange(this.host.prefix, kg, this.id);
      for await (const { key: kb, value: vb } of store.scan(gte, lt)) {
        const key = decodeKey(kb) as K;
        let e = this.cache.get(key);
        if (e === undefined) {
          this.loaded(key, kg, vb);
          e = this.cache.get(key)!;
        }
        if (e.value === undefined) continue;
        if (this.ttlMs > 0 && this.host.now - e.written >= this.ttlMs) continue;
        fn(e.value as V, key);
      }
    }
    await this.host.writeBack();
  }

  /** From now on, records the keys each write or delete changes (for incremental snapshots). */
  trackChanges(): void {
    this.changed ??= new ChangeSet<K>(this.groups, this.host.changeBudget);
  }

  /**
   * The changes since the previous snapshot, once collectWrites has taken every dirty entry;
   * starts the next change set.
   */
  takeChanges(): ChangeSet<K> | null {
    const c = this.changed;
    if (c !== null) this.changed = new ChangeSet<K>(this.groups, this.host.changeBudget);
    return c;
  }

  /** Whether the change set overflowed its key budget (the next snapshot must be whole). */
  get changesOverflowed(): boolean {
    return this.changed?.overflowed === true;
  }

  /** Forgets the recorded changes (a whole snapshot was taken). */
  clearChanges(): void {
    if (this.changed !== null) this.changed = new ChangeSet<K>(this.groups, this.host.changeBudget);
  }

  /** Whether a value read from the store (for a snapshot) is expired. */
  expiredAt(written: number): boolean {
    return this.ttlMs > 0 && this.host.now - written >= this.ttlMs;
  }
}
