/**
 * Event-time interval join (Flink's IntervalJoin, inner): rows l (input 0) and r (input 1) with
 * equal keys join when `l.time - r.time` is in [lower, upper] and the residual condition holds.
 * Both inputs are insert-only; the output is insert-only: +I once per matching pair, emitted when
 * the second row of the pair arrives.
 *
 * A row whose time is at or below the current watermark is late: it is dropped and counted
 * ('late-rows-dropped'), so the result does not depend on how rows and watermarks interleave.
 * State: per side and key the rows with their time. A left row can meet no future right row once
 * `l.time - lower <= watermark`, a right row none once `r.time + upper <= watermark`; such rows
 * are dropped when the watermark moves (matching checks the bounds itself, so dropping later than
 * possible never changes the output).
 *
 * The rows, per side and key with the hash of the key (the hash the exchange routed it by), are
 * keyed state under the state layer's contract (a KeyGroupedStructure registered with ctx.state):
 * a snapshot buckets the keys by key group, and a restore with any parallelism gets exactly the key
 * groups the subtask owns. The operator's own snapshot holds only the watermark; a restore takes
 * the lowest of the old subtasks'. Checkpoints of earlier weir versions hold everything in one blob
 * per subtask (StateV1), still read and filtered by subtask.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { rowMapKey } from '../../state/key-part.js';
import { restoreWatermark } from './event-time.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { bucketByKeyGroup } from '../../state/key-group-buckets.js';
import type { KeyGroupedStructure } from '../../state/state-backend.js';
import { internalError, userError } from '../../errors.js';
import { type BatchBuilder, RowKind, rowOf, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { appendJoined, checkJoinKeys, openJoinSides } from './join-sides.js';

export interface IntervalJoinConfig {
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  /** Time columns of each input and the bounds of left time - right time, in milliseconds. */
  readonly interval: { readonly leftTime: number; readonly rightTime: number; readonly lower: number; readonly upper: number };
  /** The rest of the condition, over the output row (left columns then right columns). */
  readonly residual?: BoundExpr;
}

interface KeyRows {
  readonly hash: number;
  /** Rows of one side for one key, each with its time at [0] of the pair. */
  readonly rows: [number, unknown[]][];
}

/** Operator state of earlier weir versions: the watermark and, per side, every key with its hash and rows. */
interface StateV1 {
  readonly v: 1;
  readonly watermark: number | null;
  readonly sides: [unknown, number, [number, unknown[]][]][][];
}

/** Operator state since the state layer: the rows are keyed state. */
interface StateV2 {
  readonly v: 2;
  readonly watermark: number | null;
}

/** One key group's keys in a snapshot: [side, key, hash, rows]. */
type KeyGroupData = [side: number, key: unknown, hash: number, rows: [number, unknown[]][]][];

export class IntervalJoinOperator implements Operator, KeyGroupedStructure {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private readonly state: [Map<unknown, KeyRows>, Map<unknown, KeyRows>] = [new Map(), new Map()];
  private arity: [number, number] = [0, 0];
  private residual: ((cols: readonly unknown[][], row: number) => boolean) | null = null;
  private scratch: unknown[][] = [];
  private watermark = -Infinity;
  /** The watermark of the last state cleanup. */
  private cleanedAt = -Infinity;

