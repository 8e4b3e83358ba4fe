/**
 * Keyed (group) aggregation with its groups in a value state, for a state backend that keeps
 * state on disk (`state.backend.type = 'rocksdb'`): the same operator as KeyedAggregateOperator
 * (keyed-aggregate.ts, the heap backend's slot table), row for row, but a group is one entry of
 * value state `group`, so the number of groups is bounded by the disk, not the heap.
 *
 * A group's value is `[hash, count, variant, key values..., accumulators...]`. Per input batch the task
 * has `prefetch` announce the batch's keys (one batched read), then `process` reads each touched
 * group once, changes it in place, and puts it back once after the batch; the backend writes what
 * changed in batches and keeps a bounded cache. Every group held has a live result downstream
 * (snapshots are taken between batches), so unlike the slot table it needs no flags.
 *
 * Checkpoints stay portable between the backends: a checkpoint of the slot table (structure
 * `groups`) restores into this operator through a converting structure registered under the same
 * name, and the slot table reads a checkpoint of this operator from value state `group`
 * (keyed-aggregate-select.ts).
 */
import type { AggregateFunction } from '../../expr/aggregates.js';
import { type AggregateInputs, applyRow, batchInputs, compileAggregateInputs } from '../../expr/aggregate-inputs.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { rowMapKey, valuesMapKey } from '../../state/key-part.js';
import { deserializeState } from '../../state/serde.js';
import type { KeyGroupedStructure, ValueState } from '../../state/state-backend.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import type { KeyedAggregateConfig } from './keyed-aggregate.js';
import { accConverters, deletedKeys, type GroupChanges, type Groups, type GroupsV2, unpackGroups, resultChanged } from './keyed-aggregate-state.js';

/** The value state's name; the slot table's structure is `groups`. */
export const GROUP_STATE = 'group';
export const HASH = 0;
export const COUNT = 1;
/** Per aggregate call '1' (the retractable variant's accumulator) or '0': what the accumulators are. */
export const VARIANT = 2;
/** Where the key values start in a group's value. */
export const KEYS = 3;

export class DiskKeyedAggregateOperator implements Operator {
  private readonly groupKeys: readonly number[];
  private readonly fns: AggregateFunction<unknown>[];
  private readonly insertOnly: boolean;
  private output!: Output;
  private metrics!: OperatorMetrics;
  private groups!: ValueState<unknown, unknown[]>;
  private builder!: BatchBuilder;
  private inputs!: AggregateInputs;
  /** The batch `prefetch` saw, and its rows' keys and hashes (process reuses them). */
  private prefetched: ChangeBatch | null = null;
  private readonly keys: unknown[] = [];
  private readonly hashes: number[] = [];
  // Per batch: the groups it touched (first-touch order), by index key, and what they were.
  private readonly touchedAt = new Map<unknown, number>();
  private readonly touched: unknown[][] = [];
  private readonly touchedKeys: unknown[] = [];
  /** Per touched group: 1 when it was held (its result is live downstream) before the batch. */
  private readonly held: number[] = [];
  /** Per touched group, `m` values: its live result before the batch (when held). */
  private readonly before: unknown[] = [];
  private readonly tmp: unknown[];
  /** VARIANT of this operator's accumulators. */
  private readonly variant: string;

  constructor(readonly config: KeyedAggregateConfig) {
    this.groupKeys = config.groupKeys;
    this.fns = config.aggs.map((a) => a.fn);
    this.insertOnly = this.fns.some((f) => !f.retractable);
    this.tmp = new Array(config.aggs.length);
    this.variant = variantOf(this.fns.map((f) => f.retractable));
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    this.builder = new BatchBuilder(this.groupKeys.length + this.fns.length);
    this.inputs = compileAggregateInputs(this.config.aggs);
    this.groups = ctx.state.valueState<unknown, unknown[]>(GROUP_STATE, { ttl: true });
    // A checkpoint of the slot table (the heap backend) comes back as structure `groups`.
    ctx.state.registerStructure('groups', new SlotTableImport(this));
    for (const bytes of ctx.restoredState) {
      const g = unpackGroups(deserializeState<GroupsV2>(bytes), this.groupKeys.length, this.fns.length);
      this.importGroups(g, (hash) => subtaskOfHash(hash, ctx.parallelism) === ctx.subtaskIndex);
    }
  }

