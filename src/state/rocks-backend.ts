/**
 * `state.backend.type = 'rocksdb'`: value states on local disk in an embedded RocksDB store
 * (rocks-store.ts), behind an in-memory cache of bounded size, so a state may outgrow the heap.
 *
 * The task prefetches every input batch's keys in one batched read before the batch and writes
 * what the batch changed in one write batch after it (see KeyedStateBackend.prefetches). Snapshots
 * are asynchronous: at the barrier the backend pins a store snapshot and takes what changed since
 * the previous snapshot (each changed key with the bytes of its value as written to the store,
 * rocks-changes.ts), then serializes the changes (incremental) or reads every entry through the
 * store snapshot (whole, rare: see POLICY) while the task processes on. Sections have the heap
 * backend's format (heap-sections.ts), so a checkpoint of either backend restores into the other,
 * with any parallelism. A restore writes the sections of the subtask's key groups into its empty
 * part of the store, one key group at a time.
 *
 * Registered structures (keyed-aggregate's slot table, window operators) stay in the heap in this
 * backend too: it hands them to an inner heap backend and merges their sections into its own.
 */
import { getHeapStatistics } from 'node:v8';
import { internalError } from '../errors.js';
import type { KeyGroupRange } from '../model/partition.js';
import { type HeapBackendOptions, HeapKeyedStateBackend } from './heap-backend.js';
import { heapExhaustedError, heapHasRoomFor, heapUse, liveHeapAfterGc } from './heap-room.js';
import type { Section, SectionEntry } from './heap-sections.js';
import { encodeKey, encodeValue, RAW, stateRange, type WriteOpList } from './rocks-codec.js';
import { KeyFilter } from './key-filter.js';
import type { ChangeBudget } from './rocks-changes.js';
import { RocksStore } from './rocks-store.js';
import { RocksValueState } from './rocks-value-state.js';
import { SnapshotMaterializer } from './rocks-snapshot.js';
import { deserializeState, serializeState } from './serde.js';
import { SnapshotPolicy } from './snapshot-policy.js';
import type { KeyGroupedStructure, KeyedStateBackend, KeyedStateSnapshot, ValueState, ValueStateOptions } from './state-backend.js';
import { unpackColumn } from './columns.js';

export interface RocksBackendOptions extends HeapBackendOptions {
  /** The folder the job's subtasks keep their stores in (state.backend.local-dir/<job>). */
  readonly localDir: string;
  /** Entries each value state keeps in memory between batches. */
  readonly cacheEntries?: number;
  /** Bytes of changed values kept for the next incremental snapshot (rocks-changes.ts). */
  readonly changeBytes?: number;
  /** Changed keys recorded for it before the next snapshot is whole instead (rocks-changes.ts). */
  readonly changeKeys?: number;
}

/** Cached entries per value state by default: enough for hot keys, small next to the heap. */
export const DEFAULT_CACHE_ENTRIES = 100_000;
/**
 * Changed entries a subtask keeps in memory before it writes them to the store (it always writes
 * them at a snapshot, and before it evicts them): a key changed by many batches is serialized once
 * per checkpoint, not once per batch, and the write at the barrier stays small.
 */
const WRITE_BACK_AT = 8_192;
/**
 * Changed values kept for the next incremental snapshot, over all states of a subtask, outside
 * the V8 heap: ~1.5 million changes of a group aggregate (the rest is read back from the store).
 */
export const DEFAULT_CHANGE_BYTES = 64 * 1024 * 1024;
/**
 * Changed keys recorded for the next incremental snapshot, over all states of a subtask: a heap
 * map entry each (~60 bytes with the key), so ~5% of the heap limit (~170,000 in a 160 MiB old
 * generation, ~840,000 in 1 GiB, ~6.7 million in 8 GiB). Past it the next snapshot is whole. A
 * fixed cap of a million made every snapshot whole once one took long: 10M keys loading at
 * ~20,000 rows/s changed more than a million keys during each whole snapshot (~60 s), so the next
 * was whole again.
 */
