/**
 * Event time as the windowed operators (window aggregate, window TVF, window rank, window join,
 * session windows) and the interval join share it: which windows a time falls in, when a window
 * fires, and the watermark a restored subtask resumes from. All times are epoch milliseconds;
 * a window [start, end) fires once the watermark reaches end - 1 (its window_time).
 */
import { type WeirError, unreachable, userError } from '../../errors.js';

/** Window shape, sizes in milliseconds (see WindowSpec in src/plan/logical.ts). */
export interface WindowShape {
  readonly kind: 'TUMBLE' | 'HOP' | 'CUMULATE';
  readonly size: number;
  /** HOP: the slide; CUMULATE: the step; TUMBLE: the size. */
  readonly slide: number;
}

/** t mod m in [0, m), also for negative t (timestamps before 1970). */
export function mod(t: number, m: number): number {
  const r = t % m;
  return r < 0 ? r + m : r;
}

/** Fills `ends` with the ends of the windows containing t, smallest first (reused: no allocation per row). */
export function assignWindows(window: WindowShape, t: number, ends: number[]): void {
  ends.length = 0;
  const { kind, size, slide } = window;
  switch (kind) {
    case 'TUMBLE':
      ends.push(t - mod(t, size) + size);
      return;
    case 'HOP':
      for (let end = t - mod(t, slide) + slide; end - size <= t; end += slide) ends.push(end);
      return;
    case 'CUMULATE': {
      const start = t - mod(t, size);
      for (let end = t - mod(t, slide) + slide; end <= start + size; end += slide) ends.push(end);
      return;
    }
    default:
      unreachable(kind);
  }
}

/** The start of the window ending at `end`: a CUMULATE window starts where its size-long period does. */
export function windowStart(window: WindowShape, end: number): number {
  return window.kind === 'CUMULATE' ? end - 1 - mod(end - 1, window.size) : end - window.size;
}

/** The pending window ending at `end`: its groups by key, created empty on first use. */
export function windowOf<K, V>(windows: Map<number, Map<K, V>>, end: number): Map<K, V> {
  let w = windows.get(end);
  if (w === undefined) windows.set(end, (w = new Map()));
  return w;
}

/**
 * Fires, oldest first, every pending window the watermark has reached and forgets it. Returns
 * whether any fired (so the caller emits what `fire` built).
 */
export function fireDueWindows<W>(windows: Map<number, W>, watermark: number, fire: (end: number, window: W) => void): boolean {
  const due: number[] = [];
  for (const end of windows.keys()) if (end - 1 <= watermark) due.push(end);
  if (due.length === 0) return false;
  due.sort((a, b) => a - b);
  for (const end of due) {
    fire(end, windows.get(end)!);
    windows.delete(end);
  }
  return true;
}

/**
 * Restores each snapshot with `restore`, which returns that snapshot's watermark, and gives the
 * watermark to resume from: the lowest, because another parallelism merges several old subtasks
 * and the lowest drops no row any of them would have kept (-Infinity on a fresh start).
 */
export function restoreWatermark(restoredState: readonly Uint8Array[], restore: (bytes: Uint8Array) => number): number {
  let wm: number | undefined;
  for (const bytes of restoredState) {
    const w = restore(bytes);
    wm = wm === undefined ? w : Math.min(wm, w);
  }
  return wm ?? -Infinity;
}

/** A row without a time has no window: the user filters it out or gives it a default. */
export function nullWindowTime(): WeirError {
  return userError(
    'NULL_ROWTIME',
    'a row has NULL in the time column of a window: event-time windows need a non-NULL time attribute; filter out NULLs or use COALESCE in a computed column',
  );
}
