/**
 * Window Top-N (Flink's WindowRank): `ROW_NUMBER() OVER (PARTITION BY window_start, window_end, ...
 * ORDER BY o) <= N` over the insert-only output of a window aggregate.
 *
 * Rows are collected per (window_end, partition key); when the watermark reaches window_end - 1
 * the window's partitions are ranked and their first N rows emitted as +I with their row number,
 * once. The window aggregate below emits a window's rows before it forwards the watermark that
 * fired them, so they are here before that watermark; a row whose window_end - 1 is already at or
 * behind the watermark is late, dropped and counted ('late-rows-dropped').
 *
 * Rows that sort equal are ordered by their content (as RankOperator does), so the result does not
 * depend on arrival order. Per partition at most 2N rows are kept between fires (trimmed to N).
 *
 * State: the pending windows, each partition with the hash of its key (the hash the exchange
 * routed it by) and its rows, are keyed state under the state layer's contract (a
 * KeyGroupedStructure registered with ctx.state): a snapshot buckets the partitions by key group,
 * and a restore with any parallelism gets exactly the key groups the subtask owns. The operator's
 * own snapshot holds only the watermark; a restore takes the lowest of the old subtasks'.
 * Checkpoints of earlier weir versions hold everything in one blob per subtask (StateV1), still
 * read and filtered by subtask.
 */
import { deserializeState, serializeState } from '../../state/serde.js';
import { rowMapKey, valuesMapKey } from '../../state/key-part.js';
import { bucketByKeyGroup } from '../../state/key-group-buckets.js';
import type { KeyGroupedStructure } from '../../state/state-backend.js';
import { fireDueWindows, restoreWatermark, windowOf } from './event-time.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { compareRowIds, compareValues } from './rank.js';

export interface WindowRankConfig {
  readonly partitionKeys: readonly number[];
  readonly orderKeys: readonly { readonly index: number; readonly descending: boolean }[];
  /** N: rows ranked 1..N are output. */
  readonly limit: number;
  /** The input column holding window_end (one of the partition keys). */
  readonly windowEnd: number;
}

interface Part {
  readonly hash: number;
  rows: unknown[][];
}

/** Operator state of earlier weir versions: the watermark and every pending window. */
interface StateV1 {
  readonly v: 1;
  readonly watermark: number | null;
  /** [window end, [partition key, partition][]] */
  readonly windows: [number, [unknown, Part][]][];
}

/** Operator state since the state layer: the windows are keyed state. */
interface StateV2 {
  readonly v: 2;
  readonly watermark: number | null;
}

/** One key group's partitions in a snapshot (the key is recomputed from the rows). */
type KeyGroupData = [end: number, hash: number, rows: unknown[][]][];

export class WindowRankOperator implements Operator, KeyGroupedStructure {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private arity = 0;
  private readonly windows = new Map<number, Map<unknown, Part>>();
  private watermark = -Infinity;

  constructor(readonly config: WindowRankConfig) {
    if (!(config.limit >= 1)) throw internalError(`window rank: invalid limit ${config.limit}`);
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    const a = ctx.inputSchemas[0]?.fields.length;
    if (a === undefined) throw internalError('window rank: no input schema');
    this.arity = a;
    this.builder = new BatchBuilder(a + 1);
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => this.restore(bytes, ctx.subtaskIndex, ctx.parallelism));
    ctx.state.registerStructure('windows', this);
  }

  private readonly compareRows = (a: unknown[], b: unknown[]): number => {
    const keys = this.config.orderKeys;
    for (let k = 0; k < keys.length; k++) {
      const { index, descending } = keys[k]!;
      const c = compareValues(a[index], b[index]);
      if (c !== 0) return descending ? -c : c;
    }
    return compareRowIds(a, b);
  };

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    const cols = batch.columns;
    const ends = cols[this.config.windowEnd] as number[];
    const keys = this.config.partitionKeys;
    const limit = this.config.limit;
    let late = 0;
    for (let row = 0; row < n; row++) {
      if (batch.kinds[row] !== RowKind.INSERT && batch.kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('window rank: a retraction (-U/-D) reached a window Top-N, whose input must be insert-only');
      }
      const end = ends[row]!;
      if (end - 1 <= this.watermark) {
        late++;
        continue;
      }
      const key = rowMapKey(cols, row, keys);
      const parts = windowOf(this.windows, end);
      let part = parts.get(key);
      if (part === undefined) {
        part = { hash: hashRow(cols, row, keys), rows: [] };
        parts.set(key, part);
      }
      const values = new Array<unknown>(this.arity);
      for (let c = 0; c < this.arity; c++) values[c] = cols[c]![row];
      part.rows.push(values);
      if (part.rows.length > 2 * limit) {
        part.rows.sort(this.compareRows);
        part.rows.length = limit;
      }
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
  }

  /** Emits the top N of every window whose end - 1 <= the watermark, oldest first. */
  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
    if (fireDueWindows(this.windows, this.watermark, (_end, parts) => this.fire(parts))) {
      const out = this.builder.take();
      if (out !== null) this.output.emit(out);
    }
  }

  private fire(parts: Map<unknown, Part>): void {
    const b = this.builder;
    const limit = this.config.limit;
    for (const part of parts.values()) {
      part.rows.sort(this.compareRows);
      const top = Math.min(limit, part.rows.length);
      for (let i = 0; i < top; i++) {
        const r = part.rows[i]!;
        b.startRow(RowKind.INSERT);
        for (let c = 0; c < this.arity; c++) b.set(c, r[c]);
        b.set(this.arity, i + 1);
      }
    }
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV2 = { v: 2, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  /** KeyGroupedStructure: the partitions of the pending windows, bucketed by key group. */
  snapshotKeyGroups(): Iterable<readonly [number, KeyGroupData]> {
    return bucketByKeyGroup(this.partitions());
  }

  private *partitions(): Iterable<[number, KeyGroupData[number]]> {
    for (const [end, parts] of this.windows) for (const part of parts.values()) yield [part.hash, [end, part.hash, part.rows]];
  }

  /** KeyGroupedStructure: one key group's partitions, as snapshotKeyGroups gave them. */
  restoreKeyGroup(_keyGroup: number, data: unknown): void {
    for (const [end, hash, rows] of data as KeyGroupData) this.adopt(end, { hash, rows });
  }

  /** Partitions held over all pending windows (KeyGroupedStructure). */
  get size(): number {
    let n = 0;
    for (const parts of this.windows.values()) n += parts.size;
    return n;
  }

  /** The operator's own snapshot: the watermark, and (StateV1, an earlier weir) the windows of this subtask. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): number {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 2) return s.watermark ?? -Infinity;
    if (s.v !== 1) throw internalError(`window rank state has unknown version ${String((s as { v: unknown }).v)}`);
    for (const [end, parts] of s.windows) {
      for (const [, part] of parts) if (subtaskOfHash(part.hash, parallelism) === subtask) this.adopt(end, part);
    }
    return s.watermark ?? -Infinity;
  }

  private adopt(end: number, part: Part): void {
    if (part.rows.length === 0) return;
    // Keyed by its rows, not by a snapshot's key: snapshots before the shared key function concatenated every key.
    const key = valuesMapKey(this.config.partitionKeys.map((k) => part.rows[0]![k]));
    const w = windowOf(this.windows, end);
    w.set(key, part);
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
