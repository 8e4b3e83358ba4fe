import { describe, expect, it } from 'vitest';
import { serialize, deserialize } from 'node:v8';
import { type AggregateFunction, resolveAggregate } from '../../src/expr/aggregates.js';
import { T } from './helpers.js';
import { formatType, type SqlType } from '../../src/model/types.js';
import { isWeirError } from '../../src/errors.js';

const agg = (name: string, t?: SqlType, opts: { distinct?: boolean; star?: boolean } = {}): AggregateFunction =>
  resolveAggregate({ name, distinct: opts.distinct ?? false, star: opts.star ?? false, pos: { line: 1, column: 8 } }, t ? [t] : []);

/** Runs a changelog of ['+', v] / ['-', v] steps and returns getValue after each step. */
function run(f: AggregateFunction, steps: ['+' | '-', unknown][], roundTripAt = -1): unknown[] {
  let acc = f.create();
  const out: unknown[] = [];
  steps.forEach(([op, v], i) => {
    acc = op === '+' ? f.accumulate(acc, v) : f.retract(acc, v);
    if (i === roundTripAt) acc = deserialize(serialize(acc));
    out.push(f.getValue(acc));
  });
  return out;
}

describe('aggregate result types (Flink)', () => {
  it('types', () => {
    expect(formatType(agg('COUNT', undefined, { star: true }).resultType)).toBe('BIGINT NOT NULL');
    expect(formatType(agg('COUNT', T('STRING')).resultType)).toBe('BIGINT NOT NULL');
    expect(formatType(agg('SUM', T('INT', false)).resultType)).toBe('INT');
    expect(formatType(agg('SUM', T('DECIMAL', true, 10, 2)).resultType)).toBe('DECIMAL(38, 2)');
    expect(formatType(agg('AVG', T('INT')).resultType)).toBe('INT');
    expect(formatType(agg('AVG', T('DOUBLE')).resultType)).toBe('DOUBLE');
    expect(formatType(agg('AVG', T('DECIMAL', true, 10, 2)).resultType)).toBe('DECIMAL(38, 6)');
    expect(formatType(agg('AVG', T('DECIMAL', true, 20, 8)).resultType)).toBe('DECIMAL(38, 8)');
    expect(formatType(agg('MIN', T('VARCHAR', false, 5)).resultType)).toBe('VARCHAR(5)');
  });
  it('rejects bad arguments with the position', () => {
    try {
      agg('SUM', T('STRING'));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe('SUM requires a numeric argument, got STRING');
      expect(isWeirError(e) && e.position).toEqual({ line: 1, column: 8 });
    }
    expect(() => agg('MAX', undefined, { star: true })).toThrow('MAX(*) is not allowed: only COUNT(*) takes *');
  });
});

