/**
 * `state.backend.type = 'hashmap'`: keyed state in the V8 heap, one Map per state and key group.
 *
 * Snapshots serialize each key group's entries (of every state) into one section with V8's
 * structured clone; a restore deserializes only the sections it is given (the runtime hands it the
 * key groups the subtask owns). State TTL follows Flink's defaults: a write starts a key's time to
 * live, an expired value is never returned, and expired keys are cleaned up a bounded number at a
 * time as processing time advances (Flink's incremental cleanup), so no pass over all keys ever
 * blocks the task. A restore starts every key's time to live afresh: the time a job was down is
 * not idle time.
 */
import { internalError } from '../errors.js';
import { type KeyGroupRange, keyGroupOf } from '../model/partition.js';
import type { KeyGroupSection, KeyGroupedStructure, KeyedStateBackend, KeyedStateSnapshot, ValueState, ValueStateOptions } from './state-backend.js';
import { heapExhaustedError, heapHasRoomFor, heapUse, liveHeapAfterGc } from './heap-room.js';
import { packColumn, type PackedColumn, unpackColumn } from './columns.js';
import { deserializeState, serializeState } from './serde.js';

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
}

/**
 * A section: [key group, per state [name, entries]]: a value state's entries are its keys and its
 * values as packed columns (src/state/columns.ts: numbers and rows of numbers become typed
 * arrays), a registered structure's are [null, its data for the key group].
 */
type SectionEntry = [string, { readonly n: number; readonly k: PackedColumn; readonly v: PackedColumn }] | [string, null, unknown];
type SectionV1 = [number, SectionEntry[]];

function packed(name: string, keys: readonly unknown[], values: readonly unknown[]): SectionEntry {
  return [name, { n: keys.length, k: packColumn(keys, keys.length), v: packColumn(values, values.length) }];
}

/** Entries examined per advanceTime for expiry: bounded work per batch. */
const CLEANUP_PER_ADVANCE = 256;

class HeapValueState<K, V> implements ValueState<K, V> {
  /** By key group - start. */
  readonly groups: Map<K, V>[];
  /** Last write per key, by key group - start (only with a TTL). */
  readonly written: Map<K, number>[] | null;
  private count = 0;
  /** Incremental cleanup position: a key group and a live iterator over its write times. */
  private cursorGroup = 0;
  private cursor: Iterator<[K, number]> | null = null;

  constructor(
    private readonly backend: HeapKeyedStateBackend,
    private readonly start: number,
    groups: number,
    private readonly ttlMs: number,
  ) {
    this.groups = Array.from({ length: groups }, () => new Map<K, V>());
    this.written = ttlMs > 0 ? Array.from({ length: groups }, () => new Map<K, number>()) : null;
  }

  private group(hash: number): number {
    const g = keyGroupOf(hash) - this.start;
    if (g < 0 || g >= this.groups.length) throw this.backend.foreignKey(keyGroupOf(hash));
    return g;
  }

  get size(): number {
    return this.count;
  }

  get(key: K, hash: number): V | undefined {
    const g = this.group(hash);
    const v = this.groups[g].get(key);
    if (v === undefined || this.written === null) return v;
    if (this.backend.now - this.written[g].get(key)! < this.ttlMs) return v;
    this.remove(g, key);
    this.backend.expired(1);
    return undefined;
  }

  put(key: K, hash: number, value: V): void {
    const g = this.group(hash);
    const map = this.groups[g];
    const before = map.size;
    map.set(key, value);
    this.count += map.size - before;
    if (this.written !== null) this.written[g].set(key, this.backend.now);
  }

  delete(key: K, hash: number): void {
    this.remove(this.group(hash), key);
  }

  private remove(g: number, key: K): void {
    if (this.groups[g].delete(key)) this.count--;
    if (this.written !== null) this.written[g].delete(key);
  }

  forEach(fn: (value: V, key: K) => void): void {
    const now = this.backend.now;
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
    const now = this.backend.now;
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
    if (dropped > 0) this.backend.expired(dropped);
  }

