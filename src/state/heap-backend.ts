/**
 * `state.backend.type = 'hashmap'`: keyed state in the V8 heap, one Map per state and key group.
 *
 * A snapshot is one section per key group (of every state), serialized with V8's structured
 * clone; a restore deserializes only the sections it is given (the runtime hands it the key groups
 * the subtask owns). Snapshots are asynchronous (heap-snapshot.ts): at the barrier the backend
 * takes only the registered structures' data (they change in place; serialized at once, as
 * before) and marks the value states' key groups as pending; a background drain serializes them a
 * few milliseconds at a time between the task's batches, and until a key group is written each key
 * the task touches keeps its value as of the barrier (copy on write, key by key:
 * heap-value-state.ts). A snapshot still in flight at the next barrier is finished synchronously
 * first; dispose() waits for it. State TTL follows Flink's defaults: a write starts a key's time to
 * live, an expired value is never returned, and expired keys are cleaned up a bounded number at a
 * time as processing time advances (Flink's incremental cleanup), so no pass over all keys ever
 * blocks the task. A restore starts every key's time to live afresh: the time a job was down is
 * not idle time.
 *
 * With incremental checkpoints (`incremental`), after its first snapshot the backend records what
 * each write and delete changes, and a snapshot asked to be incremental holds only the changes
 * since the previous one, key group by key group (heap-sections.ts has the format); the checkpoint
 * chains them after the last whole snapshot, and a restore folds the chain back.
 */
import { internalError } from '../errors.js';
import type { KeyGroupRange } from '../model/partition.js';
import type { KeyGroupedStructure, KeyedStateBackend, KeyedStateSnapshot, ValueState, ValueStateOptions } from './state-backend.js';
import { heapExhaustedError, heapHasRoomFor, heapUse, liveHeapAfterGc } from './heap-room.js';
import { RestoredSections, type Section, type SectionEntry } from './heap-sections.js';
import { type BarrierEntries, groupEntries, HeapSnapshot, type HeapSnapshotResult, type LazyEntry } from './heap-snapshot.js';
import { HeapValueState } from './heap-value-state.js';
import { entriesOf, SnapshotPolicy } from './snapshot-policy.js';

export interface HeapBackendOptions {
  readonly keyGroups: KeyGroupRange;
  /** table.exec.state.ttl in ms; 0 keeps state forever. */
  readonly ttlMs: number;
  /** Sections of the restored checkpoint, only of key groups in `keyGroups`. */
  readonly restored: readonly Uint8Array[];
  /** Counts keys dropped by the TTL ('state-keys-expired'). */
  readonly onExpired?: (count: number) => void;
  /** Shown in errors. */
  readonly label: string;
  /** execution.checkpointing.incremental: record changes for incremental snapshots. */
  readonly incremental?: boolean;
}

/** Entries examined per advanceTime for expiry: bounded work per batch. */
const CLEANUP_PER_ADVANCE = 256;

