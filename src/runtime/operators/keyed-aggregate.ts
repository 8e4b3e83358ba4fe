/**
 * Keyed (group) aggregation over a changelog, as Flink's GroupAggregate with mini-batch output.
 *
 * State: one group per key holding the group values, the number of live input rows and one
 * accumulator per aggregate call. +I/+U rows accumulate, -U/-D rows retract. Per input batch the
 * operator remembers which groups it touched and, after the batch, emits per touched group:
 *   first result +I; changed result -U(old) then +U(new); row count back to 0 -D(old) and the group
 *   is dropped; unchanged result nothing.
 * Output rows are the group columns followed by one column per aggregate call.
 *
 * Groups live in slots: an index from key to slot (int32 keys in an Int32SlotIndex, others in a
 * Map) and the group's data in a row-major table: count and flags side by side in one Float64Array,
 * key values and accumulators side by side in one array. A row touches a few adjacent memory
 * locations instead of one object (or array) per group and aggregate, there are almost no
 * per-group objects for the GC, and a snapshot is a sequential pass that packs each field into a
 * typed array where it can (see src/state/columns.ts).
 *
 * When the aggregates are the insert-only variants (the planner resolves those for insert-only
 * input), a -U/-D row is a planner bug and fails with an internal error.
 *
 * The table is the operator's keyed state under the state layer's contract (a KeyGroupedStructure
 * registered with ctx.state): a snapshot buckets the live groups by key group and packs each
 * bucket's columns (keyed-aggregate-state.ts), so a restore with any parallelism gets exactly the
 * key groups the subtask owns.
 */
import type { AggregateFunction } from '../../expr/aggregates.js';
import type { BoundExpr } from '../../expr/bound.js';
import { type AggregateInputs, applyRow, batchInputs, compileAggregateInputs } from '../../expr/aggregate-inputs.js';
import { Int32SlotIndex } from '../../state/int-slot-index.js';
import { rowMapKey, valuesMapKey } from '../../state/key-part.js';
import { deserializeState } from '../../state/serde.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import {
  accConverters,
  deletedKeys,
  type GroupChanges,
  type Groups,
  type GroupsV2,
  type GroupTable,
  unpackGroups,
  resultChanged,
} from './keyed-aggregate-state.js';
import { GroupChangeLog } from './keyed-aggregate-changes.js';
import { FrozenGroups, packNow } from './keyed-aggregate-frozen.js';
import type { FrozenKeyGroups, KeyGroupedStructure, KeyedStateBackend } from '../../state/state-backend.js';

/** One aggregate call as the operator runs it. */
export interface AggregateSpec {
  readonly fn: AggregateFunction<unknown>;
  /** Evaluated on the input row; the first argument's value is accumulated. Empty for COUNT(*). */
  readonly args: readonly BoundExpr[];
  /** FILTER (WHERE ...): the row is accumulated/retracted only when it is TRUE. */
  readonly filter?: BoundExpr;
}

export interface KeyedAggregateConfig {
  /** Input column indexes of the group key (empty: one global group). */
  readonly groupKeys: readonly number[];
  readonly aggs: readonly AggregateSpec[];
}

const NO_KEYS: readonly unknown[] = [];
const INITIAL_SLOTS = 1024;
/**
 * flags bit: a result row for the group is live downstream. Between batches its values are what
 * getValue gives for the group's accumulators, which is how `before` recovers them.
 */
const EMITTED = 1;
/** flags bit: the group is in `touched` (changed by the current batch). 4 is CHANGED (keyed-aggregate-changes.ts). */
const TOUCHED = 2;

export class KeyedAggregateOperator implements Operator, KeyGroupedStructure {
  private readonly groupKeys: readonly number[];
  private readonly fns: AggregateFunction<unknown>[];
  private readonly retractable: readonly boolean[];
  /** Some aggregate is an insert-only variant: the input must never retract. */
  private readonly insertOnly: boolean;
  private output!: Output;
  private metrics!: OperatorMetrics;
  private state!: KeyedStateBackend;
  /** With the state TTL: per slot, when a row last changed the group (processing time). */
  private written: Float64Array | null = null;
  private expireCursor = 0;
  private builder!: BatchBuilder;
  private readonly tmp: unknown[];
  private inputs!: AggregateInputs;
  /** The single key column when the key value itself can be the map key, else -1. */
  private singleKey = -1;

