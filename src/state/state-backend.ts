/**
 * The state layer's contract: keyed state owned by the runtime and handed to an operator through
 * its context (OperatorContext.state), as Flink's keyed state backends are.
 *
 * An operator declares named states in open() and reads and writes them by key. Every key comes
 * with the hash its hash exchange routes it by (`hashRow` over the key columns), and the layer
 * files the key under key group `keyGroupOf(hash)`: a subtask holds exactly the key groups
 * `keyGroupRange(subtask, parallelism)`, a snapshot is cut into one section per key group, and a
 * restore (with any parallelism) reads only the sections of the groups the subtask owns. So an
 * operator no longer serializes, versions or re-splits its keyed state itself.
 *
 * Values are plain data (what V8's structured clone keeps: numbers, strings, bigints, arrays,
 * Maps, typed arrays, plain objects; no class instances, no functions). The layer may hand out
 * the object it holds: an operator that changes a value in place must `put` it again, or the
 * change may be missing from the next snapshot (incremental snapshots see only puts).
 */
import type { KeyGroupRange } from '../model/partition.js';

export interface ValueStateOptions {
  /**
   * The key expires after the job's state TTL (`table.exec.state.ttl`) without a write, as
   * Flink's state TTL for regular aggregates and joins (update on create and write, expired values
   * never returned). Time-bound state (windows) leaves it off: watermarks clean it.
   */
  readonly ttl?: boolean;
  /**
   * Converts a restored value written by an earlier version of the operator (or with another
   * input schema) into today's form. Called once per restored key.
   */
  readonly migrate?: (value: unknown) => unknown;
  /**
   * The form the heap backend writes a value to snapshots in, when the value as held is slow to
   * serialize (objects): a plain array of primitives packs into columns. `migrate` must turn it
   * back. (The rocksdb backend writes values as held; `migrate` reads both.)
   */
  readonly encode?: (value: unknown) => unknown;
}

/** One value per key. */
export interface ValueState<K, V> {
  get(key: K, hash: number): V | undefined;
  put(key: K, hash: number, value: V): void;
  delete(key: K, hash: number): void;
  /** Keys held (expired ones not yet cleaned up included). */
  readonly size: number;
  /**
   * Every live entry, key group by key group. `fn` may delete the entry it is given (and only
   * that one); puts during the scan may or may not be visited. A backend on disk reads the entries
   * asynchronously and returns a promise (the caller awaits it before it touches the state again).
   */
  forEach(fn: (value: V, key: K) => void): void | Promise<void>;
  /**
   * Announces that the current batch will read or write `key` (only with a backend whose
   * `prefetches` is true; see KeyedStateBackend.load). Cheap and synchronous: it only queues the
   * key when the backend does not hold it in memory.
   */
  prefetch(key: K, hash: number): void;
}

/**
 * A specialised structure an operator keeps keyed state in, instead of a ValueState (as
 * keyed-aggregate's slot table), under the same contract: it cuts its snapshot by key group and
 * restores key group by key group; the layer stores and routes the sections.
 */
export interface KeyGroupedStructure {
  /** Keys held. */
  readonly size: number;
  /** Its entries as plain data, one element per non-empty key group (any order). */
  snapshotKeyGroups(): Iterable<readonly [keyGroup: number, data: unknown]>;
  /** Restored entries of one key group the subtask owns (what snapshotKeyGroups gave for it). */
  restoreKeyGroup(keyGroup: number, data: unknown): void;
  /**
   * With the state TTL (registered with `ttl: true`): drops up to `budget` examined keys last
   * written before `cutoff` (processing time, ms), resuming where the previous call stopped;
   * returns how many it dropped. The structure records write times with `processingTime()`.
   */
  expire?(cutoff: number, budget: number): number;
  /**
   * For incremental checkpoints (optional: a structure without it is snapshotted whole every
   * time). What changed since the last call of snapshotKeyGroups or snapshotKeyGroupChanges
   * (either one starts the next change set): per key group with changes, plain data saying which
   * keys now hold what and which keys are gone. Key groups without changes are left out.
   */
  snapshotKeyGroupChanges?(): Iterable<readonly [keyGroup: number, changes: unknown]>;
  /**
   * Applies what snapshotKeyGroupChanges gave for `keyGroup` on top of what is restored of it so
   * far (restoreKeyGroup first, then each later change set in checkpoint order).
   */
  applyKeyGroupChanges?(keyGroup: number, changes: unknown): void;
  /**
   * Asynchronous snapshots (optional, with snapshotKeyGroupChanges): what snapshotKeyGroups
   * (`changes` false) or snapshotKeyGroupChanges would give now, as one function per key group for
   * the backend to call later, once each, while the task goes on: the structure keeps its data as
   * of this call (copy on write) until every function has been called. Starts the next change set
   * as they do. The backend calls every function before it freezes the structure again.
   */
  freezeKeyGroups?(changes: boolean): FrozenKeyGroups;
}

