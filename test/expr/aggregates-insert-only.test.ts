import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { type AggregateFunction, resolveAggregate } from '../../src/expr/aggregates.js';
import { formatType, type SqlType } from '../../src/model/types.js';
import { isWeirError } from '../../src/errors.js';
import { T } from './helpers.js';

const resolve = (name: string, t: SqlType | undefined, retractable: boolean, distinct = false): AggregateFunction =>
  resolveAggregate({ name, distinct, star: t === undefined }, t ? [t] : [], { retractable });

/** getValue after each accumulated value; optionally round-trips the accumulator through v8 at `at`. */
function values(f: AggregateFunction, input: unknown[], at = -1): unknown[] {
  let acc = f.create();
  return input.map((v, i) => {
    acc = f.accumulate(acc, v);
    if (i === at) acc = deserialize(serialize(acc));
    return f.getValue(acc);
  });
}

const bytes = (...b: number[]) => Uint8Array.from(b);

/** Every call and an insert-only stream for it (NULLs included). */
const CASES: [string, SqlType | undefined, boolean, unknown[]][] = [
  ['COUNT', undefined, false, [null, 1, 2]],
  ['COUNT', T('INT'), false, [null, 1, 2, null]],
  ['COUNT', T('STRING'), true, ['a', null, 'a', 'b']],
  ['COUNT', T('BYTES'), true, [bytes(1), bytes(1), bytes(2)]],
  ['SUM', T('INT'), false, [null, 5, -7, 2]],
  ['SUM', T('DOUBLE'), false, [-0, 0.1, 0.2, null, 1e300]],
  ['SUM', T('DOUBLE'), false, [-0]],
  ['SUM', T('DECIMAL', true, 10, 2), false, [null, 105n, -250n]],
  ['SUM', T('INT'), true, [5, 5, null, 3]],
  ['SUM', T('DECIMAL', true, 10, 2), true, [5n, 5n, 3n]],
  ['AVG', T('INT'), false, [null, 1, 2, -10]],
  ['AVG', T('DOUBLE'), true, [1, 1, 4]],
  ['AVG', T('DECIMAL', true, 10, 2), false, [100n, 200n, 200n]],
  ['MIN', T('INT'), false, [null, 5, 3, 8, 3]],
  ['MAX', T('STRING'), false, ['b', 'z', null, 'a']],
  ['MAX', T('DECIMAL', true, 10, 2), false, [150n, 1500n, 20n]],
  ['MIN', T('TIMESTAMP', true, 3), false, [1_700_000_000_000, 1_600_000_000_000]],
  ['MAX', T('BOOLEAN'), false, [false, null, true, false]],
];

