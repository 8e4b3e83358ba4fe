import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { compareRowIds, RankOperator } from '../../src/runtime/operators/rank.js';
import { keyPart } from '../../src/state/key-part.js';
import { seededRandom } from '../support/weir-process.js';
import { batch, harness, opened } from './harness.js';

/**
 * Top-N over random insert-only input with many ties and duplicates, checked against a brute
 * force: after every batch the rows the output has made live per partition are exactly the first
 * N of all rows so far, sorted by (ORDER BY columns, then the row itself), and with the row number
 * each position holds the row ranked there.
 */
const S: Schema = {
  fields: [
    { name: 'p', type: type('INT') },
    { name: 'o', type: type('INT') },
    { name: 'x', type: type('STRING') },
  ],
};

describe('rank operator over random insert-only input', () => {
  for (const [limit, descending, outputRank] of [
    [1, true, false],
    [1, false, true],
    [3, true, true],
    [3, false, false],
    [10, true, false],
  ] as const) {
    it(`top ${limit} ${descending ? 'DESC' : 'ASC'}${outputRank ? ' with the row number' : ''} equals the brute force after every batch`, async () => {
      const random = seededRandom(limit * 31 + (descending ? 1 : 0) + (outputRank ? 2 : 0));
      const h = harness([S]);
      const op = await opened(new RankOperator({ partitionKeys: [0], orderKeys: [{ index: 1, descending }], limit, outputRank, insertOnlyInput: true }), h);
      const all = new Map<number, unknown[][]>();
      // Live output rows per partition: row (without the number) → count; with the number, position → row.
      const live = new Map<string, number>();
      for (let b = 0; b < 60; b++) {
        const rows = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
          const r = [Math.floor(random() * 4), Math.floor(random() * 6), `v${Math.floor(random() * 3)}`];
          (all.get(r[0] as number) ?? all.set(r[0] as number, []).get(r[0] as number)!).push(r);
          return ['+I', ...r];
        });
        op.process(batch(...rows));
        for (const line of h.take()) {
          const kind = line.slice(0, 2);
          // Without the row number its column is not read downstream: leave it out.
          const k = outputRank ? line.slice(3, -1) : line.slice(3, line.lastIndexOf(','));
          const n = (live.get(k) ?? 0) + (kind === '+I' || kind === '+U' ? 1 : -1);
          expect(n).toBeGreaterThanOrEqual(0);
          if (n === 0) live.delete(k);
          else live.set(k, n);
        }
        const expected = new Map<string, number>();
        for (const [, rs] of all) {
          const sorted = [...rs].sort((a, c) => {
            const d = (a[1] as number) - (c[1] as number);
            if (d !== 0) return descending ? -d : d;
            const ia = `n${a[0]}|n${a[1]}|s${String(a[2]).length}:${a[2]}`;
            const ic = `n${c[0]}|n${c[1]}|s${String(c[2]).length}:${c[2]}`;
            return ia < ic ? -1 : ia > ic ? 1 : 0;
          });
          sorted.slice(0, limit).forEach((r, i) => {
            const k = `${r.join(', ')}${outputRank ? `, ${i + 1}` : ''}`;
            expected.set(k, (expected.get(k) ?? 0) + 1);
          });
        }
        expect(new Map([...live].sort())).toEqual(new Map([...expected].sort()));
      }
    });
  }
});

describe('compareRowIds', () => {
  it('orders rows as their concatenated keyParts compare, for every kind of value', () => {
    const random = seededRandom(7);
    const scalars: unknown[] = [null, true, false, 0, -0, 5, 12, 123, -4, 1.5, 1e21, 2n, -30n];
    const values = [...scalars, '', 'a', 'a|b', 'n12|', 's1:x', '12', 'ab', new Uint8Array([1, 2])];
    const pick = () => values[Math.floor(random() * values.length)];
    const id = (row: unknown[]) => row.map(keyPart).join('');
    for (let i = 0; i < 5000; i++) {
      const a = Array.from({ length: 3 }, pick);
      const b = random() < 0.3 ? [...a.slice(0, 2), pick()] : Array.from({ length: 3 }, pick);
      const expected = id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0;
      expect(Math.sign(compareRowIds(a, b)), `${id(a)} vs ${id(b)}`).toBe(expected);
    }
  });
});
