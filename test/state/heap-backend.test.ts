import { describe, expect, it } from 'vitest';
import { hashValue, keyGroupOf, keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import type { KeyGroupSection } from '../../src/state/state-backend.js';

function backend(subtask: number, parallelism: number, restored: readonly KeyGroupSection[] = [], ttlMs = 0, onExpired?: (n: number) => void) {
  const keyGroups = keyGroupRange(subtask, parallelism);
  const mine = restored.filter((s) => s.keyGroup >= keyGroups.start && s.keyGroup <= keyGroups.end).map((s) => s.bytes);
  return new HeapKeyedStateBackend({ keyGroups, ttlMs, restored: mine, label: 'test', ...(onExpired ? { onExpired } : {}) });
}

const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);

describe('heap keyed state backend', () => {
  it('keeps values by key, cuts snapshots by key group and restores each key group where it now belongs', () => {
    const old = [0, 1].map((s) => backend(s, 2));
    for (const k of keys) {
      const h = hashValue(k);
      const b = old.find((x) => keyGroupOf(h) >= x.keyGroups.start && keyGroupOf(h) <= x.keyGroups.end)!;
      b.valueState<string, number>('sum').put(k, h, Number(k.slice(1)));
      b.valueState<string, string>('name').put(k, h, k.toUpperCase());
    }
    old[0].valueState<string, number>('sum').delete('k0', hashValue('k0'));
    expect(old[0].keyCount() + old[1].keyCount()).toBe(2 * keys.length - (keyGroupOf(hashValue('k0')) < 64 ? 1 : 0));
    const sections = old.flatMap((b) => b.snapshot().sections);
    // one section per non-empty key group, in order, each naming its key group
    expect(sections.map((s) => s.keyGroup)).toEqual([...new Set(keys.map((k) => keyGroupOf(hashValue(k))))].sort((a, b) => a - b));

    const now = [0, 1, 2].map((s) => backend(s, 3, sections));
    const sums = now.map((b) => b.valueState<string, number>('sum'));
    expect(sums.reduce((n, s) => n + s.size, 0)).toBe(keys.length - (keyGroupOf(hashValue('k0')) < 64 ? 1 : 0));
    for (const k of keys.slice(1)) {
      const h = hashValue(k);
      const owner = now.findIndex((b) => keyGroupOf(h) >= b.keyGroups.start && keyGroupOf(h) <= b.keyGroups.end);
      expect(sums[owner].get(k, h)).toBe(Number(k.slice(1)));
    }
    const seen: string[] = [];
    for (const s of sums) s.forEach((v, k) => seen.push(`${k}=${v}`));
    expect(seen.length).toBe(sums.reduce((n, s) => n + s.size, 0));
    // the state never declared after the restore stays in the next snapshot
    const again = backend(
      0,
      1,
      now.flatMap((b) => b.snapshot().sections),
    );
    expect(again.valueState<string, string>('name').get('k7', hashValue('k7'))).toBe('K7');
  });

  it('refuses a key of a key group it does not own, and a restored section of one', () => {
    const b = backend(0, 2);
    const foreign = keys.find((k) => keyGroupOf(hashValue(k)) >= 64)!;
    expect(() => b.valueState('s').put(foreign, hashValue(foreign), 1)).toThrow(/key group \d+ reached the subtask owning key groups 0-63/);
    const other = backend(1, 2);
    other.valueState('s').put(foreign, hashValue(foreign), 1);
    const section = other.snapshot().sections[0];
    expect(() => new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 2), ttlMs: 0, restored: [section.bytes], label: 'test' })).toThrow(/key group/);
  });

  it('packs keys and values column by column: 100k int keys with rows of two small ints take ~4 bytes each', () => {
    const b = backend(0, 1);
    const s = b.valueState<number, [number, number]>('rows');
    for (let k = 0; k < 100_000; k++) s.put(k, hashValue(k), [k % 200, 1]);
    const bytes = b.snapshot().sections.reduce((n, x) => n + x.bytes.length, 0);
    expect(bytes).toBeLessThan(100_000 * 8); // key Int32 (4 B) + two Uint8 columns, plus ~100 B per key group
    const r = backend(0, 1, b.snapshot().sections).valueState<number, [number, number]>('rows');
    expect(r.size).toBe(100_000);
    expect(r.get(4321, hashValue(4321))).toEqual([121, 1]);
  });

  it('converts restored values with migrate', () => {
    const b = backend(0, 1);
    b.valueState<string, number[]>('rows').put('a', hashValue('a'), [1, 2]);
    const r = backend(0, 1, b.snapshot().sections);
    const rows = r.valueState<string, number[]>('rows', { migrate: (v) => [...(v as number[]), null] });
    expect(rows.get('a', hashValue('a'))).toEqual([1, 2, null]);
  });

  it('expires keys not written for the TTL: never returned, cleaned up a bounded number per advance, afresh after a restore', () => {
    let expired = 0;
    const b = backend(0, 1, [], 1000, (n) => void (expired += n));
    b.advanceTime(10_000);
    const s = b.valueState<string, number>('s', { ttl: true });
    const plain = b.valueState<string, number>('plain');
    for (const k of keys) {
      s.put(k, hashValue(k), 1);
      plain.put(k, hashValue(k), 1);
    }
    b.advanceTime(10_999);
    s.put('k1', hashValue('k1'), 2); // a write restarts k1's time to live
    expect(s.get('k2', hashValue('k2'))).toBe(1);
    b.advanceTime(11_000);
    // cleanup is incremental: one advance examines a bounded number of keys (256), not all 500
    expect(expired).toBeGreaterThan(0);
    expect(expired).toBeLessThanOrEqual(256);
    expect(s.size).toBe(keys.length - expired);
    expect(s.get('k2', hashValue('k2'))).toBeUndefined();
    expect(s.get('k1', hashValue('k1'))).toBe(2);
    const live: string[] = [];
    s.forEach((_, k) => live.push(k));
    expect(live).toEqual(['k1']);
    for (let t = 11_001; s.size > 1; t++) b.advanceTime(t);
    expect(expired).toBe(keys.length - 1);
    expect(plain.size).toBe(keys.length); // a state without ttl never expires
    const snapshot = b.snapshot().sections;
    const restored = backend(0, 1, snapshot, 1000);
    restored.advanceTime(50_000);
    expect(restored.valueState<string, number>('s', { ttl: true }).get('k1', hashValue('k1'))).toBe(2);
  });
});
