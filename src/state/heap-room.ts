/**
 * How much room the V8 heap has, as the heap backend sees it: the live data after the latest full
 * garbage collection (noted by the job's heap watch, src/job/heap-watch.ts) plus what a structure
 * is about to allocate at once must stay under HEAP_ROOM_FRACTION of the old generation's limit.
 * A structure that grows by doubling holds its old and its new storage at the same time, and that
 * one step can be what V8 cannot satisfy (it then aborts the process).
 */
import { getHeapStatistics } from 'node:v8';
import type { StateBackendType } from '../config/state-backend-type.js';
import { userError } from '../errors.js';

/** Live data after a full GC above this share of the heap limit fails the job (see heap-watch.ts). */
export const HEAP_LIVE_FRACTION = 0.75;
/** Live data plus one allocation above this share of the heap limit fails it before it is tried. */
export const HEAP_ROOM_FRACTION = 0.95;

let liveAfterGc = 0;

/** The job's heap watch notes the heap's used bytes after each full GC. */
export function noteLiveHeap(bytes: number): void {
  liveAfterGc = bytes;
}

export interface HeapUse {
  readonly used: number;
  readonly limit: number;
}

/**
 * The young generation V8 counts in `heap_size_limit` on top of the old generation: three
 * semi-spaces (two, and the new large-object space) of `--max-semi-space-size` MiB, 16 by default
 * on 64-bit Node 20. Measured: --max-old-space-size=64, 96, 128, 160 give limits of 112, 144,
 * 176, 208 MiB.
 */
function youngGenerationBytes(): number {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  let semiMiB = 16;
  for (const f of flags) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(f);
    if (m) semiMiB = Number(m[1]);
  }
  return 3 * semiMiB * 1024 * 1024;
}

const YOUNG_GENERATION = youngGenerationBytes();

/**
 * The limit live data is held to: the old generation's (what --max-old-space-size sets). Live
 * data after a full GC sits there; against the whole heap limit, which adds the young generation,
 * the fractions below could not be reached on a small heap before V8 aborts.
 */
function oldGenerationLimit(): number {
  const limit = getHeapStatistics().heap_size_limit;
  return limit > 2 * YOUNG_GENERATION ? limit - YOUNG_GENERATION : limit;
}

export function heapUse(): HeapUse {
  return { used: getHeapStatistics().used_heap_size, limit: oldGenerationLimit() };
}

/** Whether allocating `bytes` at once leaves the heap under HEAP_ROOM_FRACTION of its old generation's limit. */
export function heapHasRoomFor(bytes: number): boolean {
  return liveAfterGc + bytes <= HEAP_ROOM_FRACTION * oldGenerationLimit();
}

export interface StateSize {
  /** The subtask's label, e.g. 'KeyedAggregate (1/2)'. */
  readonly operator: string;
  readonly keys: number;
}

const MiB = 1024 * 1024;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The error for a heap that cannot hold the state: `use.used` live bytes (plus `growing`, about to be allocated). */
export function heapExhaustedError(use: HeapUse, sizes: readonly StateSize[], backend: StateBackendType, growing = 0): Error {
  const largest = sizes.reduce<StateSize | undefined>((a, s) => (a === undefined || s.keys > a.keys ? s : a), undefined);
  const holder =
    largest === undefined || largest.keys === 0
      ? 'no operator holds keyed state, so the rows in flight or a connector hold it'
      : `the largest state is operator '${largest.operator}' with ${fmt(largest.keys)} keys (${
          backend === 'hashmap'
            ? "state.backend.type 'hashmap' keeps state in the heap"
            : `state.backend.type '${backend}' keeps group aggregates and windows in the heap, and a cache of the rest`
        })`;
  const what =
    growing > 0
      ? `growing a state table by ${fmt(growing / MiB)} MiB would not fit next to the ${fmt(use.used / MiB)} MiB live after the last full garbage collection in the heap's ${fmt(use.limit / MiB)} MiB limit`
      : `after a full garbage collection the heap still holds ${fmt(use.used / MiB)} MiB of its ${fmt(use.limit / MiB)} MiB limit`;
  return userError(
    'HEAP_EXHAUSTED',
    `weir ran out of memory: ${what}; ${holder}. Give the process more heap (NODE_OPTIONS=--max-old-space-size=<MiB>), or set 'table.exec.state.ttl' so that keys idle that long expire`,
    { details: { usedBytes: use.used, limitBytes: use.limit, ...(largest ? { operator: largest.operator, keys: largest.keys } : {}) } },
  );
}

/** The live bytes after the latest full GC (0 before the first). */
export function liveHeapAfterGc(): number {
  return liveAfterGc;
}
