import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { packColumn, unpackColumn, type PackedColumn } from '../../src/state/columns.js';

/** Packs, round-trips through v8 like a snapshot does, and unpacks to a plain array. */
function roundTrip(values: unknown[], sel: Int32Array | null = null): { packed: PackedColumn; back: unknown[] } {
  const n = sel === null ? values.length : sel.length;
  const packed = packColumn(values, n, sel);
  const restored = deserialize(serialize(packed)) as PackedColumn;
  return { packed, back: Array.from(unpackColumn(restored, n)) };
}

describe('packColumn / unpackColumn', () => {
  it('picks the narrowest typed array that holds every number exactly', () => {
    const cases: [unknown[], string][] = [
      [[0, 1, 255], 'Uint8Array'],
      [[0, 256, 65535], 'Uint16Array'],
      [[-1, 2 ** 31 - 1], 'Int32Array'],
      [[0, 2 ** 32 - 1], 'Uint32Array'],
      [[0, 2 ** 40], 'Float64Array'],
      [[1.5, 2], 'Float64Array'],
      [[-0, 1], 'Float64Array'],
      [[NaN, Infinity, -Infinity], 'Float64Array'],
    ];
    for (const [values, cls] of cases) {
      const { packed, back } = roundTrip(values);
      expect(packed.t).toBe('num');
      expect((packed.d as object).constructor.name).toBe(cls);
      expect(back).toEqual(values);
      values.forEach((v, i) => expect(Object.is(back[i], v)).toBe(true));
    }
  });

  it('keeps NULLs in a mask, bigints in a BigInt64Array, tuples as columns', () => {
    const nums = roundTrip([3, null, 7]);
    expect(nums.packed).toMatchObject({ t: 'num' });
    expect(nums.back).toEqual([3, null, 7]);
    expect(roundTrip([null, null]).back).toEqual([null, null]);

    const big = roundTrip([1n, null, -(2n ** 63n)]);
    expect(big.packed.t).toBe('i64');
    expect(big.back).toEqual([1n, null, -(2n ** 63n)]);

    const pairs = roundTrip([
      [1.5, 2],
      [0, 1],
      [10n, 3],
    ]);
    expect(pairs.packed).toMatchObject({ t: 'tuple', d: [{ t: 'any' }, { t: 'num' }] }); // element 0 mixes number and bigint
    expect(pairs.back).toEqual([
      [1.5, 2],
      [0, 1],
      [10n, 3],
    ]);
    const sums = roundTrip([
      [1.5, 2],
      [0, 1],
      [7, 3],
    ]);
    expect(sums.packed.t).toBe('tuple');
    expect(sums.back).toEqual([
      [1.5, 2],
      [0, 1],
      [7, 3],
    ]);
  });

  it('falls back to a plain array for anything else', () => {
    const values = ['a', 'b', null];
    expect(roundTrip(values)).toEqual({ packed: { t: 'any', d: values }, back: values });
    const mixed = [1, 'x', true, new Map([[1, 2]]), 2n ** 70n];
    expect(roundTrip(mixed).back).toEqual(mixed);
    expect(roundTrip([1n, 2n ** 64n]).packed.t).toBe('any'); // beyond int64
    expect(roundTrip([[1, 2], [3]]).packed.t).toBe('any'); // ragged tuples
    expect(roundTrip([]).back).toEqual([]);
  });

  it('gathers the selected positions only', () => {
    const { back } = roundTrip([10, 20, 30, 40], Int32Array.from([3, 1]));
    expect(back).toEqual([40, 20]);
    expect(roundTrip(['a', 'b', 'c'], Int32Array.from([2])).back).toEqual(['c']);
  });

  it('stores a million small counts in about a byte each', () => {
    const counts = new Float64Array(1_000_000).fill(3);
    const bytes = serialize(packColumn(counts, counts.length));
    expect(bytes.length).toBeLessThan(1_000_100);
  });
});
