/**
 * Regular (unbounded) join over two changelogs, as Flink's StreamingJoinOperator.
 *
 * Both inputs are hash-partitioned by their equi-join keys, so all rows of a key meet in one
 * subtask. Each side keeps its live rows in keyed state: per key, the distinct rows with how many
 * times each is live (`count`) and, for a side whose rows an outer join preserves, with how many
 * rows of the other side it currently joins (`assoc`, counting duplicates).
 *
 * A row arriving on one side is matched against the other side's rows of its key (equal keys, and
 * the residual condition TRUE on the joined row); a NULL in a key column matches nothing.
 *   accumulate (+I/+U): +I(row, other) per match; on a preserved side with no match +I(row, NULL);
 *     when the other side is preserved and `other` had no match yet, -D(NULL, other) first.
 *   retract (-U/-D): -D(row, other) per match; -D(row, NULL) on a preserved side without match;
 *     an `other` of a preserved side left without match gets +I(NULL, other) back.
 * Output kinds are +I and -D only, as Flink's join emits. A retraction of a row the state does
 * not hold is dropped and counted ('retractions-of-unknown-rows').
 *
 * State: one value state per side in the state layer (ctx.state), keyed by the join key with the
 * hash its exchange routes it by; the value is the side's rows of that key (row id → the distinct
 * row, `count`, `assoc`), or, on a side whose input is insert-only and which no outer join
 * preserves, just the list of its rows (no row ids to build, half the memory; Flink likewise keeps
 * such a side without retraction bookkeeping). A checkpoint of either form restores into the
 * other. An entry changed in place is put again, an entry left without rows is deleted. Both states follow table.exec.state.ttl as Flink's join state does: a key's time to
 * live starts at its last write (a row of its own side arriving or leaving, or, on a preserved side,
 * a change of `assoc` by the other side's rows); a key only read by the other side's probes expires.
 * Expired keys go without output: unbounded state stays bounded at the price of exactness for keys
 * that come back after the TTL.
 *
 * Snapshots: the layer snapshots and re-splits the keyed state by key group; snapshotState holds
 * nothing. A checkpoint written before the state layer (one blob per subtask, every key with its
 * hash) still restores: open() keeps the keys routed to this subtask and puts them into the layer.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { keyPart, rowMapKey } from '../../state/key-part.js';
import { deserializeState } from '../../state/serde.js';
import type { ValueState } from '../../state/state-backend.js';
import { internalError } from '../../errors.js';
import { type BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { appendJoined, checkJoinKeys, openJoinSides } from './join-sides.js';

export interface JoinConfig {
  readonly joinType: 'inner' | 'left' | 'right' | 'full';
  /** Equi-join key columns of input 0 (left) and input 1 (right), pairwise equal. */
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  /** The rest of the join condition, over the output row (left columns then right columns). */
  readonly residual?: BoundExpr;
  /**
   * Per side: its input is insert-only (the planner knows from the changelog mode). Such a side,
   * unless an outer join preserves it, keeps a key's rows as a plain list: no row ids, no counts.
   */
  readonly insertOnly?: readonly [boolean, boolean];
}

interface RowEntry {
  readonly row: unknown[];
  count: number;
  assoc: number;
}

/** The rows of one join key on one side, by row id: the value of a side's keyed state. */
type KeyRows = Map<string, RowEntry>;
/** The rows of one join key on a side kept as a list (insert-only, not preserved), duplicates repeated. */
type RowList = unknown[][];
/** A side's value, by the side's form. */
type SideRows = KeyRows | RowList;

/** The state blob of checkpoints written before the state layer (restore only). */
interface StateV1 {
  readonly v: 1;
  /** Per side: [map key, hash, last access, [row id, row, count, assoc][]] per key. */
  readonly sides: [unknown, number, number, [string, unknown[], number, number][]][][];
}

/** A row's identity among the rows of its key: every column, unambiguously concatenated. */
function rowId(row: readonly unknown[]): string {
  let s = '';
  for (let c = 0; c < row.length; c++) s += keyPart(row[c]);
  return s;
}

/** A restored entry must have rows of its input's width (a plan change that keeps the uid would be a bug). */
function checkArity(rows: SideRows, arity: number, side: string): SideRows {
  for (const r of rows.values()) {
    const width = Array.isArray(r) ? r.length : r.row.length;
    if (width !== arity) throw internalError(`join state has rows of ${width} columns, the ${side} input has ${arity}`);
  }
  return rows;
}

/** A restored side value in the form the side keeps now (a checkpoint of a run that kept the other form). */
function toForm(rows: SideRows, list: boolean): SideRows {
  if (list === Array.isArray(rows)) return rows;
  if (list) {
    const out: RowList = [];
    for (const r of (rows as KeyRows).values()) for (let i = 0; i < r.count; i++) out.push(r.row);
    return out;
  }
  const map: KeyRows = new Map();
  for (const row of rows as RowList) {
    const id = rowId(row);
    const r = map.get(id);
    if (r === undefined) map.set(id, { row, count: 1, assoc: 0 });
    else r.count++;
  }
  return map;
}

