/**
 * Per-split watermark generation inside a source task (Flink's per-split watermarks of FLIP-27
 * sources). Each split keeps the largest watermark-expression value of its rows; the subtask's
 * watermark is the minimum over its splits that are neither finished nor idle.
 *
 * Readers do not say which split a batch came from, so the task compares positions() before and
 * after each poll: the splits whose position moved produced the batch. Every connector here emits
 * a batch from one split (datagen, files); a reader that mixes splits in one batch (Kafka) gets the
 * batch's maximum on every split that moved, which is Flink's per-subtask generation for those
 * splits.
 *
 * The per-split maximum is part of the checkpoint: positions are recorded wrapped as
 * `{ [WM_KEY]: max, [POS_KEY]: connectorPosition }` and unwrapped before the connector sees them.
 */
import type { ChangeBatch } from '../model/changelog.js';
import type { JsonValue } from './operator.js';
import type { SplitPosition } from './source.js';
import type { SourceWatermarkSpec } from './watermark.js';

const WM_KEY = '$weir.watermark';
const POS_KEY = '$weir.position';

interface SplitState {
  /** Largest watermark-expression value seen; -Infinity before the first row. */
  max: number;
  /** performance.now() of the split's last rows (or of the start). */
  lastRowsAt: number;
  finished: boolean;
  /** positions()' JSON of this split after the last poll. */
  lastPosition: string;
}

/** Splits checkpointed positions into what the connector recorded and the split watermarks. */
export function unwrapPositions(positions: readonly SplitPosition[]): { positions: SplitPosition[]; watermarks: Map<string, number> } {
  const watermarks = new Map<string, number>();
  const out = positions.map((p) => {
    const v = p.position;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(WM_KEY in v)) return p;
    const wm = v[WM_KEY];
    if (typeof wm === 'number') watermarks.set(p.split.id, wm);
    return { ...p, position: v[POS_KEY] ?? null };
  });
  return { positions: out, watermarks };
}

export class SourceWatermarks {
  private readonly extract: (batch: ChangeBatch) => number;
  private readonly splits = new Map<string, SplitState>();
  private emitted = -Infinity;
  private idle = false;
  private readonly startedAt: number;

  constructor(
    private readonly spec: SourceWatermarkSpec,
    restored: ReadonlyMap<string, number>,
    initial: readonly SplitPosition[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.extract = spec.createExtractor();
    const t = this.now();
    this.startedAt = t;
    for (const p of initial) {
      this.splits.set(p.split.id, {
        max: restored.get(p.split.id) ?? -Infinity,
        lastRowsAt: t,
        finished: p.finished === true,
        lastPosition: JSON.stringify(p.position),
      });
    }
  }

  /** After a poll that returned `batch`; `positions` are the reader's positions after it. */
  onBatch(batch: ChangeBatch, positions: readonly SplitPosition[]): void {
    const max = batch.size > 0 ? this.extract(batch) : -Infinity;
    const t = this.now();
    for (const p of positions) {
      let s = this.splits.get(p.split.id);
      const pos = JSON.stringify(p.position);
      if (s === undefined) {
        // A split discovered while running.
        s = { max: -Infinity, lastRowsAt: t, finished: false, lastPosition: '' };
        this.splits.set(p.split.id, s);
      }
      s.finished = p.finished === true;
      if (pos === s.lastPosition) continue;
      s.lastPosition = pos;
      if (batch.size > 0) {
        s.lastRowsAt = t;
        if (max > s.max) s.max = max;
      }
    }
  }

  /**
   * What to emit now: a watermark when the minimum over active splits advanced, 'idle' when every
   * unfinished split has been idle for the timeout (once, until rows arrive again), else undefined.
   */
  poll(): number | 'idle' | undefined {
    const timeout = this.spec.idleTimeoutMs;
    const t = timeout > 0 ? this.now() : 0;
    let min = Infinity;
    let active = 0;
    for (const s of this.splits.values()) {
      if (s.finished) continue;
      if (timeout > 0 && t - s.lastRowsAt >= timeout) continue;
      active++;
      if (s.max < min) min = s.max;
    }
    if (active === 0) {
      // Nothing unfinished (a bounded reader about to end) is not idleness: 'end' follows.
      if (timeout === 0 || this.idle) return undefined;
      if (this.splits.size === 0 ? t - this.startedAt < timeout : [...this.splits.values()].every((s) => s.finished)) return undefined;
      this.idle = true;
      return 'idle';
    }
    this.idle = false;
    if (min > this.emitted && min !== Infinity) {
      this.emitted = min;
      return min;
    }
    return undefined;
  }

  /** The reader's positions with each split's watermark, for a checkpoint. */
  wrap(positions: readonly SplitPosition[]): SplitPosition[] {
    return positions.map((p) => {
      const max = this.splits.get(p.split.id)?.max ?? -Infinity;
      const position: JsonValue = { [WM_KEY]: max === -Infinity ? null : max, [POS_KEY]: p.position };
      return { ...p, position };
    });
  }
}