function defaultChangeKeys(): number {
  return Math.floor((0.05 * getHeapStatistics().heap_size_limit) / 64);
}
/**
 * The snapshot policy of this backend: a whole snapshot reads every entry through the binding's
 * iterator (~13 µs an entry here, most of it the binding making a buffer per key and value), so
 * one is taken only when the restore chain (the last whole snapshot and the changes since) has
 * grown to three times the state's size, or after 100 incremental ones in a row. While keys load,
 * the changes are mostly new keys, the chain is about the state's size, and no whole one comes.
 */
const POLICY = { maxChangeSnapshots: 100, chainFactor: 3 } as const;

export class RocksKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroups: KeyGroupRange;
  readonly prefetches = true;
  now: number;
  readonly label: string;
  private readonly heap: HeapKeyedStateBackend;
  private storeOrNull: RocksStore | null = null;
  private readonly states = new Map<string, RocksValueState<unknown, unknown>>();
  /** Store ids of every state on disk (declared or only restored) and restored key counts. */
  private readonly ids = new Map<string, number>();
  private readonly restoredKeys = new Map<string, number>();
  /** Per state (declared or only restored): the keys its store part may hold. */
  private readonly filters = new Map<string, KeyFilter>();
  private tracking = false;
  private readonly policy = new SnapshotPolicy(POLICY);
  readonly changeBudget: ChangeBudget;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly cacheEntries: number;
  private readonly materializer: SnapshotMaterializer;
  /**
   * Every store write and batched read, in order: a write is serialized when it is queued, and a
   * read or a snapshot's pinning waits for the writes queued before it, so neither sees the store
   * without them (the binding runs requests on a thread pool, in no fixed order).
   */
  private storeQueue: Promise<void> = Promise.resolve();
  /** The write-back afterBatch started last (the next one waits for it). */
  private writing: Promise<void> | undefined = undefined;

  constructor(private readonly options: RocksBackendOptions) {
    this.keyGroups = options.keyGroups;
    this.label = options.label;
    this.now = Date.now();
    this.cacheEntries = options.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    this.changeBudget = { used: 0, limit: options.changeBytes ?? DEFAULT_CHANGE_BYTES, keys: 0, keyLimit: options.changeKeys ?? defaultChangeKeys() };
    this.heap = new HeapKeyedStateBackend({ ...options, restored: [] });
    const backend = this;
    this.materializer = new SnapshotMaterializer({
      keyGroups: this.keyGroups,
      get prefix() {
        return backend.prefix;
      },
      localDir: options.localDir,
      states: this.states,
    });
  }

  /** The subtask's key prefix in the shared store. */
  get prefix(): number {
    return this.store.prefix;
  }

  get store(): RocksStore {
    if (this.storeOrNull === null) throw internalError(`${this.label}: the state store is used before open()`);
    return this.storeOrNull;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  processingTime(): number {
    return this.now;
  }

  expired(count: number): void {
    this.options.onExpired?.(count);
  }

  foreignKey(keyGroup: number): Error {
    return this.heap.foreignKey(keyGroup);
  }

  async open(): Promise<void> {
    this.storeOrNull = await RocksStore.open(this.options.localDir);
    await this.restore();
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    const store = this.storeOrNull;
    this.storeOrNull = null;
    await this.storeQueue.catch(() => undefined);
    await store?.release();
  }

  private stateId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) this.ids.set(name, (id = this.ids.size));
    return id;
  }

  /**
   * Writes the restored sections into the store, folding each key group's chain (a whole
   * section, then changes) in memory first: sections of a key group arrive one after another.
   */
  private async restore(): Promise<void> {
    let fold: RestoreFold | null = null;
    for (const bytes of this.options.restored) {
      const [keyGroup, entries] = deserializeState<Section>(bytes);
      if (keyGroup < this.keyGroups.start || keyGroup > this.keyGroups.end) throw this.foreignKey(keyGroup);
      if (fold !== null && fold.keyGroup !== keyGroup) {
        await this.writeFold(fold);
        fold = null;
      }
      fold ??= { keyGroup, states: new Map() };
      const structures: SectionEntry[] = [];
      for (const e of entries) {
        if (e.length === 2) {
          const map = new Map<unknown, unknown>();
          const { n, k, v } = e[1];
          const keys = unpackColumn(k, n);
          const vals = unpackColumn(v, n);
          for (let i = 0; i < n; i++) map.set(keys[i], vals[i]);
          fold.states.set(e[0], { whole: true, entries: map });
        } else if (e.length === 4 && e[3] === 'd') {
          let s = fold.states.get(e[0]);
          if (s === undefined) fold.states.set(e[0], (s = { whole: false, entries: new Map() }));
          const dels = e[2];
          if (dels !== null) {
            const keys = unpackColumn(dels.k, dels.n);
            for (let i = 0; i < dels.n; i++) s.entries.set(keys[i], REMOVED);
          }
          const puts = e[1];
          if (puts !== null) {
            const keys = unpackColumn(puts.k, puts.n);
            const vals = unpackColumn(puts.v, puts.n);
            for (let i = 0; i < puts.n; i++) s.entries.set(keys[i], vals[i]);
          }
        } else structures.push(e);
      }
      if (structures.length > 0) this.heap.restoreSection([keyGroup, structures]);
    }
    if (fold !== null) await this.writeFold(fold);
  }

  private async writeFold(fold: RestoreFold): Promise<void> {
    const ops: WriteOpList = [];
    const ranges: [Buffer, Buffer][] = [];
    for (const [name, s] of fold.states) {
      const id = this.stateId(name);
      if (s.whole) ranges.push(stateRange(this.prefix, fold.keyGroup, id));
      const filter = this.filterOf(name);
      let n = 0;
      for (const [k, v] of s.entries) {
        if (v === REMOVED) {
          ops.push([encodeKey(this.prefix, fold.keyGroup, id, k), null]);
          continue;
        }
        // A restore starts every key's time to live afresh (the job's downtime is not idle time).
        ops.push([encodeKey(this.prefix, fold.keyGroup, id, k), encodeValue(v, this.now, RAW)]);
        filter.add(k);
        n++;
      }
      this.restoredKeys.set(name, (this.restoredKeys.get(name) ?? 0) + n);
    }
    await this.queueWrite(ops, ranges);
  }

  private filterOf(name: string): KeyFilter {
    let f = this.filters.get(name);
    if (f === undefined) this.filters.set(name, (f = new KeyFilter()));
    return f;
  }

  registerStructure(name: string, structure: KeyGroupedStructure, options: { readonly ttl?: boolean } = {}): void {
    if (this.states.has(name)) throw internalError(`${this.label}: state '${name}' is declared twice`);
    this.heap.registerStructure(name, structure, options);
  }

  valueState<K, V>(name: string, options: ValueStateOptions = {}): ValueState<K, V> {
    let state = this.states.get(name);
    if (state === undefined) {
      const { start, end } = this.keyGroups;
      state = new RocksValueState(
        this,
        name,
        this.stateId(name),
        start,
        end - start + 1,
        options.ttl === true ? this.options.ttlMs : 0,
        this.restoredKeys.get(name) ?? 0,
        this.filterOf(name),
      );
      state.migrate = options.migrate;
      this.states.set(name, state);
      if (this.tracking) state.trackChanges();
    }
    return state as unknown as ValueState<K, V>;
  }

  advanceTime(now: number): void {
    this.now = now;
    this.heap.advanceTime(now);
  }

  load(): Promise<void> | undefined {
    let n = 0;
    for (const s of this.states.values()) n += s.pending.size;
    if (n === 0) return undefined;
    return this.loadPending(n);
  }

  private async loadPending(n: number): Promise<void> {
    const keys: Buffer[] = new Array(n);
    let i = 0;
    for (const s of this.states.values()) for (const [k, kg] of s.pending) keys[i++] = encodeKey(this.prefix, kg, s.id, k);
    await this.storeQueue;
    const values = await this.store.getMany(keys);
    i = 0;
    for (const s of this.states.values()) {
      for (const [k, kg] of s.pending) s.loaded(k, kg, values[i++]!);
      s.pending.clear();
    }
  }

  afterBatch(): Promise<void> | undefined {
    let dirty = 0;
    let over = false;
    for (const s of this.states.values()) {
      dirty += s.dirtyCount;
      if (s.cached > this.cacheEntries) over = true;
    }
    if (dirty < WRITE_BACK_AT && !over) return undefined;
    // Write-behind: the task goes on while this write runs and waits only for the one before it,
    // so at most one write is in flight (reads and snapshots queue after it, see storeQueue).
    const previous = this.writing;
    const current = this.writeBack();
    this.writing = current;
    void current.catch(() => undefined); // the queue fails the next load or snapshot
    return previous;
  }

  /** Writes every changed entry and trims the caches to their bound. */
  writeBack(): Promise<void> {
    const written = this.queueWrite(this.collectWrites());
    for (const s of this.states.values()) s.trim(this.cacheEntries);
    return written;
  }

  private collectWrites(): WriteOpList {
    const ops: WriteOpList = [];
    for (const s of this.states.values()) s.collectWrites(ops);
    return ops;
  }

  private queueWrite(ops: WriteOpList, ranges: readonly (readonly [Buffer, Buffer])[] = []): Promise<void> {
    if (ops.length === 0 && ranges.length === 0) return this.storeQueue;
    const store = this.store;
    this.storeQueue = this.storeQueue.then(() => store.write(ops, ranges));
    return this.storeQueue;
  }

  reserve(bytes: number): void {
    if (heapHasRoomFor(bytes)) return;
    const use = { used: liveHeapAfterGc(), limit: heapUse().limit };
    throw heapExhaustedError(use, [{ operator: this.label, keys: this.heap.keyCount() }], 'rocksdb', bytes);
  }

  keyCount(): number {
    let n = this.heap.keyCount();
    for (const s of this.states.values()) n += s.size;
    return n;
  }

  snapshot(options: { readonly incremental?: boolean; readonly signal?: AbortSignal } = {}): Promise<KeyedStateSnapshot> {
    // The dirty entries first: recording them may overflow a change set's key budget.
    const writes = this.collectWrites();
    const overflowed = [...this.states.values()].some((s) => s.changesOverflowed);
    const incremental = !overflowed && this.policy.incremental(options.incremental, this.tracking, this.keyCount());
    // What the snapshot holds is fixed now: the structures' data (serialized now: the operator
    // changes its structures in place as it goes on), the store as of now, the changes with
    // their values (collectWrites records the dirty entries' bytes in the change sets first).
    const structures = new Map<number, Uint8Array>();
    for (const [g, entries] of this.heap.collect(incremental)) {
      if (entries.length > 0) structures.set(g, serializeState([this.keyGroups.start + g, entries] satisfies Section));
    }
    // The changes still in memory go to the store first; the view is pinned right after them,
    // before any later write (the queue orders them).
    const store = this.store;
    const pinned = this.queueWrite(writes).then(() => store.view());
    this.storeQueue = pinned.then(() => undefined);
    const changes = incremental ? [...this.states.values()].map((s) => [s, s.takeChanges()] as const) : null;
    if (!incremental) for (const s of this.states.values()) s.clearChanges();
    this.changeBudget.used = 0;
    this.changeBudget.keys = 0;
    if (this.options.incremental === true && !this.tracking) {
      this.tracking = true;
      for (const s of this.states.values()) s.trackChanges();
    }
    const names = [...this.ids];
    const keys = this.keyCount();
    const done = pinned.then(async (view) => {
      try {
        const { snapshot, bytes } = await this.materializer.materialize(view, structures, incremental, names, changes, options.signal);
        this.policy.record(incremental, bytes, keys);
        return snapshot;
      } finally {
        await view.close();
      }
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done)).catch(() => undefined);
    return done;
  }
}

/** A key a restored change section deleted (while a key group's chain is folded). */
const REMOVED = Symbol('removed');

interface RestoreFold {
  readonly keyGroup: number;
  readonly states: Map<string, { whole: boolean; entries: Map<unknown, unknown> }>;
}