  constructor(readonly config: IntervalJoinConfig) {
    checkJoinKeys(config.leftKeys, config.rightKeys, 'interval join: invalid keys');
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    ({ arity: this.arity, builder: this.builder, scratch: this.scratch, residual: this.residual } = openJoinSides('interval join', ctx, this.config.residual));
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => this.restore(bytes, ctx.subtaskIndex, ctx.parallelism));
    ctx.state.registerStructure('rows', this);
  }

  process(batch: ChangeBatch, input: number): void {
    const n = batch.size;
    if (n === 0) return;
    if (input !== 0 && input !== 1) throw internalError(`interval join: no input ${input}`);
    const side = input;
    const left = side === 0;
    const { leftTime, rightTime, lower, upper } = this.config.interval;
    const keys = left ? this.config.leftKeys : this.config.rightKeys;
    const cols = batch.columns;
    const times = cols[left ? leftTime : rightTime] as (number | null)[];
    const own = this.state[side];
    const theirs = this.state[1 - side];
    const arity = this.arity[side];
    const [la] = this.arity;
    const scratch = this.scratch;
    const base = left ? 0 : la;
    const otherBase = left ? la : 0;
    const pred = this.residual;
    const b = this.builder;
    let late = 0;
    for (let row = 0; row < n; row++) {
      if (batch.kinds[row] !== RowKind.INSERT && batch.kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('interval join: a retraction reached an interval join, whose inputs must be insert-only');
      }
      const t = times[row];
      if (t === null || t === undefined) {
        throw userError('NULL_ROWTIME', 'a row has NULL in the time column of an interval join: filter out NULLs or use COALESCE in a computed column');
      }
      if (t <= this.watermark) {
        late++;
        continue;
      }
      let nullKey = false;
      for (let k = 0; k < keys.length; k++) if (cols[keys[k]!]![row] === null) nullKey = true;
      if (nullKey) continue; // an inner join: a NULL key matches nothing
      const key = rowMapKey(cols, row, keys);
      const cur = rowOf(cols, row, arity);
      for (let c = 0; c < arity; c++) scratch[base + c]![0] = cur[c];
      const other = theirs.get(key);
      if (other !== undefined) {
        // l - r in [lower, upper]: for a left row r in [t - upper, t - lower], for a right row l in [t + lower, t + upper].
        const lo = left ? t - upper : t + lower;
        const hi = left ? t - lower : t + upper;
        for (const [ot, orow] of other.rows) {
          if (ot < lo || ot > hi) continue;
          if (pred !== null) {
            for (let c = 0; c < orow.length; c++) scratch[otherBase + c]![0] = orow[c];
            if (!pred(scratch, 0)) continue;
          }
          appendJoined(b, this.arity, RowKind.INSERT, left ? cur : orow, left ? orow : cur);
        }
      }
      let mine = own.get(key);
      if (mine === undefined) {
        mine = { hash: hashRow(cols, row, keys), rows: [] };
        own.set(key, mine);
      }
      mine.rows.push([t, cur]);
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
    const out = b.take();
    if (out !== null) this.output.emit(out);
  }

  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
    const { lower, upper } = this.config.interval;
    // Cleaning costs a pass over the state: do it once the watermark moved by a tenth of the interval.
    const step = Math.max(1, Math.floor((upper - lower) / 10));
    if (this.watermark - this.cleanedAt >= step) {
      this.cleanedAt = this.watermark;
      const wm = this.watermark;
      this.clean(this.state[0], (t) => t - lower <= wm);
      this.clean(this.state[1], (t) => t + upper <= wm);
    }
  }

  private clean(map: Map<unknown, KeyRows>, expired: (t: number) => boolean): void {
    for (const [k, e] of map) {
      let w = 0;
      const rows = e.rows;
      for (let i = 0; i < rows.length; i++) if (!expired(rows[i]![0])) rows[w++] = rows[i]!;
      rows.length = w;
      if (w === 0) map.delete(k);
    }
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV2 = { v: 2, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  /** KeyGroupedStructure: both sides' keys, bucketed by key group. */
  snapshotKeyGroups(): Iterable<readonly [number, KeyGroupData]> {
    return bucketByKeyGroup(this.entries());
  }

  private *entries(): Iterable<[number, KeyGroupData[number]]> {
    for (let side = 0; side < 2; side++) for (const [k, e] of this.state[side]!) yield [e.hash, [side, k, e.hash, e.rows]];
  }

  /** KeyGroupedStructure: one key group's keys, as snapshotKeyGroups gave them. */
  restoreKeyGroup(_keyGroup: number, data: unknown): void {
    for (const [side, k, hash, rows] of data as KeyGroupData) this.adopt(side, k, hash, rows);
  }

  /** Keys held over both sides (KeyGroupedStructure). */
  get size(): number {
    return this.state[0].size + this.state[1].size;
  }

  /** The operator's own snapshot: the watermark, and (StateV1, an earlier weir) the rows of this subtask. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): number {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 2) return s.watermark ?? -Infinity;
    if (s.v !== 1) throw internalError(`interval join state has unknown version ${String((s as { v: unknown }).v)}`);
    s.sides.forEach((keys, side) => {
      for (const [k, hash, rows] of keys) if (subtaskOfHash(hash, parallelism) === subtask) this.adopt(side, k, hash, rows);
    });
    return s.watermark ?? -Infinity;
  }

  private adopt(side: number, k: unknown, hash: number, rows: [number, unknown[]][]): void {
    const map = this.state[side];
    if (map === undefined) throw internalError(`interval join state has no side ${side}`);
    const e = map.get(k);
    if (e) e.rows.push(...rows);
    else map.set(k, { hash, rows });
  }

  /** Rows held per side, for tests. */
  get rowCounts(): [number, number] {
    const count = (m: Map<unknown, KeyRows>): number => [...m.values()].reduce((a, e) => a + e.rows.length, 0);
    return [count(this.state[0]), count(this.state[1])];
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
