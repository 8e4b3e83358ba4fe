import type { Channel } from './channel.js';
import type { Barrier, StreamElement } from './stream-element.js';

export interface InputChannel {
  readonly channel: Channel;
  /** The operator input this channel feeds (JobEdge.targetInput). */
  readonly input: number;
}

/**
 * The input side of an operator subtask: picks the next element round-robin over its channels,
 * aligns barriers and combines watermarks.
 *
 * Alignment (EXACTLY_ONCE): once barrier n arrives on a channel, that channel is blocked (its later
 * elements stay in the channel, which backpressures its producer) until n has arrived on every
 * channel that has not ended; then the gate reports the barrier as aligned, the task snapshots and
 * forwards it, and calls `releaseAll()`. A newer barrier arriving mid-alignment abandons the older
 * one (it was aborted by the coordinator); barriers older than the current one are ignored.
 * AT_LEAST_ONCE: the same bookkeeping without blocking.
 *
 * Watermarks: the combined watermark is the minimum over channels that have neither ended nor
 * said they are idle; it never goes back. An idle channel is active again with its next batch or
 * watermark (its watermark then counts again, so the combined one waits for it to catch up).
 */
export class InputGate {
  private readonly blocked: boolean[];
  private readonly ended: boolean[];
  private readonly arrived: boolean[];
  private readonly watermarks: number[];
  /** Channels whose producer said it is idle (see StreamElement 'watermark'); they hold no watermark back. */
  private readonly idle: boolean[];
  private idleCount = 0;
  private endedCount = 0;
  private cursor = 0;
  private currentId = 0;
  private aligning = false;
  private currentBarrier: Barrier | undefined;
  private combinedWatermark = -Infinity;
  /** Index of the channel the last polled element came from. */
  lastIndex = -1;

  constructor(
    readonly channels: readonly InputChannel[],
    private readonly exactlyOnce: boolean,
  ) {
    const n = channels.length;
    this.blocked = new Array<boolean>(n).fill(false);
    this.ended = new Array<boolean>(n).fill(false);
    this.arrived = new Array<boolean>(n).fill(false);
    this.watermarks = new Array<number>(n).fill(-Infinity);
    this.idle = new Array<boolean>(n).fill(false);
  }

  /** Some channel is idle (cheap check before markActive on the hot path). */
  get hasIdle(): boolean {
    return this.idleCount > 0;
  }

  /** Every channel that has not ended is idle: the subtask's own output is idle. */
  get allIdle(): boolean {
    return this.idleCount > 0 && this.idleCount + this.endedCount >= this.channels.length;
  }

  /** Channel i sent data: it is active again. */
  markActive(i: number): void {
    if (this.idle[i]) {
      this.idle[i] = false;
      this.idleCount--;
    }
  }

  /** Channel i is idle; returns the new combined watermark when leaving it out advanced it. */
  onIdle(i: number): number | undefined {
    if (!this.idle[i] && !this.ended[i]) {
      this.idle[i] = true;
      this.idleCount++;
    }
    return this.advanceWatermark();
  }

  get allEnded(): boolean {
    return this.endedCount === this.channels.length;
  }

  /** Whether channel i is blocked by alignment (for tests and diagnostics). */
  isBlocked(i: number): boolean {
    return this.blocked[i];
  }

  /** The next element from an unblocked, unfinished channel, round-robin; undefined if none is ready. */
  poll(): StreamElement | undefined {
    const channels = this.channels;
    const n = channels.length;
    if (n === 1) {
      if (this.blocked[0] || this.ended[0]) return undefined;
      const el = channels[0].channel.poll();
      if (el !== undefined) this.lastIndex = 0;
      return el;
    }
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      if (this.blocked[i] || this.ended[i]) continue;
      const el = channels[i].channel.poll();
      if (el !== undefined) {
        this.lastIndex = i;
        this.cursor = (i + 1) % n;
        return el;
      }
    }
    return undefined;
  }

  /** Records barrier arrival on channel i; returns the barrier once it is aligned on all channels. */
  onBarrier(i: number, barrier: Barrier): Barrier | undefined {
    const id = barrier.checkpointId;
    if (id < this.currentId || (id === this.currentId && !this.aligning)) return undefined;
    if (id > this.currentId) {
      if (this.aligning) this.releaseAll();
      this.currentId = id;
      this.aligning = true;
      this.currentBarrier = barrier;
      this.arrived.fill(false);
    }
    if (!this.arrived[i]) {
      this.arrived[i] = true;
      if (this.exactlyOnce) this.blocked[i] = true;
    }
    return this.checkAligned();
  }

  /** Channel i delivered `end`: it counts as having delivered every later barrier. */
  onEnd(i: number): Barrier | undefined {
    this.markActive(i);
    if (!this.ended[i]) {
      this.ended[i] = true;
      this.blocked[i] = false;
      this.endedCount++;
    }
    return this.checkAligned();
  }

  /** The coordinator aborted checkpoint `id`: stop aligning it and unblock. */
  abort(id: number): void {
    if (this.aligning && this.currentId === id) {
      this.aligning = false;
      this.releaseAll();
    }
  }

  releaseAll(): void {
    this.blocked.fill(false);
  }

  /** Records a watermark of channel i; returns the new combined minimum when it advanced. */
  onWatermark(i: number, timestamp: number): number | undefined {
    this.markActive(i);
    if (!(timestamp > this.watermarks[i])) return undefined;
    this.watermarks[i] = timestamp;
    return this.advanceWatermark();
  }

  /** After an `end`: the finished channel no longer holds the combined watermark back. */
  advanceWatermark(): number | undefined {
    let min = Infinity;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (!this.ended[i] && !this.idle[i] && this.watermarks[i] < min) min = this.watermarks[i];
    }
    if (min === Infinity || !(min > this.combinedWatermark)) return undefined;
    this.combinedWatermark = min;
    return min;
  }

  private checkAligned(): Barrier | undefined {
    if (!this.aligning) return undefined;
    for (let i = 0; i < this.arrived.length; i++) {
      if (!this.arrived[i] && !this.ended[i]) return undefined;
    }
    this.aligning = false;
    return this.currentBarrier;
  }
}
