/**
 * Event-time window aggregation (Flink's WindowAggregate over TUMBLE / HOP / CUMULATE).
 *
 * Every input row is assigned by its time column to its windows (one for TUMBLE, size/slide for
 * HOP, up to size/step for CUMULATE) and accumulated into the (window, key) group. When the
 * watermark reaches window_end - 1 the window fires: one +I row per key, then the window's state
 * is dropped. Output is insert-only: a window is emitted once.
 *
 * A row is late, dropped and counted ('late-rows-dropped') when the first window it belongs to
 * has fired (its end - 1 <= current watermark), as Flink's slicing window operator decides.
 *
 * State: pending windows by end, each a Map from the key to its group (key values, the hash the
 * exchange routes it by, accumulators). The windows are the operator's keyed state under the state
 * layer's contract (a KeyGroupedStructure registered with ctx.state): a snapshot buckets the groups
 * by the key group of their hash, each bucket a list of [window end, groups], so a restore with any
 * parallelism gets exactly the key groups the subtask owns. The operator's own snapshot holds only
 * the watermark (v 2), so a restored job neither fires a window twice nor lets a replayed late row
 * reopen a fired one; several old subtasks' watermarks restore to the lowest. Checkpoints of
 * earlier versions (v 1: one blob with the watermark and every group) still restore, keeping the
 * groups whose hash routes to this subtask.
 */
import { compileAggregateInputs, type AggregateInputs } from '../../expr/aggregate-inputs.js';
import type { RowFn } from '../../expr/bound.js';
import { rowMapKey, valuesMapKey } from '../../state/key-part.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { internalError, unreachable } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { bucketByKeyGroup } from '../../state/key-group-buckets.js';
import type { KeyGroupedStructure } from '../../state/state-backend.js';
import type { AggregateSpec } from './keyed-aggregate.js';
import { assignWindows, fireDueWindows, mod, nullWindowTime, restoreWatermark, type WindowShape, windowStart, windowOf } from './event-time.js';

/** Part of this operator's config, so importable with it. */
export type { WindowShape };

/** An output group column: an input column, or a property of the window. */
export type WindowOutputColumn =
  | { readonly kind: 'key'; readonly index: number }
  | { readonly kind: 'window_start' }
  | { readonly kind: 'window_end' }
  | { readonly kind: 'window_time' };

export interface WindowAggregateConfig {
  /** Input column of the rowtime (epoch millis, never NULL). */
  readonly timeCol: number;
  readonly window: WindowShape;
  /** Output group columns, in order; the 'key' ones are the partitioning key, in this order. */
  readonly groups: readonly WindowOutputColumn[];
  /** Insert-only aggregate variants: the input is insert-only. */
  readonly aggs: readonly AggregateSpec[];
}

interface Group {
  readonly hash: number;
  readonly keys: unknown[];
  readonly accs: unknown[];
}

/** [window end, groups] pairs: a key group's section in the state layer, and all of a legacy snapshot's. */
type Windows = [number, Group[]][];

/** The operator's snapshot before the state layer: the watermark and every group. */
interface StateV1 {
  readonly v: 1;
  /** The watermark the operator had seen; -Infinity is stored as null. */
  readonly watermark: number | null;
  readonly windows: Windows;
}

/** The operator's own snapshot: the keyed windows are the state layer's. */
interface StateV2 {
  readonly v: 2;
  /** The watermark the operator had seen; -Infinity is stored as null. */
  readonly watermark: number | null;
}

const STAR_VALUE = 1;

/** The groups of a row's windows, by the end of the first (see rowGroups). */
interface RowGroups {
  end: number;
  readonly groups: Group[];
}

