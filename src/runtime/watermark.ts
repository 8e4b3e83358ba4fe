import type { ChangeBatch } from '../model/changelog.js';

/**
 * The watermark a bounded source emits when it reached its end (Flink's MAX_WATERMARK): every
 * event-time window and timer fires. It travels before the final checkpoint's barrier, so what it
 * fires is covered by that checkpoint. Operators must flush on it, not in close(): output emitted
 * in close() comes after the final checkpoint and is never committed by a two-phase-commit sink.
 */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

/**
 * How a source task generates watermarks (a table with `WATERMARK FOR ts AS <expr>`): per split,
 * the largest <expr> value seen so far; the subtask emits the minimum over its splits that are
 * neither finished nor idle, after a batch when it advanced.
 */
export interface SourceWatermarkSpec {
  /** Returns the batch's largest watermark expression value, or -Infinity when every row has NULL. Compiled once per subtask. */
  createExtractor(): (batch: ChangeBatch) => number;
  /** A split without rows for this long is idle and does not hold the watermark back; 0: never idle. */
  readonly idleTimeoutMs: number;
  /** For EXPLAIN: `watermark=[(ts - 5000:INTERVAL SECOND)]`. */
  readonly description: string;
}