  /** Adds restored entries of one key group. */
  restore(g: number, keys: readonly unknown[], values: readonly unknown[], migrate: ((v: unknown) => unknown) | undefined): void {
    const map = this.groups[g];
    const written = this.written?.[g];
    const now = this.backend.now;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as K;
      if (!map.has(k)) this.count++;
      map.set(k, (migrate === undefined ? values[i] : migrate(values[i])) as V);
      written?.set(k, now);
    }
  }
}

export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroups: KeyGroupRange;
  now: number;
  private readonly states = new Map<string, HeapValueState<unknown, unknown>>();
  private readonly structures = new Map<string, KeyGroupedStructure>();
  /** Registered structures whose keys expire with the state TTL. */
  private readonly expiring: KeyGroupedStructure[] = [];
  /** Restored entries by state name (by key group - start), until the operator declares the state. */
  private readonly pending = new Map<string, [number, unknown[] | null, unknown][]>();

  constructor(private readonly options: HeapBackendOptions) {
    this.keyGroups = options.keyGroups;
    this.now = Date.now();
    for (const bytes of options.restored) this.addSection(bytes);
  }

  private addSection(bytes: Uint8Array): void {
    const [keyGroup, states] = deserializeState<SectionV1>(bytes);
    const { start, end } = this.keyGroups;
    if (!(keyGroup >= start && keyGroup <= end)) throw this.foreignKey(keyGroup);
    for (const entry of states) {
      const name = entry[0];
      let list = this.pending.get(name);
      if (list === undefined) this.pending.set(name, (list = []));
      if (entry[1] === null) list.push([keyGroup - start, null, entry[2]]);
      else {
        const { n, k, v } = entry[1];
        list.push([keyGroup - start, unpackColumn(k, n) as unknown[], unpackColumn(v, n) as unknown[]]);
      }
    }
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
    for (const [g, keys, data] of this.pending.get(name) ?? []) {
      if (keys !== null) throw internalError(`${this.options.label}: restored state '${name}' is a value state, not a structure`);
      structure.restoreKeyGroup(this.keyGroups.start + g, data);
    }
    this.pending.delete(name);
  }

  valueState<K, V>(name: string, options: ValueStateOptions = {}): ValueState<K, V> {
    let state = this.states.get(name);
    if (state === undefined) {
      this.declared(name, 'value');
      const { start, end } = this.keyGroups;
      state = new HeapValueState(this, start, end - start + 1, options.ttl === true ? this.options.ttlMs : 0);
      this.states.set(name, state);
      for (const [g, keys, values] of this.pending.get(name) ?? []) {
        if (keys === null) throw internalError(`${this.options.label}: restored state '${name}' is a structure, not a value state`);
        state.restore(g, keys, values as unknown[], options.migrate);
      }
      this.pending.delete(name);
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

  snapshot(): KeyedStateSnapshot {
    const sections: KeyGroupSection[] = [];
    const { start, end } = this.keyGroups;
    const structured: [string, Map<number, unknown>][] = [];
    for (const [name, s] of this.structures) {
      const byGroup = new Map<number, unknown>();
      for (const [kg, data] of s.snapshotKeyGroups()) {
        if (kg < start || kg > end) throw this.foreignKey(kg);
        byGroup.set(kg - start, data);
      }
      structured.push([name, byGroup]);
    }
    for (let g = 0; g <= end - start; g++) {
      const states: SectionV1[1] = [];
      for (const [name, s] of this.states) {
        const map = s.groups[g];
        if (map.size > 0) states.push(packed(name, [...map.keys()], [...map.values()]));
      }
      for (const [name, byGroup] of structured) if (byGroup.has(g)) states.push([name, null, byGroup.get(g)]);
      // Restored entries of a state the operator has not declared (yet) stay in the snapshot.
      for (const [name, list] of this.pending) {
        for (const [pg, keys, values] of list) if (pg === g) states.push(keys === null ? [name, null, values] : packed(name, keys, values as unknown[]));
      }
      if (states.length > 0) sections.push({ keyGroup: start + g, bytes: serializeState([start + g, states] satisfies SectionV1) });
    }
    return { sections };
  }
}