  /** Puts restored groups (of the slot table's snapshot format) into the value state. */
  importGroups({ n, hashes, counts, keys, accs, retractable }: Groups, keep: ((hash: number) => boolean) | null): void {
    const g = this.groupKeys.length;
    const m = this.fns.length;
    const convert = accConverters(this.fns, retractable);
    for (let i = 0; i < n; i++) {
      if (keep !== null && !keep(hashes[i])) continue;
      const value: unknown[] = new Array(KEYS + g + m);
      value[HASH] = hashes[i];
      value[COUNT] = counts[i];
      value[VARIANT] = this.variant;
      for (let k = 0; k < g; k++) value[KEYS + k] = keys[k][i];
      for (let j = 0; j < m; j++) {
        const c = convert[j];
        value[KEYS + g + j] = c === null ? accs[j][i] : c(accs[j][i]);
      }
      this.groups.put(valuesMapKey(value, KEYS, g), hashes[i], value);
    }
  }

  /**
   * Deletes restored groups by their keys (a restored change set); `imported`: the groups put so
   * far of the key group, by index key, with their hashes (they are in the backend's cache).
   */
  importDeletes(changes: GroupChanges, imported: Map<unknown, number>): void {
    for (const keyRow of deletedKeys(changes.deletes, this.groupKeys.length)) {
      const mapKey = valuesMapKey(keyRow, 0, this.groupKeys.length);
      const hash = imported.get(mapKey);
      if (hash === undefined) continue; // created and dropped between two checkpoints
      imported.delete(mapKey);
      this.groups.delete(mapKey, hash);
    }
  }

  /** Computes the batch's keys and hashes and has the backend load their groups. */
  prefetch(batch: ChangeBatch): void {
    const n = batch.size;
    const cols = batch.columns;
    const groupKeys = this.groupKeys;
    const keys = this.keys;
    const hashes = this.hashes;
    keys.length = n;
    hashes.length = n;
    for (let row = 0; row < n; row++) {
      const key = rowMapKey(cols, row, groupKeys);
      const hash = hashRow(cols, row, groupKeys);
      keys[row] = key;
      hashes[row] = hash;
      this.groups.prefetch(key, hash);
    }
    this.prefetched = batch;
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    if (n === 0) return;
    if (this.prefetched !== batch) throw internalError('keyed aggregate on disk: a batch was processed without being prefetched');
    this.prefetched = null;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const fns = this.fns;
    const m = fns.length;
    const g = this.groupKeys.length;
    const groupKeys = this.groupKeys;
    const inputs = batchInputs(this.inputs, cols);
    const touchedAt = this.touchedAt;
    const touched = this.touched;
    const before = this.before;

    for (let row = 0; row < n; row++) {
      const kind = kinds[row];
      const accumulate = kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER;
      if (!accumulate && this.insertOnly) {
        throw internalError('keyed aggregate: a retraction (-U/-D) reached aggregates resolved for insert-only input');
      }
      const key = this.keys[row];
      const at = touchedAt.get(key);
      let group: unknown[];
      if (at !== undefined) {
        group = touched[at];
        if (!accumulate && (group[COUNT] as number) === 0) {
          this.metrics.inc('retractions-of-unknown-keys');
          continue;
        }
      } else {
        const stored = this.groups.get(key, this.hashes[row]);
        if (stored === undefined) {
          if (!accumulate) {
            this.metrics.inc('retractions-of-unknown-keys');
            continue;
          }
          group = new Array(KEYS + g + m);
          group[HASH] = this.hashes[row];
          group[COUNT] = 0;
          group[VARIANT] = this.variant;
          for (let k = 0; k < g; k++) group[KEYS + k] = cols[groupKeys[k]][row];
          for (let j = 0; j < m; j++) group[KEYS + g + j] = fns[j].create();
          this.held.push(0);
          for (let j = 0; j < m; j++) before.push(null);
        } else {
          group = stored;
          if (group[VARIANT] !== this.variant) this.convert(group);
          this.held.push(1);
          for (let j = 0; j < m; j++) before.push(fns[j].getValue(group[KEYS + g + j]));
        }
        touchedAt.set(key, touched.length);
        touched.push(group);
        this.touchedKeys.push(key);
      }
      const accBase = KEYS + g;
      if (accumulate) group[COUNT] = (group[COUNT] as number) + 1;
      else {
        const count = (group[COUNT] as number) - 1;
        group[COUNT] = count;
        if (count === 0) {
          // Every row of the group is retracted: start from fresh accumulators.
          for (let j = 0; j < m; j++) group[accBase + j] = fns[j].create();
          continue;
        }
      }
      applyRow(fns, inputs, cols, row, group, accBase, accumulate);
    }
    this.flush();
  }