export class WindowAggregateOperator implements Operator, KeyGroupedStructure {
  private readonly keyCols: number[];
  private readonly fns: AggregateSpec['fn'][];
  private argCol: number[] = [];
  private argFn: (RowFn | null)[] = [];
  private filterFn: AggregateInputs['filterFn'] = [];
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  /** Pending windows by end; groups by key (the key string, or 0 without keys). */
  private readonly windows = new Map<number, Map<unknown, Group>>();
  private watermark = -Infinity;
  /** Window ends of one row (reused). */
  private readonly ends: number[] = [];
  /**
   * Per key: the groups of the windows of the last row with that key, and the first window's
   * end, which decides them (rows of a key in the same slide share their windows). A row whose
   * key and first end match goes straight to its groups: one lookup instead of one per window.
   * An entry never points at a fired window's group when it is used (a row whose first window has
   * fired is late and dropped first); it is cleared when windows fire only to free memory.
   */
  private readonly rowGroups: Map<unknown, RowGroups> | null;
  /** A row's groups when rowGroups is off (TUMBLE: one window a row, nothing to save); found anew each row. */
  private readonly scratch: RowGroups = { end: Number.NaN, groups: [] };

  constructor(readonly config: WindowAggregateConfig) {
    this.keyCols = config.groups.flatMap((g) => (g.kind === 'key' ? [g.index] : []));
    this.fns = config.aggs.map((a) => a.fn);
    this.rowGroups = config.window.kind === 'TUMBLE' ? null : new Map();
    const { kind, size, slide } = config.window;
    if (!(size > 0 && slide > 0 && size % slide === 0) || (kind === 'TUMBLE' && slide !== size)) {
      throw internalError(`window aggregate: invalid ${kind} window of size ${size} and slide ${slide}`);
    }
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    this.builder = new BatchBuilder(this.config.groups.length + this.config.aggs.length);
    ({ argCol: this.argCol, argFn: this.argFn, filterFn: this.filterFn } = compileAggregateInputs(this.config.aggs));
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => this.restore(bytes, ctx.subtaskIndex, ctx.parallelism));
    ctx.state.registerStructure('windows', this);
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const times = cols[this.config.timeCol] as (number | null)[];
    const keyCols = this.keyCols;
    const g = keyCols.length;
    const fns = this.fns;
    const m = fns.length;
    const argCols = this.argCol.map((c) => (c >= 0 ? cols[c] : null));
    const argFn = this.argFn;
    const filterFn = this.filterFn;
    const slide = this.config.window.slide;
    const ends = this.ends;
    const rowGroups = this.rowGroups;
    let late = 0;
    for (let row = 0; row < n; row++) {
      if (kinds[row] !== RowKind.INSERT && kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('window aggregate: a retraction (-U/-D) reached a window aggregate, whose input must be insert-only');
      }
      const t = times[row];
      if (t === null || t === undefined) {
        throw nullWindowTime();
      }
      // The first (smallest) window end of the row, as the end of its slice.
      const first = t - mod(t, slide) + slide;
      if (first - 1 <= this.watermark) {
        late++;
        continue;
      }
      const mapKey = rowMapKey(cols, row, keyCols);
      let mine = rowGroups?.get(mapKey);
      if (mine === undefined || mine.end !== first) {
        if (mine === undefined) {
          mine = rowGroups === null ? this.scratch : { end: first, groups: [] };
          rowGroups?.set(mapKey, mine);
        }
        mine.end = first;
        mine.groups.length = 0;
        assignWindows(this.config.window, t, ends);
        for (let w = 0; w < ends.length; w++) {
          const end = ends[w]!;
          const groups = windowOf(this.windows, end);
          let group = groups.get(mapKey);
          if (group === undefined) {
            const keys = new Array<unknown>(g);
            for (let k = 0; k < g; k++) keys[k] = cols[keyCols[k]!]![row];
            const accs = new Array<unknown>(m);
            for (let j = 0; j < m; j++) accs[j] = fns[j]!.create();
            group = { hash: g === 0 ? 0 : hashRow(cols, row, keyCols), keys, accs };
            groups.set(mapKey, group);
          }
          mine.groups.push(group);
        }
      }
      const mineGroups = mine.groups;
      for (let w = 0; w < mineGroups.length; w++) {
        const accs = mineGroups[w]!.accs;
        for (let j = 0; j < m; j++) {
          const ff = filterFn[j];
          if (ff !== null && !ff(cols, row)) continue;
          const ac = argCols[j];
          const af = argFn[j];
          accs[j] = fns[j]!.accumulate(accs[j], ac !== null ? ac![row] : af !== null ? af(cols, row) : STAR_VALUE);
        }
      }
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
  }