/** A structure's snapshot frozen at the barrier (KeyGroupedStructure.freezeKeyGroups). */
export interface FrozenKeyGroups {
  /**
   * Per key group of the subtask that may have data: the function giving it (undefined: none
   * after all), called once, in any order; and optionally a step doing part of that work until
   * `deadline` (performance.now()), returning whether what is left for `pack` is quick. Either
   * does `prepare`'s work first if it is not done.
   */
  readonly keyGroups: Iterable<readonly [keyGroup: number, pack: () => unknown, step?: (deadline: number) => boolean]>;
  /**
   * Work to do before any key group (e.g. finding which entries belong to which key group), in
   * slices: does some, stopping once `deadline` (performance.now()) has passed, and returns
   * whether it is all done. Called again until it is; with an infinite deadline it finishes.
   */
  prepare(deadline: number): boolean;
}

/** A snapshot cut into key groups: what a checkpoint stores of a subtask's keyed state. */
export interface KeyedStateSnapshot {
  /**
   * Full: one section per non-empty key group the subtask owns, in key-group order. Incremental:
   * one section per key group changed since the previous snapshot, holding only the changes.
   */
  readonly sections: readonly KeyGroupSection[];
  /** The sections are changes over the previous snapshot (which must have completed), not whole. */
  readonly incremental: boolean;
  /**
   * A large snapshot's sections, written to a local file as they were made (`sections` is then
   * empty): the checkpoint moves the file into its folder and appends the operator's own state.
   */
  readonly spooled?: SpooledSections;
}

/** Sections in a local file (section-spool.ts), in key-group order, each with its place and sha256. */
export interface SpooledSections {
  readonly path: string;
  readonly sections: readonly (readonly [keyGroup: number, offset: number, length: number, sha256: string])[];
  readonly bytes: number;
}

export interface KeyGroupSection {
  readonly keyGroup: number;
  readonly bytes: Uint8Array;
}

/**
 * The keyed state of one operator subtask. The runtime creates it (restoring the sections of the
 * key groups the subtask owns), the operator declares its states in open(), and at a checkpoint the
 * runtime takes `snapshot()` right after the operator's own snapshotState.
 */
export interface KeyedStateBackend {
  /** The key groups this subtask owns. */
  readonly keyGroups: KeyGroupRange;
  /**
   * The backend keeps value states on disk behind an in-memory cache, so `get`, `put` and `delete`
   * of a key need it loaded first: before each input batch the task asks the operator to
   * `prefetch` the batch's keys (Operator.prefetch) and awaits `load()`; after the batch it awaits
   * `afterBatch()`. False for the heap backend, which the task then never asks.
   */
  readonly prefetches: boolean;
  /** Reads the keys queued by `prefetch` (one batched read); undefined when none are queued. */
  load(): Promise<void> | undefined;
  /** Writes what the batch changed and trims the cache (disk backend); undefined when nothing to do. */
  afterBatch(): Promise<void> | undefined;
  /** Prepares the backend (a disk backend creates its working files and restores into them). */
  open(): Promise<void>;
  /** Releases the backend (a disk backend deletes its working files); waits for snapshots in flight. */
  dispose(): Promise<void>;
  /** Declares (or returns the already declared) state `name`; restored entries are in it. */
  valueState<K, V>(name: string, options?: ValueStateOptions): ValueState<K, V>;
  /** Registers a specialised structure as state `name`; its restored key groups are handed to it now. */
  registerStructure(name: string, structure: KeyGroupedStructure, options?: { readonly ttl?: boolean }): void;
  /** The job's state TTL (table.exec.state.ttl, ms) for states that declare one; 0: none. */
  readonly ttlMs: number;
  /** Processing time as last set by advanceTime (ms since the epoch). */
  processingTime(): number;
  /**
   * Processing time for state TTL, set by the runtime before each batch (ms since the epoch). It
   * also lets the layer clean up a bounded number of expired keys.
   */
  advanceTime(now: number): void;
  /** Keys held over all states (for errors and metrics). */
  keyCount(): number;
  /**
   * A structure of this subtask is about to allocate `bytes` at once (a table doubling): throws a
   * HEAP_EXHAUSTED user error, naming the operator and its keys, when the heap cannot hold that
   * next to its live data, instead of letting V8 abort the process.
   */
  reserve(bytes: number): void;
  /**
   * The state as of now, cut by key group; later writes do not change it. With `incremental` the
   * backend may give only the changes since its previous snapshot (the caller asks for that only
   * when the previous snapshot's checkpoint completed); it still gives a whole one when the changes
   * have grown as large as a whole snapshot would be, so a restore never reads a long chain.
   *
   * Asynchronous snapshots: a backend may return a promise. The snapshot is still the state as of
   * the call (a disk backend pins a store snapshot and records which keys changed); reading and
   * serializing it happens while the task goes on processing. `signal` aborts that part when its
   * checkpoint is aborted (a backend may stop early: its promise then rejects with the signal's
   * reason, and whatever it wrote is deleted).
   */
  snapshot(options?: { readonly incremental?: boolean; readonly signal?: AbortSignal }): KeyedStateSnapshot | Promise<KeyedStateSnapshot>;
}