  // The group table. A slot is live while its group is indexed; between batches exactly the slots
  // with a count > 0 are live. Map keys that are int32 numbers are in `intIndex`, all others in
  // `index`.
  private readonly index = new Map<unknown, number>();
  private readonly intIndex = new Int32SlotIndex();
  /** Slots ever allocated; freed ones are reused from `freeSlots`. */
  private slotCount = 0;
  private readonly freeSlots: number[] = [];
  private hashes = new Uint32Array(INITIAL_SLOTS);
  /** Per slot: [2 * slot] the group's live input rows, [2 * slot + 1] its flags. */
  private meta = new Float64Array(INITIAL_SLOTS * 2);
  /** `width` values per slot: the group's key values, then one accumulator per aggregate. */
  private readonly data: unknown[] = [];
  private readonly width: number;
  /** Slots changed by the current batch, in first-touch order. */
  private readonly touched: number[] = [];
  /**
   * Per touched slot (same order), `m` values: the group's live result before the batch (when
   * EMITTED). Captured at first touch, so no per-group copy of the emitted row is kept.
   */
  private readonly before: unknown[] = [];
  /** What changed since the previous snapshot (for incremental checkpoints). */
  private readonly changes = new GroupChangeLog();
  /** Key groups restoreKeyGroup has restored; whether groups came in any other way (restoreGroups). */
  private readonly restoredKeyGroups = new Set<number>();
  private restoredOther = false;
  /** The snapshot still being packed (freezeKeyGroups), whose slots are kept by copy on write. */
  private frozen: FrozenGroups | null = null;

  constructor(readonly config: KeyedAggregateConfig) {
    this.groupKeys = config.groupKeys;
    this.fns = config.aggs.map((a) => a.fn);
    this.retractable = this.fns.map((f) => f.retractable);
    this.insertOnly = this.fns.some((f) => !f.retractable);
    this.tmp = new Array(config.aggs.length);
    this.width = config.groupKeys.length + config.aggs.length;
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    this.state = ctx.state;
    this.builder = new BatchBuilder(this.width);
    const keyTypes = this.groupKeys.map((k) => ctx.inputSchemas[0]?.fields[k]?.type.kind);
    if (this.groupKeys.length === 1 && keyTypes[0] !== 'BYTES') this.singleKey = this.groupKeys[0];
    this.inputs = compileAggregateInputs(this.config.aggs);
    for (const bytes of ctx.restoredState) this.restoreLegacy(bytes, ctx.subtaskIndex, ctx.parallelism);
    if (ctx.state.ttlMs > 0) this.written = new Float64Array(this.hashes.length).fill(ctx.state.processingTime());
    ctx.state.registerStructure('groups', this, { ttl: true });
  }

  /** The index key of a group from its key values at data[base ...]: what `process` computes from its row. */
  private mapKeyAt(data: ArrayLike<unknown>, base: number): unknown {
    return this.singleKey >= 0 ? data[base] : valuesMapKey(data, base, this.groupKeys.length);
  }

  /**
   * Room for `adding` more groups without growing again (a restore knows how many it adds), in
   * the int index too when their keys are int32 numbers (`intKeys`, judged by the first).
   */
  private reserveSlots(adding: number, intKeys: boolean): void {
    let capacity = this.hashes.length;
    while (capacity < this.slotCount + adding) capacity *= 2;
    if (capacity > this.hashes.length) this.growTo(capacity);
    if (intKeys) this.intIndex.reserve(this.intIndex.size + adding);
  }

  private growTo(capacity: number): void {
    // The group table at `capacity` slots: the key and accumulator values (8 bytes each) dominate.
    this.state.reserve(8 * this.width * capacity);
    const hashes = new Uint32Array(capacity);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const meta = new Float64Array(capacity * 2);
    meta.set(this.meta);
    this.meta = meta;
    if (this.written !== null) {
      const written = new Float64Array(capacity).fill(this.state.processingTime());
      written.set(this.written);
      this.written = written;
    }
  }