describe('aggregates with retraction', () => {
  it('COUNT(*) counts rows, COUNT(x) skips NULLs', () => {
    expect(
      run(agg('COUNT', undefined, { star: true }), [
        ['+', null],
        ['+', 1],
        ['-', null],
      ]),
    ).toEqual([1, 2, 1]);
    expect(
      run(agg('COUNT', T('INT')), [
        ['+', null],
        ['+', 1],
        ['+', 2],
        ['-', 1],
      ]),
    ).toEqual([0, 1, 2, 1]);
  });
  it('COUNT(DISTINCT x)', () => {
    const f = agg('COUNT', T('STRING'), { distinct: true });
    expect(
      run(f, [
        ['+', 'a'],
        ['+', 'a'],
        ['+', 'b'],
        ['-', 'a'],
        ['-', 'a'],
        ['+', null],
      ]),
    ).toEqual([1, 1, 2, 2, 1, 1]);
  });
  it('SUM is NULL when no non-null value remains', () => {
    const f = agg('SUM', T('INT'));
    expect(
      run(f, [
        ['+', null],
        ['+', 5],
        ['+', 7],
        ['-', 5],
        ['-', 7],
        ['+', 1],
      ]),
    ).toEqual([null, 5, 12, 7, null, 1]);
  });
  it('SUM of DECIMAL is exact', () => {
    const f = agg('SUM', T('DECIMAL', true, 10, 1));
    expect(
      run(f, [
        ['+', 1n],
        ['+', 2n],
        ['-', 1n],
      ]),
    ).toEqual([1n, 3n, 2n]);
  });
  it('SUM(DISTINCT) and AVG(DISTINCT)', () => {
    expect(
      run(agg('SUM', T('INT'), { distinct: true }), [
        ['+', 5],
        ['+', 5],
        ['+', 3],
        ['-', 5],
        ['-', 5],
      ]),
    ).toEqual([5, 5, 8, 8, 3]);
    expect(
      run(agg('AVG', T('DOUBLE'), { distinct: true }), [
        ['+', 1],
        ['+', 1],
        ['+', 4],
      ]),
    ).toEqual([1, 1, 2.5]);
  });
  it('AVG: integer division for integers, DECIMAL scale max(6, s)', () => {
    expect(
      run(agg('AVG', T('INT')), [
        ['+', 1],
        ['+', 2],
        ['-', 1],
        ['-', 2],
      ]),
    ).toEqual([1, 1, 2, null]);
    expect(
      run(agg('AVG', T('INT')), [
        ['+', -1],
        ['+', -2],
      ]),
    ).toEqual([-1, -1]);
    expect(
      run(agg('AVG', T('DOUBLE')), [
        ['+', 1],
        ['+', 2],
      ]),
    ).toEqual([1, 1.5]);
    // (1.00 + 2.00 + 2.00) / 3 = 1.666667 at scale 6 (HALF_UP)
    expect(
      run(agg('AVG', T('DECIMAL', true, 10, 2)), [
        ['+', 100n],
        ['+', 200n],
        ['+', 200n],
      ]),
    ).toEqual([1000000n, 1500000n, 1666667n]);
  });
  it('MIN/MAX recompute after the current extreme is retracted', () => {
    const min = agg('MIN', T('INT'));
    expect(
      run(min, [
        ['+', 5],
        ['+', 3],
        ['+', 3],
        ['+', 8],
        ['-', 3],
        ['-', 3],
        ['-', 5],
        ['-', 8],
      ]),
    ).toEqual([5, 3, 3, 3, 3, 5, 8, null]);
    const max = agg('MAX', T('STRING'));
    expect(
      run(max, [
        ['+', 'b'],
        ['+', 'z'],
        ['+', 'a'],
        ['-', 'z'],
        ['+', null],
      ]),
    ).toEqual(['b', 'z', 'z', 'b', 'b']);
    const dmax = agg('MAX', T('DECIMAL', true, 10, 2));
    expect(
      run(dmax, [
        ['+', 150n],
        ['+', 1500n],
        ['-', 1500n],
      ]),
    ).toEqual([150n, 1500n, 150n]);
  });
  it('MIN/MAX tolerate a retraction arriving before its accumulation', () => {
    const max = agg('MAX', T('INT'));
    expect(
      run(max, [
        ['-', 9],
        ['+', 4],
        ['+', 9],
        ['+', 7],
      ]),
    ).toEqual([null, 4, 4, 7]);
  });
  it('MIN/MAX of BYTES compare bytes and return Uint8Arrays', () => {
    const min = agg('MIN', T('BYTES'));
    const out = run(min, [
      ['+', Uint8Array.from([2, 1])],
      ['+', Uint8Array.from([1, 255])],
      ['-', Uint8Array.from([1, 255])],
    ]);
    expect(out.map((v) => [...(v as Uint8Array)])).toEqual([
      [2, 1],
      [1, 255],
      [2, 1],
    ]);
  });
});

describe('accumulators survive v8.serialize mid-stream', () => {
  const stream: ['+' | '-', unknown][] = [
    ['+', 5],
    ['+', 3],
    ['+', 3],
    ['+', 9],
    ['-', 3],
    ['-', 3],
    ['+', 1],
    ['-', 1],
    ['-', 9],
  ];
  const cases: [string, SqlType, boolean][] = [
    ['COUNT', T('INT'), false],
    ['COUNT', T('INT'), true],
    ['SUM', T('INT'), false],
    ['SUM', T('INT'), true],
    ['AVG', T('INT'), false],
    ['MIN', T('INT'), false],
    ['MAX', T('INT'), false],
  ];
  for (const [name, t, distinct] of cases) {
    it(`${name}${distinct ? ' DISTINCT' : ''}`, () => {
      const f = agg(name, t, { distinct });
      const plain = run(f, stream);
      for (let at = 0; at < stream.length; at++) expect(run(f, stream, at)).toEqual(plain);
    });
  }
  it('DECIMAL SUM and AVG', () => {
    const dstream: ['+' | '-', unknown][] = [
      ['+', 105n],
      ['+', 250n],
      ['-', 105n],
      ['+', 1n],
    ];
    for (const name of ['SUM', 'AVG', 'MAX']) {
      const f = agg(name, T('DECIMAL', true, 10, 2));
      const plain = run(f, dstream);
      expect(run(f, dstream, 1)).toEqual(plain);
    }
  });
});
