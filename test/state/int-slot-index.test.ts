import { describe, expect, it } from 'vitest';
import { Int32SlotIndex } from '../../src/state/int-slot-index.js';

describe('Int32SlotIndex', () => {
  it('agrees with a Map under random adds and deletes (with growth and backward-shift deletes)', () => {
    const idx = new Int32SlotIndex(8);
    const ref = new Map<number, number>();
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) % n;
    const mismatches: string[] = [];
    const check = (k: number) => {
      const want = ref.get(k) ?? -1;
      if (idx.get(k) !== want) mismatches.push(`key ${k}: ${idx.get(k)} instead of ${want}`);
    };
    for (let step = 0; step < 200_000; step++) {
      // A small key range forces long probe runs and many deletes inside them.
      const key = rnd(5000) - 2500 + (rnd(10) === 0 ? 2 ** 31 - 3000 : 0);
      if (ref.has(key) && rnd(2) === 0) {
        if (!idx.delete(key)) mismatches.push(`delete ${key} found nothing`);
        ref.delete(key);
      } else if (!ref.has(key)) {
        idx.add(key, step);
        ref.set(key, step);
      }
      if (step % 997 === 0) for (const k of ref.keys()) check(k);
      check(key);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(idx.size).toBe(ref.size);
    for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
    expect(idx.delete(123_456_789)).toBe(false);
  });

  it('handles the extreme int32 keys and -0 as 0', () => {
    const idx = new Int32SlotIndex();
    idx.add(-(2 ** 31), 1);
    idx.add(2 ** 31 - 1, 2);
    idx.add(0, 3);
    expect([idx.get(-(2 ** 31)), idx.get(2 ** 31 - 1), idx.get(-0), idx.get(5)]).toEqual([1, 2, 3, -1]);
  });
});
