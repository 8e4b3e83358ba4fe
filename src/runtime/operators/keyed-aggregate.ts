/**
 * Keyed (group) aggregation over a changelog, as Flink's GroupAggregate with mini-batch output.
 *
 * State: one entry per group key holding the group values, the number of live input rows and one
 * accumulator per aggregate call. +I/+U rows accumulate, -U/-D rows retract. Per input batch the
 * operator remembers which keys it touched and, after the batch, emits per touched key:
 *   first result +I; changed result -U(old) then +U(new); row count back to 0 -D(old) and the entry
 *   is dropped; unchanged result nothing.
 * Output rows are the group columns followed by one column per aggregate call.
 *
 * Snapshots hold every entry with the hash of its key (the hash the hash exchange uses), so a
 * restore with another parallelism keeps exactly the entries routed to this subtask.
 */
import type { AggregateFunction } from '../../expr/aggregates.js';
import type { BoundExpr, RowFn } from '../../expr/bound.js';
import { compilePredicate, compileRowFn } from '../../expr/compile.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../partition.js';

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

interface Entry {
  readonly mapKey: unknown;
  readonly keyValues: readonly unknown[];
  readonly hash: number;
  /** Live input rows of the group. */
  count: number;
  readonly accs: unknown[];
  /** A result row for this key is live downstream, with aggregate values `out`. */
  emitted: boolean;
  readonly out: unknown[];
  /** Number of the input batch that last touched the entry. */
  epoch: number;
}

/** Snapshot layout: parallel arrays, one element per entry. */
interface StateV1 {
  readonly v: 1;
  readonly hashes: number[];
  readonly keys: (readonly unknown[])[];
  readonly counts: number[];
  readonly accs: unknown[][];
}

const STAR_VALUE = 1;

