import { describe, expect, it } from 'vitest';
import { KeyFilter } from '../../src/state/key-filter.js';

/** The disk backend skips the store read of a key its filter says is absent: it must never say so of a key added. */
describe('key filter', () => {
  it('has no false negatives and ~1% false positives as it grows past many segments', () => {
    const f = new KeyFilter();
    const n = 600_000;
    for (let i = 0; i < n; i++) f.add(i % 2 === 0 ? i * 7 : `k${i}`);
    let missed = 0;
    for (let i = 0; i < n; i++) if (!f.mayContain(i % 2 === 0 ? i * 7 : `k${i}`)) missed++;
    expect(missed).toBe(0);
    let positives = 0;
    const probes = 200_000;
    for (let i = 0; i < probes; i++) if (f.mayContain(i % 2 === 0 ? -1 - i * 3.5 : `other${i}`)) positives++;
    expect(positives / probes).toBeLessThan(0.05);
    expect(f.bytes).toBeLessThan(n * 4);
  });

  it('tells apart numbers that share their low bits and strings that differ in one character', () => {
    const f = new KeyFilter();
    f.add(2 ** 40);
    f.add('abc');
    expect(f.mayContain(2 ** 40)).toBe(true);
    expect(f.mayContain('abc')).toBe(true);
    let positives = 0;
    for (let i = 1; i < 1000; i++) if (f.mayContain(2 ** 40 + i * 2 ** 32) || f.mayContain(`ab${String.fromCharCode(99 + i)}`)) positives++;
    expect(positives).toBeLessThan(20);
  });
});
