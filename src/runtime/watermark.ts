/**
 * The watermark a bounded source emits when it reached its end (Flink's MAX_WATERMARK): every
 * event-time window and timer fires. It travels before the final checkpoint's barrier, so what it
 * fires is covered by that checkpoint. Operators must flush on it, not in close(): output emitted
 * in close() comes after the final checkpoint and is never committed by a two-phase-commit sink.
 */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;