function keyPart(v: unknown): string {
  if (v === null || v === undefined) return '\u0000';
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v}|`;
    case 'bigint':
      return `b${v}|`;
    case 'boolean':
      return v ? 't' : 'f';
    default:
      if (v instanceof Uint8Array) return `x${Buffer.from(v).toString('base64')}|`;
      return `o${String(v)}|`;
  }
}

export class KeyedAggregateOperator implements Operator {
  private readonly groupKeys: readonly number[];
  private readonly fns: AggregateFunction<unknown>[];
  private readonly state = new Map<unknown, Entry>();
  private readonly touched: Entry[] = [];
  private epoch = 0;
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private tmp: unknown[];
  /** Per aggregate: the input column of its argument (fast path), or a compiled function. */
  private argCol: number[] = [];
  private argFn: (RowFn | null)[] = [];
  private filterCol: number[] = [];
  private filterFn: (((cols: readonly unknown[][], row: number) => boolean) | null)[] = [];
  /** The single key column when the key value itself can be the map key, else -1. */
  private singleKey = -1;

  constructor(private readonly config: KeyedAggregateConfig) {
    this.groupKeys = config.groupKeys;
    this.fns = config.aggs.map((a) => a.fn);
    this.tmp = new Array(config.aggs.length);
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    this.builder = new BatchBuilder(this.groupKeys.length + this.fns.length);
    const keyTypes = this.groupKeys.map((k) => ctx.inputSchemas[0]?.fields[k]?.type.kind);
    if (this.groupKeys.length === 1 && keyTypes[0] !== 'BYTES') this.singleKey = this.groupKeys[0];
    for (const a of this.config.aggs) {
      const arg = a.args[0];
      this.argCol.push(arg?.kind === 'input' ? arg.index : -1);
      this.argFn.push(arg && arg.kind !== 'input' ? compileRowFn(arg) : null);
      const f = a.filter;
      this.filterCol.push(f?.kind === 'input' ? f.index : -1);
      this.filterFn.push(f && f.kind !== 'input' ? compilePredicate(f) : null);
    }
    for (const bytes of ctx.restoredState) this.restore(bytes, ctx.subtaskIndex, ctx.parallelism);
  }

  private mapKeyOfValues(values: readonly unknown[]): unknown {
    if (this.singleKey >= 0) return values[0];
    let s = '';
    for (let k = 0; k < values.length; k++) s += keyPart(values[k]);
    return s;
  }

  private newEntry(mapKey: unknown, keyValues: unknown[], hash: number, accs: unknown[] | undefined, count: number): Entry {
    const m = this.fns.length;
    const entry: Entry = {
      mapKey,
      keyValues,
      hash,
      count,
      accs: accs ?? new Array(m),
      emitted: false,
      out: new Array(m),
      epoch: 0,
    };
    if (!accs) for (let j = 0; j < m; j++) entry.accs[j] = this.fns[j].create();
    return entry;
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    if (n === 0) return;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const epoch = ++this.epoch;
    const touched = this.touched;
    const state = this.state;
    const fns = this.fns;
    const m = fns.length;
    const groupKeys = this.groupKeys;
    const g = groupKeys.length;
    const singleCol = this.singleKey >= 0 ? cols[this.singleKey] : null;
    const argCols: (unknown[] | null)[] = this.argCol.map((c) => (c >= 0 ? cols[c] : null));
    const filterCols: (unknown[] | null)[] = this.filterCol.map((c) => (c >= 0 ? cols[c] : null));
    const argFn = this.argFn;
    const filterFn = this.filterFn;

    for (let row = 0; row < n; row++) {
      let mapKey: unknown;
      if (singleCol !== null) mapKey = singleCol[row];
      else if (g === 0) mapKey = 0;
      else {
        let s = '';
        for (let k = 0; k < g; k++) s += keyPart(cols[groupKeys[k]][row]);
        mapKey = s;
      }
      const kind = kinds[row];
      const accumulate = kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER;
      let e = state.get(mapKey);
      if (e === undefined) {
        if (!accumulate) {
          this.metrics.inc('retractions-of-unknown-keys');
          continue;
        }
        const keyValues = new Array(g);
        for (let k = 0; k < g; k++) keyValues[k] = cols[groupKeys[k]][row];
        e = this.newEntry(mapKey, keyValues, hashRow(cols, row, groupKeys), undefined, 0);
        state.set(mapKey, e);
      } else if (!accumulate && e.count === 0) {
        this.metrics.inc('retractions-of-unknown-keys');
        continue;
      }
      if (e.epoch !== epoch) {
        e.epoch = epoch;
        touched.push(e);
      }
      const accs = e.accs;
      if (accumulate) {
        e.count++;
        for (let j = 0; j < m; j++) {
          const fc = filterCols[j];
          if (fc !== null) {
            if (fc[row] !== true) continue;
          } else {
            const ff = filterFn[j];
            if (ff !== null && !ff(cols, row)) continue;
          }
          const ac = argCols[j];
          const af = argFn[j];
          accs[j] = fns[j].accumulate(accs[j], ac !== null ? ac[row] : af !== null ? af(cols, row) : STAR_VALUE);
        }
      } else {
        e.count--;
        if (e.count === 0) {
          // Every row of the group is retracted: start from fresh accumulators.
          for (let j = 0; j < m; j++) accs[j] = fns[j].create();
          continue;
        }
        for (let j = 0; j < m; j++) {
          const fc = filterCols[j];
          if (fc !== null) {
            if (fc[row] !== true) continue;
          } else {
            const ff = filterFn[j];
            if (ff !== null && !ff(cols, row)) continue;
          }
          const ac = argCols[j];
          const af = argFn[j];
          accs[j] = fns[j].retract(accs[j], ac !== null ? ac[row] : af !== null ? af(cols, row) : STAR_VALUE);
        }
      }
    }
    this.flush();
  }

  private emitRow(kind: RowKind, e: Entry, values: readonly unknown[]): void {
    const b = this.builder;
    b.startRow(kind);
    const g = e.keyValues.length;
    for (let k = 0; k < g; k++) b.set(k, e.keyValues[k]);
    for (let j = 0; j < values.length; j++) b.set(g + j, values[j]);
  }

  private flush(): void {
    const touched = this.touched;
    const fns = this.fns;
    const m = fns.length;
    const tmp = this.tmp;
    for (let i = 0; i < touched.length; i++) {
      const e = touched[i];
      if (e.count === 0) {
        if (e.emitted) this.emitRow(RowKind.DELETE, e, e.out);
        this.state.delete(e.mapKey);
        continue;
      }
      for (let j = 0; j < m; j++) tmp[j] = fns[j].getValue(e.accs[j]);
      if (!e.emitted) {
        e.emitted = true;
        for (let j = 0; j < m; j++) e.out[j] = tmp[j];
        this.emitRow(RowKind.INSERT, e, tmp);
        continue;
      }
      let changed = false;
      for (let j = 0; j < m; j++) {
        if (e.out[j] !== tmp[j]) {
          changed = true;
          break;
        }
      }
      if (!changed) continue;
      this.emitRow(RowKind.UPDATE_BEFORE, e, e.out);
      this.emitRow(RowKind.UPDATE_AFTER, e, tmp);
      for (let j = 0; j < m; j++) e.out[j] = tmp[j];
    }
    touched.length = 0;
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  onWatermark(timestamp: number): void {
    this.output.emitWatermark(timestamp);
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const n = this.state.size;
    const hashes: number[] = new Array(n);
    const keys: (readonly unknown[])[] = new Array(n);
    const counts: number[] = new Array(n);
    const accs: unknown[][] = new Array(n);
    let i = 0;
    for (const e of this.state.values()) {
      hashes[i] = e.hash;
      keys[i] = e.keyValues;
      counts[i] = e.count;
      accs[i] = e.accs;
      i++;
    }
    const snapshot: StateV1 = { v: 1, hashes, keys, counts, accs };
    return { state: serializeState(snapshot) };
  }

  private restore(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const s = deserializeState<StateV1>(bytes);
    if (s.v !== 1) throw internalError(`keyed aggregate state has unknown version ${String(s.v)}`);
    const m = this.fns.length;
    for (let i = 0; i < s.hashes.length; i++) {
      if (subtaskOfHash(s.hashes[i], parallelism) !== subtask) continue;
      const keyValues = [...s.keys[i]];
      const mapKey = this.mapKeyOfValues(keyValues);
      const e = this.newEntry(mapKey, keyValues, s.hashes[i], s.accs[i], s.counts[i]);
      // Snapshots are taken between batches, when every live entry's result has been emitted.
      e.emitted = true;
      for (let j = 0; j < m; j++) e.out[j] = this.fns[j].getValue(e.accs[j]);
      this.state.set(mapKey, e);
    }
  }

  /** Number of live groups (for tests and metrics). */
  get groupCount(): number {
    return this.state.size;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