  /**
   * A group stored by a run whose aggregates were the other variant (the input's changelog mode
   * changed): converts its accumulators, or fails as the slot table's restore does.
   */
  private convert(group: unknown[]): void {
    const stored = group[VARIANT] as string;
    const convert = accConverters(
      this.fns,
      Array.from(stored, (c) => c === '1'),
    );
    const accBase = KEYS + this.groupKeys.length;
    for (let j = 0; j < convert.length; j++) {
      const c = convert[j];
      if (c !== null) group[accBase + j] = c(group[accBase + j]);
    }
    group[VARIANT] = this.variant;
  }

  /** One output row: the group's key values, then m values from `values` at `at`. */
  private emitRow(kind: RowKind, group: readonly unknown[], values: readonly unknown[], at: number): void {
    const b = this.builder;
    b.startRow(kind);
    const g = this.groupKeys.length;
    for (let k = 0; k < g; k++) b.set(k, group[KEYS + k]);
    const m = this.fns.length;
    for (let j = 0; j < m; j++) b.set(g + j, values[at + j]);
  }

  /** Per touched group: stores or drops it, and emits how its result changed. */
  private flush(): void {
    const { touched, touchedKeys, held, before, fns, tmp } = this;
    const m = fns.length;
    const accBase = KEYS + this.groupKeys.length;
    for (let i = 0; i < touched.length; i++) {
      const group = touched[i];
      const key = touchedKeys[i];
      const hash = group[HASH] as number;
      const at = i * m;
      if ((group[COUNT] as number) === 0) {
        if (held[i] === 1) {
          this.emitRow(RowKind.DELETE, group, before, at);
          this.groups.delete(key, hash);
        }
        continue;
      }
      this.groups.put(key, hash, group);
      for (let j = 0; j < m; j++) tmp[j] = fns[j].getValue(group[accBase + j]);
      if (held[i] === 0) {
        this.emitRow(RowKind.INSERT, group, tmp, 0);
        continue;
      }
      if (!resultChanged(before, at, tmp, m)) continue;
      this.emitRow(RowKind.UPDATE_BEFORE, group, before, at);
      this.emitRow(RowKind.UPDATE_AFTER, group, tmp, 0);
    }
    this.touchedAt.clear();
    touched.length = 0;
    touchedKeys.length = 0;
    held.length = 0;
    before.length = 0;
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  /** Number of live groups. */
  get groupCount(): number {
    return this.groups.size;
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}

/** VARIANT of accumulators of the given variants. */
export function variantOf(retractable: readonly boolean[]): string {
  return retractable.map((r) => (r ? '1' : '0')).join('');
}

/**
 * Structure `groups` in a backend on disk: takes what a checkpoint of the slot table restores
 * (whole key groups, then change sets) into the value state, and holds nothing itself.
 */
class SlotTableImport implements KeyGroupedStructure {
  /** Groups imported of the key group being restored, by index key, with their hashes (a change set may delete them). */
  private imported = new Map<unknown, number>();
  private keyGroup = -1;

  constructor(private readonly op: DiskKeyedAggregateOperator) {}

  readonly size = 0;

  private begin(keyGroup: number): void {
    if (keyGroup !== this.keyGroup) this.imported = new Map();
    this.keyGroup = keyGroup;
  }

  private note(groups: Groups): void {
    for (let i = 0; i < groups.n; i++) {
      const row = groups.keys.map((c) => c[i]);
      this.imported.set(valuesMapKey(row, 0, row.length), groups.hashes[i]);
    }
  }

  restoreKeyGroup(keyGroup: number, data: unknown): void {
    this.begin(keyGroup);
    const groups = unpackGroups(data as GroupsV2, this.op.config.groupKeys.length, this.op.config.aggs.length);
    this.note(groups);
    this.op.importGroups(groups, null);
  }

  applyKeyGroupChanges(keyGroup: number, changes: unknown): void {
    this.begin(keyGroup);
    const c = changes as GroupChanges;
    this.op.importDeletes(c, this.imported);
    if (c.puts !== null) this.restoreKeyGroup(keyGroup, c.puts);
  }

  *snapshotKeyGroups(): Iterable<readonly [number, unknown]> {}

  *snapshotKeyGroupChanges(): Iterable<readonly [number, unknown]> {}
}
