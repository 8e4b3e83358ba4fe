import { describe, expect, it } from 'vitest';
import { hashValue, subtaskOfHash } from '../../src/model/partition.js';
import { ownsKey, restoreKeyedMap, snapshotKeyedMap } from '../../src/state/keyed-state.js';

describe('keyed state', () => {
  it('re-splits restored keyed maps by key group for a new parallelism', () => {
    const old = [0, 1].map((s) => {
      const m = new Map<string, bigint>();
      for (let k = 0; k < 200; k++) if (subtaskOfHash(hashValue(`k${k}`), 2) === s) m.set(`k${k}`, BigInt(k));
      return snapshotKeyedMap(m);
    });
    const parts = [0, 1, 2].map((s) => restoreKeyedMap<string, bigint>(old, hashValue, s, 3));
    expect(parts.reduce((n, m) => n + m.size, 0)).toBe(200);
    for (const [s, m] of parts.entries()) {
      expect(m.size).toBeGreaterThan(0);
      for (const k of m.keys()) expect(ownsKey(hashValue(k), s, 3)).toBe(true);
    }
    expect(parts.find((m) => m.has('k42'))!.get('k42')).toBe(42n);
    // one old snapshot holding every key is split too
    const all = snapshotKeyedMap(new Map(Array.from({ length: 50 }, (_, k) => [k, k])));
    const sizes = [0, 1].map((s) => restoreKeyedMap<number, number>([all], hashValue, s, 2).size);
    expect(sizes[0] + sizes[1]).toBe(50);
    expect(Math.min(...sizes)).toBeGreaterThan(0);
  });
});