export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroups: KeyGroupRange;
  readonly prefetches = false;
  now: number;
  private readonly states = new Map<string, HeapValueState<unknown, unknown>>();
  private readonly structures = new Map<string, KeyGroupedStructure>();
  /** Registered structures whose keys expire with the state TTL. */
  private readonly expiring: KeyGroupedStructure[] = [];
  /** Restored entries of states the operator has not declared yet. */
  private readonly restored: RestoredSections;
  /**
   * Per structure without change tracking: the key groups (- start) its last snapshot had data
   * in (an incremental snapshot marks those now empty).
   */
  private readonly wholeGroups = new Map<string, Set<number>>();
  /** Changes are being recorded (incremental, after the first snapshot). */
  private tracking = false;
  private readonly policy = new SnapshotPolicy();
  /** The snapshot being written, if any. */
  private inFlight: HeapSnapshot | null = null;

  constructor(private readonly options: HeapBackendOptions) {
    this.keyGroups = options.keyGroups;
    this.now = Date.now();
    this.restored = new RestoredSections(this.keyGroups.start, this.keyGroups.end, (kg) => this.foreignKey(kg));
    for (const bytes of options.restored) this.restored.add(bytes);
  }

  async open(): Promise<void> {}

  /** Waits for the snapshot in flight (its promise is the caller's to check). */
  async dispose(): Promise<void> {
    await this.inFlight?.promise.catch(() => undefined);
  }

  load(): undefined {
    return undefined;
  }

  afterBatch(): undefined {
    return undefined;
  }

  /** Folds in one more restored section (already deserialized; a disk backend hands over the structures' entries). */
  restoreSection(section: Section): void {
    this.restored.addSection(section);
  }

  foreignKey(keyGroup: number): Error {
    const { start, end } = this.keyGroups;
    return internalError(`${this.options.label}: a key of key group ${keyGroup} reached the subtask owning key groups ${start}-${end}`);
  }

  expired(count: number): void {
    this.options.onExpired?.(count);
  }

  private declared(name: string, kind: 'value' | 'structure'): void {
    if (kind === 'value' ? this.structures.has(name) : this.states.has(name) || this.structures.has(name)) {
      throw internalError(`${this.options.label}: state '${name}' is declared twice`);
    }
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  processingTime(): number {
    return this.now;
  }

  registerStructure(name: string, structure: KeyGroupedStructure, options: { readonly ttl?: boolean } = {}): void {
    this.declared(name, 'structure');
    this.structures.set(name, structure);
    if (options.ttl === true && this.options.ttlMs > 0) {
      if (structure.expire === undefined) throw internalError(`${this.options.label}: structure '${name}' declares a TTL but cannot expire keys`);
      this.expiring.push(structure);
    }
    for (const [g, group] of this.restored.takeStructure(name) ?? []) {
      const kg = this.keyGroups.start + g;
      if (group.whole !== undefined) structure.restoreKeyGroup(kg, group.whole);
      for (const changes of group.changes) {
        if (structure.applyKeyGroupChanges === undefined)
          throw internalError(`${this.options.label}: restored changes of structure '${name}', which cannot apply them`);
        structure.applyKeyGroupChanges(kg, changes);
      }
    }
  }

  valueState<K, V>(name: string, options: ValueStateOptions = {}): ValueState<K, V> {
    let state = this.states.get(name);
    if (state === undefined) {
      this.declared(name, 'value');
      const { start, end } = this.keyGroups;
      state = new HeapValueState(this, start, end - start + 1, options.ttl === true ? this.options.ttlMs : 0, options.encode);
      this.states.set(name, state);
      for (const [g, entries] of this.restored.takeValues(name) ?? []) state.restore(g, entries, options.migrate);
      if (this.tracking) state.trackChanges();
    }
    return state as unknown as ValueState<K, V>;
  }

  advanceTime(now: number): void {
    this.now = now;
    for (const s of this.states.values()) s.cleanUp(CLEANUP_PER_ADVANCE);
    for (const s of this.expiring) {
      const dropped = s.expire!(now - this.options.ttlMs, CLEANUP_PER_ADVANCE);
      if (dropped > 0) this.expired(dropped);
    }
  }

  reserve(bytes: number): void {
    if (heapHasRoomFor(bytes)) return;
    const use = { used: liveHeapAfterGc(), limit: heapUse().limit };
    throw heapExhaustedError(use, [{ operator: this.options.label, keys: this.keyCount() }], 'hashmap', bytes);
  }

  keyCount(): number {
    let n = 0;
    for (const s of this.states.values()) n += s.size;
    for (const s of this.structures.values()) n += s.size;
    return n;
  }

  /**
   * Asynchronous: at the barrier only the structures' entries are taken (they change in place);
   * the value states' key groups are serialized by a background drain, copy on write keeping them
   * as of now (heap-snapshot.ts). A snapshot still in flight is finished first, synchronously.
   * A plain result (acknowledged at once) when no value state has entries to write.
   */
  snapshot(options: { readonly incremental?: boolean } = {}): KeyedStateSnapshot | HeapSnapshotResult {
    this.inFlight?.finishAll();
    const incremental = this.policy.incremental(options.incremental, this.tracking);
    const barrier = this.barrierEntries(incremental);
    for (const s of this.states.values()) s.beginSnapshot(incremental);
    if (this.options.incremental === true && !this.tracking) {
      this.tracking = true;
      for (const s of this.states.values()) s.trackChanges();
    }
    const { start, end } = this.keyGroups;
    const job = new HeapSnapshot(start, end - start + 1, incremental, [...this.states], barrier, (bytes) => this.policy.record(incremental, bytes));
    // No value state had entries to write: a plain result, acknowledged at once as before.
    const done = job.written;
    if (done !== undefined) return done;
    // Held until written, not longer: its result (the sections) is the caller's.
    this.inFlight = job;
    const written = (): void => {
      if (this.inFlight === job) this.inFlight = null;
    };
    void job.promise.then(written, written);
    return job.view();
  }

  settleSnapshot(g: number): void {
    this.inFlight?.settle(g);
  }

  /**
   * Every state's entries (whole) or what changed since the previous snapshot, by key group
   * (- start), taken synchronously (the rocksdb backend's inner heap backend, which holds only
   * structures, serializes them at its barrier).
   */
  collect(incremental: boolean): Map<number, SectionEntry[]> {
    this.inFlight?.finishAll();
    const { head, tail } = this.barrierEntries(incremental, false);
    for (const s of this.states.values()) s.beginSnapshot(incremental);
    const states = [...this.states];
    const out = new Map<number, SectionEntry[]>();
    const { start, end } = this.keyGroups;
    for (let g = 0; g <= end - start; g++) {
      const entries = groupEntries(g, head.get(g), states, tail.get(g));
      if (entries.length > 0) out.set(g, entries);
    }
    return out;
  }

  /**
   * What a snapshot takes at the barrier, by key group (- start): the structures' entries, whole or
   * their changes; for a whole one also restored entries of states not declared (yet), which stay in
   * the snapshot.
   */
  private barrierEntries(incremental: boolean, freeze = true): BarrierEntries {
    const lazy = new Map<number, LazyEntry[]>();
    const prepare: ((deadline: number) => boolean)[] = [];
    const frozen = freeze ? { lazy, prepare } : null;
    const head = incremental ? this.structureChanges(frozen) : this.wholeStructures(frozen);
    const tail = new Map<number, SectionEntry[]>();
    if (!incremental) {
      const { start, end } = this.keyGroups;
      for (let g = 0; g <= end - start; g++) {
        const kept = this.restored.entriesOf(g);
        if (kept.length > 0) tail.set(g, kept);
      }
    }
    return { head, lazy, prepare, tail };
  }

  /**
   * A structure that can freeze (keyed-aggregate's slot table) goes into `frozen`, to be prepared
   * and packed by the drain: true. Otherwise (or with `frozen` null) the caller takes its data now.
   */
  private frozeInto(frozen: FrozenParts | null, name: string, s: KeyGroupedStructure, changes: boolean): boolean {
    if (frozen === null || s.freezeKeyGroups === undefined || s.snapshotKeyGroupChanges === undefined) return false;
    const { start, end } = this.keyGroups;
    const lazy = frozen.lazy;
    const f = s.freezeKeyGroups(changes);
    frozen.prepare.push((deadline) => f.prepare(deadline));
    for (const [kg, pack, step] of f.keyGroups) {
      if (kg < start || kg > end) throw this.foreignKey(kg);
      let list = lazy.get(kg - start);
      if (list === undefined) lazy.set(kg - start, (list = []));
      list.push([name, pack, changes, step]);
    }
    return true;
  }

  private structureData(name: string, s: KeyGroupedStructure, into: Map<number, SectionEntry[]>): Set<number> {
    const { start, end } = this.keyGroups;
    const groups = new Set<number>();
    for (const [kg, data] of s.snapshotKeyGroups()) {
      if (kg < start || kg > end) throw this.foreignKey(kg);
      groups.add(kg - start);
      entriesOf(into, kg - start).push([name, null, data]);
    }
    return groups;
  }

  private wholeStructures(frozen: FrozenParts | null): Map<number, SectionEntry[]> {
    const out = new Map<number, SectionEntry[]>();
    for (const [name, s] of this.structures) {
      if (this.frozeInto(frozen, name, s, false)) continue;
      const groups = this.structureData(name, s, out);
      if (s.snapshotKeyGroupChanges === undefined) this.wholeGroups.set(name, groups);
    }
    return out;
  }

  private structureChanges(frozen: FrozenParts | null): Map<number, SectionEntry[]> {
    const out = new Map<number, SectionEntry[]>();
    const { start, end } = this.keyGroups;
    for (const [name, s] of this.structures) {
      if (this.frozeInto(frozen, name, s, true)) continue;
      if (s.snapshotKeyGroupChanges !== undefined) {
        for (const [kg, changes] of s.snapshotKeyGroupChanges()) {
          if (kg < start || kg > end) throw this.foreignKey(kg);
          entriesOf(out, kg - start).push([name, null, changes, 'c']);
        }
        continue;
      }
      // No change tracking: its key groups whole, and an end marker where it no longer has any.
      const before = this.wholeGroups.get(name) ?? new Set<number>();
      const now = this.structureData(name, s, out);
      for (const g of before) if (!now.has(g)) entriesOf(out, g).push([name, null, null, 'e']);
      this.wholeGroups.set(name, now);
    }
    return out;
  }
}

/** Where structures frozen at a barrier go: their key groups' pack functions, their prepare steps. */
interface FrozenParts {
  readonly lazy: Map<number, LazyEntry[]>;
  readonly prepare: ((deadline: number) => boolean)[];
}