export class JoinOperator implements Operator {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private readonly keys: readonly (readonly number[])[];
  /** Per side: whether an outer join keeps its rows without a match (pads the other side). */
  private readonly preserved: readonly [boolean, boolean];
  private state!: [ValueState<unknown, SideRows>, ValueState<unknown, SideRows>];
  /** Per side: it keeps its rows as a RowList (insert-only and not preserved), else as KeyRows. */
  private readonly list: readonly [boolean, boolean];
  private arity: [number, number] = [0, 0];
  private residual: ((cols: readonly unknown[][], row: number) => boolean) | null = null;
  /** The joined row the residual reads: one single-value column per output column. */
  private scratch: unknown[][] = [];

  constructor(readonly config: JoinConfig) {
    this.keys = [config.leftKeys, config.rightKeys];
    checkJoinKeys(config.leftKeys, config.rightKeys, 'join: invalid equi-join keys');
    const t = config.joinType;
    this.preserved = [t === 'left' || t === 'full', t === 'right' || t === 'full'];
    const insertOnly = config.insertOnly ?? [false, false];
    this.list = [insertOnly[0] && !this.preserved[0], insertOnly[1] && !this.preserved[1]];
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    ({ arity: this.arity, builder: this.builder, scratch: this.scratch, residual: this.residual } = openJoinSides('join', ctx, this.config.residual));
    const side = (name: string, arity: number, list: boolean): ValueState<unknown, SideRows> =>
      ctx.state.valueState<unknown, SideRows>(name, { ttl: true, migrate: (rows) => toForm(checkArity(rows as SideRows, arity, name), list) });
    this.state = [side('left', this.arity[0], this.list[0]), side('right', this.arity[1], this.list[1])];
    for (const bytes of ctx.restoredState) this.restoreLegacy(bytes, ctx.subtaskIndex, ctx.parallelism);
  }

  private hasNullKey(cols: readonly unknown[][], row: number, keys: readonly number[]): boolean {
    for (let k = 0; k < keys.length; k++) {
      const v = cols[keys[k]!]![row];
      if (v === null || v === undefined) return true;
    }
    return false;
  }

  /** Emits `times` copies of (left, right); null pads a side with NULLs. */
  private emit(kind: RowKind, left: readonly unknown[] | null, right: readonly unknown[] | null, times: number): void {
    appendJoined(this.builder, this.arity, kind, left, right, times);
  }

  /** Whether the residual holds for `row` (on side `side`, already in scratch) joined with `other`. */
  private residualHolds(side: number, other: readonly unknown[]): boolean {
    const pred = this.residual;
    if (pred === null) return true;
    const scratch = this.scratch;
    const base = side === 0 ? this.arity[0] : 0;
    for (let c = 0; c < other.length; c++) scratch[base + c]![0] = other[c];
    return pred(scratch, 0);
  }

  prefetch(batch: ChangeBatch, input: number): void {
    const cols = batch.columns;
    const keys = this.keys[input]!;
    const [a, b] = this.state;
    for (let row = 0; row < batch.size; row++) {
      const key = rowMapKey(cols, row, keys);
      const hash = hashRow(cols, row, keys);
      a.prefetch(key, hash);
      b.prefetch(key, hash);
    }
  }

