/**
 * Window table function (Flink's WindowTableFunction) for TUMBLE, HOP and CUMULATE read directly
 * (not merged into a window aggregate): every input row is emitted once per window it belongs to,
 * with window_start, window_end and window_time (= window_end - 1) appended. HOP and CUMULATE
 * rows belong to several windows, so one input row may give several output rows.
 *
 * A (row, window) pair whose window_end - 1 is already at or behind the watermark is late: it is
 * dropped and counted ('late-rows-dropped'). Deciding here, right after the source (forward), is
 * what makes lateness a property of the input: the window Top-N / window join downstream never
 * sees a watermark ahead of a window whose rows this operator passed.
 *
 * State: only the watermark, so a restored job does not let a replayed late row through.
 */
import { deserializeState, serializeState } from '../../state/serde.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { assignWindows, nullWindowTime, restoreWatermark, type WindowShape, windowStart } from './event-time.js';

export interface WindowTvfConfig {
  /** The input column holding the rowtime. */
  readonly timeCol: number;
  readonly window: WindowShape;
}

interface StateV1 {
  readonly v: 1;
  readonly watermark: number | null;
}

export class WindowTvfOperator implements Operator {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private arity = 0;
  private watermark = -Infinity;
  /** Scratch: window ends of the current row (reused, no per-row allocation). */
  private readonly ends: number[] = [];

  constructor(readonly config: WindowTvfConfig) {
    const { size, slide } = config.window;
    if (!(size > 0 && slide > 0 && size % slide === 0)) throw internalError(`window TVF: invalid window size ${size} / slide ${slide}`);
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    const a = ctx.inputSchemas[0]?.fields.length;
    if (a === undefined) throw internalError('window TVF: no input schema');
    this.arity = a;
    this.builder = new BatchBuilder(a + 3);
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => {
      const s = deserializeState<StateV1>(bytes);
      if (s.v !== 1) throw internalError(`window TVF state has unknown version ${String((s as { v: unknown }).v)}`);
      return s.watermark ?? -Infinity;
    });
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const times = cols[this.config.timeCol] as (number | null)[];
    const arity = this.arity;
    const b = this.builder;
    const { window } = this.config;
    const ends = this.ends;
    let late = 0;
    for (let row = 0; row < n; row++) {
      if (kinds[row] !== RowKind.INSERT && kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('window TVF: a retraction (-U/-D) reached a window TVF, whose input must be insert-only');
      }
      const t = times[row];
      if (t === null || t === undefined) {
        throw nullWindowTime();
      }
      assignWindows(window, t, ends);
      for (let w = 0; w < ends.length; w++) {
        const end = ends[w]!;
        if (end - 1 <= this.watermark) {
          late++;
          continue;
        }
        b.startRow(RowKind.INSERT);
        for (let c = 0; c < arity; c++) b.set(c, cols[c]![row]);
        b.set(arity, windowStart(window, end));
        b.set(arity + 1, end);
        b.set(arity + 2, end - 1);
      }
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
    const out = b.take();
    if (out !== null) this.output.emit(out);
  }

  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV1 = { v: 1, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
