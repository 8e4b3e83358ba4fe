/**
 * What the generating sources (datagen, nexmark) share: split k of n covers the generated rows
 * k, k + n, k + 2n, ..., its position is the number of rows it emitted (every value is a pure
 * function of the row number, so a restore regenerates exactly the next rows), a reader with
 * several splits interleaves them, and an optional wall-clock throttle paces the rows.
 */
import type { SplitPosition } from '../../src/runtime/source.js';

type Split = SplitPosition['split'];

/** The fields every generated split has (a source may add its own). */
export interface GeneratedSplit {
  readonly id: string;
  /** k: this split covers rows k, k + of, k + 2*of, ... */
  readonly index: number;
  readonly of: number;
}

export interface GeneratedSplitState<S extends GeneratedSplit> {
  readonly split: S;
  /** Rows in this split (Infinity when unbounded). */
  readonly rows: number;
  emitted: number;
}

/** Rows in split k of n when the source has `total` rows. */
export function splitRows(total: number, k: number, n: number): number {
  return total === Infinity ? Infinity : Math.max(0, Math.ceil((total - k) / n));
}

/** A reader's splits, their positions, and the round-robin over the unfinished ones. */
export class GeneratedSplits<S extends GeneratedSplit> {
  states: GeneratedSplitState<S>[] = [];
  private next = 0;

  /** Adds a split at its restored position (0 when it has none). */
  add(split: S, rows: number, restored: SplitPosition | undefined): void {
    this.states.push({ split, rows, emitted: typeof restored?.position === 'number' ? restored.position : 0 });
  }

  /** Round-robin over unfinished splits, so a reader with several splits interleaves them. */
  nextUnfinished(): GeneratedSplitState<S> | undefined {
    const n = this.states.length;
    for (let i = 0; i < n; i++) {
      const s = this.states[(this.next + i) % n]!;
      if (s.emitted < s.rows) {
        this.next = (this.next + i + 1) % n;
        return s;
      }
    }
    return undefined;
  }

  positions(): SplitPosition[] {
    return this.states.map((s) => ({
      split: s.split as unknown as Split,
      position: s.emitted,
      ...(s.emitted >= s.rows ? { finished: true } : {}),
    }));
  }

  clear(): void {
    this.states = [];
  }
}

/** The longest poll() sleeps waiting for the throttle, so barriers are never held up long. */
const MAX_THROTTLE_WAIT_MS = 50;

/** A wall-clock rate limit of `ratePerMs` rows per millisecond (Infinity: none). */
export class RowThrottle {
  private startedAt = 0;
  private emittedSinceStart = 0;

  constructor(
    readonly ratePerMs: number,
    private readonly batchSize: number,
  ) {}

  get unlimited(): boolean {
    return this.ratePerMs === Infinity;
  }

  /**
   * Rows that may be emitted now. Below ~50k rows/s this waits until a batch worth ~20 ms of rows
   * is due (at most MAX_THROTTLE_WAIT_MS), so slow sources emit few small batches, not many tiny ones.
   */
  async allowed(): Promise<number> {
    const rate = this.ratePerMs;
    const minBatch = Math.max(1, Math.min(this.batchSize, Math.floor(rate * 20)));
    let now = performance.now();
    if (this.startedAt === 0) {
      // Start with one batch due, so the first poll emits at once.
      this.startedAt = now - minBatch / rate;
      this.emittedSinceStart = 0;
    }
    // After a stall (backpressure, a slow checkpoint) do not burst more than one second's worth.
    const maxBacklog = Math.max(this.batchSize, rate * 1000);
    if ((now - this.startedAt) * rate - this.emittedSinceStart > maxBacklog) {
      this.startedAt = now - (this.emittedSinceStart + maxBacklog) / rate;
    }
    let allowed = Math.floor((now - this.startedAt) * rate) - this.emittedSinceStart;
    if (allowed >= minBatch) return allowed;
    const waitMs = Math.min(MAX_THROTTLE_WAIT_MS, (minBatch - allowed) / rate);
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(waitMs))));
    now = performance.now();
    allowed = Math.floor((now - this.startedAt) * rate) - this.emittedSinceStart;
    return Math.max(0, allowed);
  }

  emitted(rows: number): void {
    this.emittedSinceStart += rows;
  }
}
