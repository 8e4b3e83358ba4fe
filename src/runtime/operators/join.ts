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
 * `stateTtlMs` (table.exec.state.ttl) drops keys not read or written for that long (processing
 * time), without emitting anything, as Flink's state TTL: unbounded state stays bounded at the
 * price of exactness for keys that come back after the TTL.
 *
 * Snapshots hold every key with the hash its exchange routes it by, so a restore with another
 * parallelism keeps exactly the keys routed to this subtask.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { keyPart, rowMapKey } from '../../state/key-part.js';
import { deserializeState, serializeState } from '../../state/serde.js';
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
  /** Idle keys are dropped after this many milliseconds of processing time (0 or absent: never). */
  readonly stateTtlMs?: number;
  /** The clock for the TTL (tests); Date.now by default. */
  readonly now?: () => number;
}

interface RowEntry {
  readonly row: unknown[];
  count: number;
  assoc: number;
}

interface KeyEntry {
  readonly hash: number;
  readonly rows: Map<string, RowEntry>;
  touched: number;
}

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

export class JoinOperator implements Operator {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private readonly keys: readonly (readonly number[])[];
  /** Per side: whether an outer join keeps its rows without a match (pads the other side). */
  private readonly preserved: readonly [boolean, boolean];
  private readonly state: [Map<unknown, KeyEntry>, Map<unknown, KeyEntry>] = [new Map(), new Map()];
  private arity: [number, number] = [0, 0];
  private residual: ((cols: readonly unknown[][], row: number) => boolean) | null = null;
  /** The joined row the residual reads: one single-value column per output column. */
  private scratch: unknown[][] = [];
  private readonly ttl: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(readonly config: JoinConfig) {
    this.keys = [config.leftKeys, config.rightKeys];
    checkJoinKeys(config.leftKeys, config.rightKeys, 'join: invalid equi-join keys');
    const t = config.joinType;
    this.preserved = [t === 'left' || t === 'full', t === 'right' || t === 'full'];
    this.ttl = config.stateTtlMs ?? 0;
    this.now = config.now ?? Date.now;
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    ({ arity: this.arity, builder: this.builder, scratch: this.scratch, residual: this.residual } = openJoinSides('join', ctx, this.config.residual));
    for (const bytes of ctx.restoredState) this.restore(bytes, ctx.subtaskIndex, ctx.parallelism);
    this.lastSweep = this.now();
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
    const now = this.ttl > 0 ? this.now() : 0;
    const left = side === 0;
    const cur: unknown[] = new Array(arity);

    for (let row = 0; row < n; row++) {
      for (let c = 0; c < arity; c++) {
        const v = cols[c]![row];
        cur[c] = v;
        scratch[base + c]![0] = v;
      }
      const id = rowId(cur);
      const key = rowMapKey(cols, row, keys);
      const matchable = !this.hasNullKey(cols, row, keys);
      const otherEntry = matchable ? theirs.get(key) : undefined;
      if (otherEntry !== undefined) otherEntry.touched = now;
      const accumulate = kinds[row] === RowKind.INSERT || kinds[row] === RowKind.UPDATE_AFTER;

      let entry = own.get(key);
      if (accumulate) {
        let assoc = 0;
        if (otherEntry !== undefined) {
          for (const o of otherEntry.rows.values()) {
            if (!this.residualHolds(side, o.row)) continue;
            assoc += o.count;
            if (otherPreserved) {
              if (o.assoc === 0) this.emit(RowKind.DELETE, left ? null : o.row, left ? o.row : null, o.count);
              o.assoc++;
            }
            this.emit(RowKind.INSERT, left ? cur : o.row, left ? o.row : cur, o.count);
          }
        }
        if (thisPreserved && assoc === 0) this.emit(RowKind.INSERT, left ? cur : null, left ? null : cur, 1);
        if (entry === undefined) {
          entry = { hash: hashRow(cols, row, keys), rows: new Map(), touched: now };
          own.set(key, entry);
        }
        entry.touched = now;
        const r = entry.rows.get(id);
        if (r === undefined) entry.rows.set(id, { row: cur.slice(), count: 1, assoc });
        else r.count++;
      } else {
        const r = entry?.rows.get(id);
        if (entry === undefined || r === undefined) {
          this.metrics.inc('retractions-of-unknown-rows');
          continue;
        }
        entry.touched = now;
        if (--r.count === 0) {
          entry.rows.delete(id);
          if (entry.rows.size === 0) own.delete(key);
        }
        let matched = false;
        if (otherEntry !== undefined) {
          for (const o of otherEntry.rows.values()) {
            if (!this.residualHolds(side, o.row)) continue;
            matched = true;
            this.emit(RowKind.DELETE, left ? cur : o.row, left ? o.row : cur, o.count);
            if (otherPreserved && --o.assoc === 0) this.emit(RowKind.INSERT, left ? null : o.row, left ? o.row : null, o.count);
          }
        }
        if (thisPreserved && !matched) this.emit(RowKind.DELETE, left ? cur : null, left ? null : cur, 1);
      }
    }
    if (this.ttl > 0 && now - this.lastSweep >= Math.min(this.ttl, 1000)) this.sweep(now);
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  /** Drops keys idle for the TTL. */
  private sweep(now: number): void {
    this.lastSweep = now;
    let dropped = 0;
    for (const map of this.state) {
      for (const [k, e] of map) {
        if (now - e.touched >= this.ttl) {
          map.delete(k);
          dropped++;
        }
      }
    }
    if (dropped > 0) this.metrics.inc('state-keys-expired', dropped);
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    const sides = this.state.map((map) => {
      const out: StateV1['sides'][number] = [];
      for (const [k, e] of map) out.push([k, e.hash, e.touched, [...e.rows].map(([id, r]) => [id, r.row, r.count, r.assoc])]);
      return out;
    });
    const state: StateV1 = { v: 1, sides };
    return { state: serializeState(state) };
  }

  private restore(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const s = deserializeState<StateV1>(bytes);
    if (s.v !== 1 || s.sides.length !== 2) throw internalError(`join state has unknown version ${String((s as { v: unknown }).v)}`);
    const now = this.now();
    s.sides.forEach((keys, side) => {
      const map = this.state[side]!;
      for (const [k, hash, _touched, rows] of keys) {
        if (subtaskOfHash(hash, parallelism) !== subtask) continue;
        for (const [, row] of rows) {
          if (row.length !== this.arity[side]) throw internalError(`join state has rows of ${row.length} columns, input ${side} has ${this.arity[side]}`);
        }
        // A TTL counts from the restore: the time the job was down is not idle time.
        map.set(k, { hash, touched: now, rows: new Map(rows.map(([id, row, count, assoc]) => [id, { row, count, assoc }])) });
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
