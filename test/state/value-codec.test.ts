import { describe, expect, it } from 'vitest';
import { decodeCompact, encodeCompact } from '../../src/state/value-codec.js';
import { seededRandom } from '../support/weir-process.js';

/** The compact value form of the disk backend gives back what it was given, whatever it is. */
function roundTrip(v: unknown): unknown {
  const b = encodeCompact(v, 3);
  return decodeCompact(b, 3);
}

describe('compact value codec', () => {
  it('round-trips primitives, nested arrays and what it embeds in V8 format', () => {
    const values: unknown[] = [
      null,
      undefined,
      0,
      -0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31),
      2.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '',
      'héllo wörld ✓ 𝄞',
      true,
      false,
      12345678901234567890n,
      -5n,
      [],
      [1, 'a', null, [2, [3, undefined]], false],
      new Map<unknown, unknown>([
        [1, 2],
        ['x', [3]],
      ]),
      { a: 1, b: 'c' },
      Uint8Array.from([1, 2, 3]),
      [new Map([[5, 1]]), 7, Float64Array.from([1.5])],
      'x'.repeat(200_000),
      Array.from({ length: 50_000 }, (_, i) => [i, `s${i}`]),
    ];
    for (const v of values) expect(roundTrip(v)).toEqual(v);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('round-trips random rows and row lists', () => {
    const random = seededRandom(3);
    const any = (depth: number): unknown => {
      const r = random();
      if (r < 0.15) return null;
      if (r < 0.35) return Math.floor(random() * 2 ** 40) - 2 ** 39;
      if (r < 0.5) return random() * 1000;
      if (r < 0.65) return String.fromCharCode(...Array.from({ length: Math.floor(random() * 20) }, () => 32 + Math.floor(random() * 0x2000)));
      if (r < 0.7) return random() < 0.5;
      if (r < 0.75) return BigInt(Math.floor(random() * 1e9)) * 1_000_000_007n;
      if (depth > 3) return 1;
      return Array.from({ length: Math.floor(random() * 6) }, () => any(depth + 1));
    };
    for (let i = 0; i < 2000; i++) {
      const v = any(0);
      expect(roundTrip(v)).toEqual(v);
    }
  });
});