  /**
   * KeyGroupedStructure, with table.exec.state.ttl: frees groups last written at or before
   * `cutoff`, silently (Flink's state TTL: a key that comes back starts a new group, +I).
   */
  expire(cutoff: number, budget: number): number {
    const written = this.written;
    if (written === null || this.groupCount === 0) return 0;
    let dropped = 0;
    for (let seen = 0; seen < budget && seen < this.slotCount; seen++) {
      const slot = this.expireCursor;
      this.expireCursor = (slot + 1) % this.slotCount;
      if (this.meta[2 * slot] > 0 && written[slot] <= cutoff) {
        this.freeSlot(slot);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * A slot for a new group: key values from row `row` of `cols` (or from `keyRow` when cols is
   * null, a restore, which sets the accumulators itself: they are left null), fresh accumulators,
   * count 0, no flags.
   */
  private allocSlot(mapKey: unknown, hash: number, cols: readonly unknown[][] | null, row: number, keyRow: readonly unknown[]): number {
    const fns = this.fns;
    const m = fns.length;
    const groupKeys = this.groupKeys;
    const g = groupKeys.length;
    const data = this.data;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotCount++;
      if (slot === this.hashes.length) this.growTo(2 * this.hashes.length);
      for (let k = 0; k < g; k++) data.push(cols !== null ? cols[groupKeys[k]][row] : keyRow[k]);
      for (let j = 0; j < m; j++) data.push(cols !== null ? fns[j].create() : null);
    } else {
      // A slot free at the barrier of a snapshot still being packed: it must not be taken for live.
      this.frozen?.keep(slot);
      const base = slot * this.width;
      for (let k = 0; k < g; k++) data[base + k] = cols !== null ? cols[groupKeys[k]][row] : keyRow[k];
      for (let j = 0; j < m; j++) data[base + g + j] = cols !== null ? fns[j].create() : null;
    }
    this.hashes[slot] = hash;
    this.meta[2 * slot] = 0;
    this.meta[2 * slot + 1] = 0;
    if (typeof mapKey === 'number' && (mapKey | 0) === mapKey) this.intIndex.add(mapKey, slot);
    else this.index.set(mapKey, slot);
    return slot;
  }

  /** An expired group found by a row: fresh accumulators, no result downstream (its next one is +I). */
  private dropExpired(slot: number): void {
    const base = slot * this.width + this.groupKeys.length;
    for (let j = 0; j < this.fns.length; j++) this.data[base + j] = this.fns[j].create();
    this.meta[2 * slot] = 0;
    this.meta[2 * slot + 1] = 0;
    this.metrics.inc('state-keys-expired');
  }

  /** Drops the group in `slot`; `record`: as a change (not when applying restored changes). */
  private freeSlot(slot: number, record = true): void {
    this.frozen?.keep(slot);
    const base = slot * this.width;
    const data = this.data;
    if (record && this.changes.recording) this.changes.removed(this.hashes[slot], data, base, this.groupKeys.length);
    const mapKey = this.mapKeyAt(data, base);
    if (typeof mapKey === 'number' && (mapKey | 0) === mapKey) this.intIndex.delete(mapKey);
    else this.index.delete(mapKey);
    this.meta[2 * slot] = 0;
    this.meta[2 * slot + 1] = 0;
    // Let object accumulators (multisets, sets) be collected.
    for (let i = base + this.groupKeys.length; i < base + this.width; i++) {
      const a = data[i];
      if (typeof a === 'object' && a !== null) data[i] = null;
    }
    this.freeSlots.push(slot);
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    if (n === 0) return;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const touched = this.touched;
    const before = this.before;
    const fns = this.fns;
    const m = fns.length;
    const groupKeys = this.groupKeys;
    const g = groupKeys.length;
    const width = this.width;
    const data = this.data;
    const insertOnly = this.insertOnly;
    const singleCol = this.singleKey >= 0 ? cols[this.singleKey] : null;
    const inputs = batchInputs(this.inputs, cols);
    // Reloaded after allocSlot, which may replace it with a larger array.
    let meta = this.meta;
    const now = this.state.processingTime();
    const cutoff = this.written === null ? Number.NEGATIVE_INFINITY : now - this.state.ttlMs;

    for (let row = 0; row < n; row++) {
      const mapKey = singleCol !== null ? singleCol[row] : rowMapKey(cols, row, groupKeys);
      const kind = kinds[row];
      const accumulate = kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER;
      if (!accumulate && insertOnly) {
        throw internalError('keyed aggregate: a retraction (-U/-D) reached aggregates resolved for insert-only input');
      }
      let slot = this.slotOf(mapKey);
      if (slot >= 0 && this.frozen !== null) this.frozen.keep(slot);
      if (slot < 0) {
        if (!accumulate) {
          this.metrics.inc('retractions-of-unknown-keys');
          continue;
        }
        slot = this.allocSlot(mapKey, hashRow(cols, row, groupKeys), cols, row, NO_KEYS);
        meta = this.meta;
      } else if (this.written !== null && meta[2 * slot] > 0 && this.written[slot] <= cutoff && (meta[2 * slot + 1] & TOUCHED) === 0) {
        // Expired, not cleaned up yet: never read (as Flink's NeverReturnExpired).
        this.dropExpired(slot);
        if (!accumulate) {
          this.freeSlot(slot);
          this.metrics.inc('retractions-of-unknown-keys');
          continue;
        }
      } else if (!accumulate && meta[2 * slot] === 0) {
        this.metrics.inc('retractions-of-unknown-keys');
        continue;
      }
      if (this.written !== null) this.written[slot] = now;
      const accBase = slot * width + g;
      const f = meta[2 * slot + 1];
      if ((f & TOUCHED) === 0) {
        meta[2 * slot + 1] = f | TOUCHED;
        touched.push(slot);
        if ((f & EMITTED) !== 0) for (let j = 0; j < m; j++) before.push(fns[j].getValue(data[accBase + j]));
        else for (let j = 0; j < m; j++) before.push(null);
      }
      if (accumulate) meta[2 * slot]++;
      else if (--meta[2 * slot] === 0) {
        // Every row of the group is retracted: start from fresh accumulators.
        for (let j = 0; j < m; j++) data[accBase + j] = fns[j].create();
        continue;
      }
      applyRow(fns, inputs, cols, row, data, accBase, accumulate);
    }
    this.flush();
  }

  /** One output row: the group's key values, then m values from `values` at `at`. */
  private emitRow(kind: RowKind, slot: number, values: readonly unknown[], at: number): void {
    const b = this.builder;
    b.startRow(kind);
    const data = this.data;
    const base = slot * this.width;
    const g = this.groupKeys.length;
    for (let k = 0; k < g; k++) b.set(k, data[base + k]);
    const m = this.fns.length;
    for (let j = 0; j < m; j++) b.set(g + j, values[at + j]);
  }

  private flush(): void {
    const touched = this.touched;
    const before = this.before;
    const fns = this.fns;
    const m = fns.length;
    const tmp = this.tmp;
    const meta = this.meta;
    const data = this.data;
    const width = this.width;
    const g = this.groupKeys.length;
    for (let i = 0; i < touched.length; i++) {
      const slot = touched[i];
      const f = meta[2 * slot + 1] & ~TOUCHED;
      meta[2 * slot + 1] = f;
      const at = i * m;
      if (meta[2 * slot] === 0) {
        if ((f & EMITTED) !== 0) this.emitRow(RowKind.DELETE, slot, before, at);
        this.freeSlot(slot);
        continue;
      }
      if (this.changes.recording) this.changes.changedSlot(meta, this.hashes, slot);
      const accBase = slot * width + g;
      for (let j = 0; j < m; j++) tmp[j] = fns[j].getValue(data[accBase + j]);
      if ((f & EMITTED) === 0) {
        meta[2 * slot + 1] |= EMITTED;
        this.emitRow(RowKind.INSERT, slot, tmp, 0);
        continue;
      }
      if (!resultChanged(before, at, tmp, m)) continue;
      this.emitRow(RowKind.UPDATE_BEFORE, slot, before, at);
      this.emitRow(RowKind.UPDATE_AFTER, slot, tmp, 0);
    }
    touched.length = 0;
    before.length = 0;
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  private table(): GroupTable {
    return { hashes: this.hashes, meta: this.meta, data: this.data, width: this.width, keyCount: this.groupKeys.length, retractable: this.retractable };
  }

  /** KeyGroupedStructure: the live groups, bucketed by key group. Starts the next change set. */
  snapshotKeyGroups(): Iterable<readonly [number, unknown]> {
    return packNow(this.freezeKeyGroups(false));
  }

  /** KeyGroupedStructure: one key group's groups, as snapshotKeyGroups gave them. */
  restoreKeyGroup(keyGroup: number, data: unknown): void {
    const groups = unpackGroups(data as GroupsV2, this.groupKeys.length, this.fns.length);
    // The first groups of their key group, and only key groups restored so far: none is held (fresh).
    this.mergeGroups(groups, null, !this.restoredOther && !this.restoredKeyGroups.has(keyGroup));
    this.restoredKeyGroups.add(keyGroup);
  }

  /** KeyGroupedStructure, for incremental checkpoints: GroupChanges per changed key group (keyed-aggregate-changes.ts). */
  snapshotKeyGroupChanges(): Iterable<readonly [number, unknown]> {
    return packNow(this.freezeKeyGroups(true));
  }

  /** KeyGroupedStructure, asynchronous snapshots: the slots now, packed per key group later (keyed-aggregate-frozen.ts). */
  freezeKeyGroups(changes: boolean): FrozenKeyGroups {
    const capture = this.changes.freeze(this.groupKeys.length, changes);
    const frozen = new FrozenGroups(
      capture,
      this.slotCount,
      () => this.table(),
      this.state.keyGroups,
      changes,
      () => {
        if (this.frozen === frozen) this.frozen = null;
      },
    );
    this.frozen = frozen.finished ? null : frozen;
    return frozen;
  }

  /** KeyGroupedStructure: GroupChanges on top of the restored groups; not themselves changes. */
  applyKeyGroupChanges(keyGroup: number, changes: unknown): void {
    const { puts, deletes } = changes as GroupChanges;
    for (const keyRow of deletedKeys(deletes, this.groupKeys.length)) {
      const slot = this.slotOf(this.mapKeyAt(keyRow, 0));
      if (slot >= 0) this.freeSlot(slot, false);
    }
    if (puts !== null) this.mergeGroups(unpackGroups(puts, this.groupKeys.length, this.fns.length), null);
    this.restoredKeyGroups.add(keyGroup);
  }

  /** The slot of the group with index key `mapKey`, -1 if none. */
  private slotOf(mapKey: unknown): number {
    if (typeof mapKey === 'number' && (mapKey | 0) === mapKey) return this.intIndex.get(mapKey);
    return this.index.get(mapKey) ?? -1;
  }

  /** A checkpoint of an earlier weir: one snapshot per old subtask, keeping this subtask's groups. */
  private restoreLegacy(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const groups = unpackGroups(deserializeState<GroupsV2>(bytes), this.groupKeys.length, this.fns.length);
    this.restoreGroups(groups, (hash) => subtaskOfHash(hash, parallelism) === subtask);
  }

  /** Restored groups (`keep`: which of them this subtask holds; null: all), also from value state `group` (keyed-aggregate-select.ts). */
  restoreGroups(groups: Groups, keep: ((hash: number) => boolean) | null): void {
    this.restoredOther = true;
    this.mergeGroups(groups, keep);
  }

  /**
   * Restored groups into the table: a group it holds already is overwritten; `fresh`: it holds
   * none of them, so they go to new slots without a lookup each (most of a large restore's time).
   */
  private mergeGroups({ n, hashes, counts, keys, accs, retractable }: Groups, keep: ((hash: number) => boolean) | null, fresh = false): void {
    const fns = this.fns;
    const m = fns.length;
    const g = this.groupKeys.length;
    const convert = accConverters(fns, retractable);
    const keyRow: unknown[] = new Array(g);
    if (n > 0) {
      for (let k = 0; k < g; k++) keyRow[k] = keys[k][0];
      const first = this.mapKeyAt(keyRow, 0);
      this.reserveSlots(n, typeof first === 'number' && (first | 0) === first);
    }
    for (let i = 0; i < n; i++) {
      if (keep !== null && !keep(hashes[i])) continue;
      for (let k = 0; k < g; k++) keyRow[k] = keys[k][i];
      const mapKey = this.mapKeyAt(keyRow, 0);
      const held = fresh ? -1 : this.slotOf(mapKey); // a group already held: a restored change set overwrites it
      const slot = held >= 0 ? held : this.allocSlot(mapKey, hashes[i], null, 0, keyRow);
      const accBase = slot * this.width + g;
      for (let j = 0; j < m; j++) {
        const c = convert[j];
        this.data[accBase + j] = c === null ? accs[j][i] : c(accs[j][i]);
      }
      this.meta[2 * slot] = counts[i];
      // Snapshots are taken between batches, when every live group's result has been emitted.
      this.meta[2 * slot + 1] = EMITTED;
    }
  }

  /** Number of live groups (KeyGroupedStructure). */
  get size(): number {
    return this.groupCount;
  }

  /** Number of live groups (for tests and metrics). */
  get groupCount(): number {
    return this.index.size + this.intIndex.size;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
