/**
 * Running out of memory is a clear error, never a V8 fatal error. After every full (mark-compact)
 * garbage collection, what is left on the heap is live data; when it fills more than
 * HEAP_LIVE_FRACTION of the old generation's limit (heap-room.ts) the job fails with a user error naming the operator that
 * holds the most keys, how many, and the settings to change. The next allocations would only make
 * V8 collect again and again and then abort the process ("FATAL ERROR: ... JavaScript heap out of
 * memory", no weir error and nothing flushed).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { StateBackendType } from '../config/state-backend-type.js';
import { HEAP_LIVE_FRACTION, type HeapUse, heapExhaustedError, heapUse, noteLiveHeap, type StateSize } from '../state/heap-room.js';

export { HEAP_LIVE_FRACTION, type StateSize };

/** The error for a heap whose live data passed HEAP_LIVE_FRACTION of the limit, or undefined while there is room. */
export function heapExhausted(use: HeapUse, sizes: readonly StateSize[], backend: StateBackendType): Error | undefined {
  return use.used <= HEAP_LIVE_FRACTION * use.limit ? undefined : heapExhaustedError(use, sizes, backend);
}

/**
 * Watches the heap after every full GC while a job runs; calls `onExhausted` once with the error.
 * Returns the function that stops watching.
 */
export function watchHeap(stateSizes: () => readonly StateSize[], backend: StateBackendType, onExhausted: (e: Error) => void): () => void {
  let done = false;
  const observer = new PerformanceObserver((list) => {
    if (done) return;
    const full = list.getEntries().some((e) => (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!full) return;
    const use = heapUse();
    noteLiveHeap(use.used);
    const error = heapExhausted(use, stateSizes(), backend);
    if (error === undefined) return;
    done = true;
    observer.disconnect();
    onExhausted(error);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    done = true;
    observer.disconnect();
  };
}
