/**
 * The bounded hand-over between a reader's fetch loop and its poll(): fetched chunks wait here in
 * fetch order. The fetch loop waits while the queue is full and resumes once poll() has drained it
 * to half; poll() on an empty queue waits a little for the fetch in flight.
 */
import type { FetchedMessage } from './kafka-internals.js';
import type { SplitState } from './kafka-split-state.js';

/** Messages fetched but not yet polled; the fetch loop waits above this. */
export const MAX_QUEUED_MESSAGES = 50_000;

/** The records one fetch response gave for one split, as far as poll() has consumed them. */
export interface Chunk {
  readonly split: SplitState;
  readonly messages: FetchedMessage[];
  /** The next message poll() takes. */
  i: number;
  /** The offset after everything the fetch covered (markers and aborted records included). */
  readonly next: number;
}

export class FetchQueue {
  /** poll() consumes the head. */
  readonly chunks: Chunk[] = [];
  /** Messages in `chunks` that poll() has not taken; whoever takes one counts it down. */
  queued = 0;
  private wakeFetcher: (() => void) | undefined;
  private wakePoller: (() => void) | undefined;

  get full(): boolean {
    return this.queued >= MAX_QUEUED_MESSAGES;
  }

  push(chunk: Chunk): void {
    this.chunks.push(chunk);
    this.queued += chunk.messages.length;
    this.wakePoller?.();
  }

  /** The fetch loop waits here while the queue is full. */
  waitForRoom(): Promise<void> {
    return new Promise<void>((r) => (this.wakeFetcher = r));
  }

  /** After poll() took messages: resumes a waiting fetch loop once half the room is free. */
  taken(): void {
    if (this.wakeFetcher && this.queued < MAX_QUEUED_MESSAGES / 2) {
      const wake = this.wakeFetcher;
      this.wakeFetcher = undefined;
      wake();
    }
  }

  /**
   * Waits up to `ms` for a chunk: the source task would otherwise sleep its idle wait even when
   * the fetch in flight lands a moment later.
   */
  async waitForChunk(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakePoller = done;
    });
    this.wakePoller = undefined;
  }

  /** On close: a fetch loop waiting for room must wake to see that it is stopped. */
  releaseFetcher(): void {
    this.wakeFetcher?.();
    this.wakeFetcher = undefined;
  }

  clear(): void {
    this.chunks.length = 0;
  }
}
