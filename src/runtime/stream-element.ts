import type { ChangeBatch } from '../model/changelog.js';

/**
 * What travels on a channel, in order. Barriers and watermarks are in-band: a barrier n on a
 * channel separates the records before checkpoint n from those after it.
 */
export type StreamElement =
  | { readonly kind: 'batch'; readonly batch: ChangeBatch }
  | { readonly kind: 'barrier'; readonly barrier: Barrier }
  /**
   * Event time in epoch milliseconds; every later row on this channel is at or after it.
   * `idle`: the producer has no data for now (all its splits idle) and must not hold the combined
   * watermark back until it sends a row or a watermark again (Flink's WatermarkStatus.IDLE).
   */
  | { readonly kind: 'watermark'; readonly timestamp: number; readonly idle?: boolean }
  /** The producer is finished; nothing follows on this channel. */
  | { readonly kind: 'end' };

export interface Barrier {
  readonly checkpointId: number;
  /** A savepoint: written under savepoints/<name>/ and kept until the user deletes it. */
  readonly savepoint?: { readonly name: string };
  /** The last checkpoint of a bounded job or of a stop: after it completes the job ends. */
  readonly final?: boolean;
}