describe('insert-only aggregates (retractable: false)', () => {
  it('are resolved only when asked for, with the same result types', () => {
    for (const [name, t, distinct] of CASES) {
      const r = resolve(name, t, true, distinct);
      const io = resolve(name, t, false, distinct);
      expect(r.retractable).toBe(true);
      expect(io.retractable).toBe(false);
      expect(formatType(io.resultType)).toBe(formatType(r.resultType));
    }
    expect(resolveAggregate({ name: 'MAX', distinct: false, star: false }, [T('INT')]).retractable).toBe(true);
  });

  it('give the same results as the retractable variants on insert-only input, also across v8 round trips', () => {
    for (const [name, t, distinct, input] of CASES) {
      const expected = values(resolve(name, t, true, distinct), input);
      const io = resolve(name, t, false, distinct);
      const label = `${name}${distinct ? ' DISTINCT' : ''}(${t ? formatType(t) : '*'})`;
      expect({ label, got: values(io, input) }).toEqual({ label, got: expected });
      for (let at = 0; at < input.length; at++) expect({ label, at, got: values(io, input, at) }).toEqual({ label, at, got: expected });
    }
  });

  it('MIN/MAX keep only the extreme, as a plain value', () => {
    const max = resolve('MAX', T('INT'), false);
    expect(max.create()).toBeNull();
    let acc = max.create();
    for (const v of [3, 9, null, 4]) acc = max.accumulate(acc, v);
    expect(acc).toBe(9);
    const min = resolve('MIN', T('STRING'), false);
    expect(min.accumulate(min.accumulate(min.create(), 'q'), 'b')).toBe('b');
  });

  it('SUM keeps the sum (null before the first non-null value); COUNT a number', () => {
    const sum = resolve('SUM', T('INT'), false);
    expect(sum.accumulate(sum.create(), null)).toBeNull();
    expect(sum.accumulate(sum.accumulate(sum.create(), 4), 6)).toBe(10);
    const count = resolve('COUNT', undefined, false);
    expect(count.accumulate(count.accumulate(count.create(), null), 1)).toBe(2);
  });

  it('MIN/MAX of BYTES compare bytes and return the input value itself', () => {
    const min = resolve('MIN', T('BYTES'), false);
    const a = bytes(2, 1),
      b = bytes(1, 255),
      c = bytes(1);
    let acc = min.create();
    acc = min.accumulate(acc, a);
    acc = min.accumulate(acc, b);
    expect(min.getValue(acc)).toBe(b);
    acc = min.accumulate(acc, c);
    expect(min.getValue(acc)).toBe(c);
    expect(min.getValue(min.accumulate(acc, bytes(1, 0)))).toBe(c);
  });

  it('throw an internal error on retract', () => {
    for (const [name, t, distinct] of CASES) {
      const f = resolve(name, t, false, distinct);
      try {
        f.retract(f.create(), t ? null : 1);
        expect.unreachable();
      } catch (e) {
        expect(isWeirError(e) && e.domain).toBe('internal');
        expect((e as Error).message).toContain('insert-only');
      }
    }
  });

  it('take over the accumulators of the retractable variants (fromRetractable)', () => {
    // Such state comes from the same insert-only input, so it holds no pending (negative) retractions.
    const streams: [string, SqlType | undefined, boolean, ['+' | '-', unknown][], unknown[]][] = [
      [
        'MAX',
        T('INT'),
        false,
        [
          ['+', 5],
          ['+', 9],
          ['-', 9],
          ['+', 1],
        ],
        [7, 2],
      ],
      [
        'MIN',
        T('BYTES'),
        false,
        [
          ['+', bytes(3)],
          ['+', bytes(2)],
        ],
        [bytes(4)],
      ],
      [
        'MAX',
        T('INT'),
        false,
        [
          ['+', 5],
          ['-', 5],
        ],
        [2],
      ],
      [
        'SUM',
        T('INT'),
        false,
        [
          ['+', 5],
          ['-', 5],
        ],
        [null, 2],
      ],
      [
        'SUM',
        T('INT'),
        false,
        [
          ['+', 5],
          ['+', 6],
        ],
        [1],
      ],
      [
        'AVG',
        T('INT'),
        false,
        [
          ['+', 5],
          ['+', 6],
        ],
        [1],
      ],
      [
        'COUNT',
        undefined,
        false,
        [
          ['+', 1],
          ['+', 1],
          ['-', 1],
        ],
        [1],
      ],
      [
        'COUNT',
        T('INT'),
        true,
        [
          ['+', 1],
          ['+', 2],
          ['-', 2],
        ],
        [2, 1, 3],
      ],
      [
        'SUM',
        T('INT'),
        true,
        [
          ['+', 1],
          ['+', 2],
          ['-', 2],
        ],
        [2, 1, 3],
      ],
      [
        'AVG',
        T('INT'),
        true,
        [
          ['+', 4],
          ['+', 1],
        ],
        [4, 6],
      ],
    ];
    for (const [name, t, distinct, before, after] of streams) {
      const r = resolve(name, t, true, distinct);
      const io = resolve(name, t, false, distinct);
      let racc = r.create();
      for (const [op, v] of before) racc = op === '+' ? r.accumulate(racc, v) : r.retract(racc, v);
      let acc = io.fromRetractable!(deserialize(serialize(racc)));
      expect(io.getValue(acc)).toEqual(r.getValue(racc));
      for (const v of after) {
        racc = r.accumulate(racc, v);
        acc = io.accumulate(acc, v);
        expect({ name, v, got: io.getValue(acc) }).toEqual({ name, v, got: r.getValue(racc) });
      }
    }
  });
});