  /** Fires every window whose end - 1 <= the watermark, oldest first, then forwards the watermark. */
  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
    if (fireDueWindows(this.windows, this.watermark, (end, groups) => this.fire(end, groups))) {
      this.rowGroups?.clear();
      const out = this.builder.take();
      if (out !== null) this.output.emit(out);
    }
  }

  private fire(end: number, groups: Map<unknown, Group>): void {
    const b = this.builder;
    const columns = this.config.groups;
    const fns = this.fns;
    const start = windowStart(this.config.window, end);
    for (const group of groups.values()) {
      b.startRow(RowKind.INSERT);
      let k = 0;
      for (let c = 0; c < columns.length; c++) {
        const col = columns[c]!;
        switch (col.kind) {
          case 'key':
            b.set(c, group.keys[k++]);
            break;
          case 'window_start':
            b.set(c, start);
            break;
          case 'window_end':
            b.set(c, end);
            break;
          case 'window_time':
            b.set(c, end - 1);
            break;
          default:
            unreachable(col);
        }
      }
      for (let j = 0; j < fns.length; j++) b.set(columns.length + j, fns[j]!.getValue(group.accs[j]));
    }
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV2 = { v: 2, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  /** KeyGroupedStructure: the groups bucketed by the key group of their hash, as [end, groups] lists. */
  *snapshotKeyGroups(): Iterable<readonly [number, Windows]> {
    for (const [kg, items] of bucketByKeyGroup(this.groupsWithEnds())) {
      // Items come window by window, so each window's groups are contiguous.
      const windows: Windows = [];
      let last: [number, Group[]] | undefined;
      for (const [end, group] of items) {
        if (last === undefined || last[0] !== end) windows.push((last = [end, []]));
        last[1].push(group);
      }
      yield [kg, windows];
    }
  }

  private *groupsWithEnds(): Iterable<[number, [number, Group]]> {
    for (const [end, groups] of this.windows) for (const group of groups.values()) yield [group.hash, [end, group]];
  }

  /** KeyGroupedStructure: one key group's windows, as snapshotKeyGroups gave them. */
  restoreKeyGroup(_keyGroup: number, data: unknown): void {
    this.restoreWindows(data as Windows, null);
  }

  /** Non-keyed state: the watermark (v 2), or a whole snapshot of an earlier weir (v 1); returns the watermark. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): number {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 1) this.restoreWindows(s.windows, (hash) => subtaskOfHash(hash, parallelism) === subtask);
    else if (s.v !== 2) throw internalError(`window aggregate state has unknown version ${String((s as { v: unknown }).v)}`);
    return s.watermark ?? -Infinity;
  }

  /** Adds restored groups (those `keep` accepts, all without it). */
  private restoreWindows(windows: Windows, keep: ((hash: number) => boolean) | null): void {
    const g = this.keyCols.length;
    for (const [end, groups] of windows) {
      for (const group of groups) {
        if (group.keys.length !== g || group.accs.length !== this.fns.length) {
          throw internalError(
            `window aggregate state has ${group.keys.length} keys and ${group.accs.length} aggregates, the operator ${g} and ${this.fns.length}`,
          );
        }
        if (keep !== null && !keep(group.hash)) continue;
        const w = windowOf(this.windows, end);
        w.set(valuesMapKey(group.keys), group);
      }
    }
  }

  /** Pending (window, key) groups (KeyGroupedStructure). */
  get size(): number {
    return this.pendingGroups;
  }

  /** Pending (window, key) groups, for tests. */
  get pendingGroups(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.size;
    return n;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