  process(batch: ChangeBatch, input: number): void {
    const n = batch.size;
    if (n === 0) return;
    if (input !== 0 && input !== 1) throw internalError(`join: no input ${input}`);
    const side = input;
    const other = 1 - side;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const keys = this.keys[side]!;
    const own = this.state[side];
    const theirs = this.state[other];
    const arity = this.arity[side];
    const thisPreserved = this.preserved[side];
    const otherPreserved = this.preserved[other];
    const scratch = this.scratch;
    const base = side === 0 ? 0 : this.arity[0];
    const left = side === 0;
    // Packed (filled by push), so the copies kept in state are packed too (see rowOf).
    const cur: unknown[] = [];
    for (let c = 0; c < arity; c++) cur.push(null);

    const ownList = this.list[side];
    const theirList = this.list[other];
    for (let row = 0; row < n; row++) {
      for (let c = 0; c < arity; c++) {
        const v = cols[c]![row];
        cur[c] = v;
        scratch[base + c]![0] = v;
      }
      const key = rowMapKey(cols, row, keys);
      const hash = hashRow(cols, row, keys);
      const matchable = !this.hasNullKey(cols, row, keys);
      // A probe only reads the other side: it does not extend that key's time to live.
      const otherRows = matchable ? theirs.get(key, hash) : undefined;
      const accumulate = kinds[row] === RowKind.INSERT || kinds[row] === RowKind.UPDATE_AFTER;

      if (ownList) {
        if (!accumulate) throw internalError('join: a retraction (-U/-D) reached a side the planner declared insert-only');
        // Every match of a preserved other side changed an `assoc` of its rows.
        if (otherRows !== undefined && this.matchAccumulated(side, otherRows, theirList, cur) > 0 && otherPreserved) theirs.put(key, hash, otherRows);
        const list = own.get(key, hash) as RowList | undefined;
        if (list === undefined) own.put(key, hash, [cur.slice()]);
        else {
          list.push(cur.slice());
          own.put(key, hash, list);
        }
        continue;
      }
      const id = rowId(cur);
      let rows = own.get(key, hash) as KeyRows | undefined;
      if (accumulate) {
        let assoc = 0;
        if (otherRows !== undefined) {
          assoc = this.matchAccumulated(side, otherRows, theirList, cur);
          // Every match of a preserved other side changed an `assoc` of its rows.
          if (otherPreserved && assoc > 0) theirs.put(key, hash, otherRows);
        }
        if (thisPreserved && assoc === 0) this.emit(RowKind.INSERT, left ? cur : null, left ? null : cur, 1);
        if (rows === undefined) rows = new Map();
        const r = rows.get(id);
        if (r === undefined) rows.set(id, { row: cur.slice(), count: 1, assoc });
        else r.count++;
        own.put(key, hash, rows);
      } else {
        const r = rows?.get(id);
        if (rows === undefined || r === undefined) {
          this.metrics.inc('retractions-of-unknown-rows');
          continue;
        }
        if (--r.count === 0) rows.delete(id);
        if (rows.size === 0) own.delete(key, hash);
        else own.put(key, hash, rows);
        let matched = false;
        if (otherRows !== undefined && theirList) {
          for (const o of otherRows as RowList) {
            if (!this.residualHolds(side, o)) continue;
            matched = true;
            this.emit(RowKind.DELETE, left ? cur : o, left ? o : cur, 1);
          }
        } else if (otherRows !== undefined) {
          for (const o of (otherRows as KeyRows).values()) {
            if (!this.residualHolds(side, o.row)) continue;
            matched = true;
            this.emit(RowKind.DELETE, left ? cur : o.row, left ? o.row : cur, o.count);
            if (otherPreserved && --o.assoc === 0) this.emit(RowKind.INSERT, left ? null : o.row, left ? o.row : null, o.count);
          }
          if (otherPreserved && matched) theirs.put(key, hash, otherRows);
        }
        if (thisPreserved && !matched) this.emit(RowKind.DELETE, left ? cur : null, left ? null : cur, 1);
      }
    }
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  /**
   * An arriving row `cur` of `side` (accumulating) against the other side's rows of its key
   * (`theirList`: a RowList, else KeyRows with counts): +I per match, and on a preserved other
   * side -D of its NULL-padded row at its first match and `assoc` counted up (the caller puts the
   * rows back). Returns the number of matches.
   */
  private matchAccumulated(side: number, otherRows: SideRows, theirList: boolean, cur: unknown[]): number {
    const left = side === 0;
    let assoc = 0;
    if (theirList) {
      for (const o of otherRows as RowList) {
        if (!this.residualHolds(side, o)) continue;
        assoc++;
        this.emit(RowKind.INSERT, left ? cur : o, left ? o : cur, 1);
      }
      return assoc;
    }
    for (const o of (otherRows as KeyRows).values()) {
      if (!this.residualHolds(side, o.row)) continue;
      assoc += o.count;
      if (this.preserved[1 - side]) {
        if (o.assoc === 0) this.emit(RowKind.DELETE, left ? null : o.row, left ? o.row : null, o.count);
        o.assoc++;
      }
      this.emit(RowKind.INSERT, left ? cur : o.row, left ? o.row : cur, o.count);
    }
    return assoc;
  }

  onWatermark(): void {}

  /** Keyed state only: the layer snapshots it. */
  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  /** Puts the keys of a pre-layer checkpoint that are routed to this subtask into the layer. */
  private restoreLegacy(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const s = deserializeState<StateV1>(bytes);
    if (s.v !== 1 || s.sides.length !== 2) throw internalError(`join state has unknown version ${String((s as { v: unknown }).v)}`);
    s.sides.forEach((keys, side) => {
      const state = this.state[side]!;
      for (const [k, hash, _touched, rows] of keys) {
        if (subtaskOfHash(hash, parallelism) !== subtask) continue;
        const entry: KeyRows = new Map(rows.map(([id, row, count, assoc]) => [id, { row, count, assoc }]));
        state.put(k, hash, checkArity(entry, this.arity[side]!, side === 0 ? 'left' : 'right'));
      }
    });
  }

  /** Keys held per side, for tests. */
  get keyCounts(): [number, number] {
    return [this.state[0].size, this.state[1].size];
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
