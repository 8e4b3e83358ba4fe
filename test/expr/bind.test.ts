import { describe, expect, it } from 'vitest';
import { P, T, bin, bind, call, col, dbl, dec, evaluate, int, str, interval, date, ts, nul, bool } from './helpers.js';
import { implicitCast, intervalMillis, isAggregateName, literalValue } from '../../src/expr/bind.js';
import { formatType } from '../../src/model/types.js';
import { isWeirError, type WeirError } from '../../src/errors.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import type { Expr, IntervalExpr, LiteralExpr } from '../../src/sql/ir.js';
import { compileRowFn } from '../../src/expr/compile.js';

function userErr(f: () => unknown): WeirError {
  try {
    f();
  } catch (e) {
    if (isWeirError(e) && e.domain === 'user') return e;
    throw e;
  }
  throw new Error('expected a user error');
}

const litType = (e: Expr): string => formatType(literalValue(e as LiteralExpr).type);

describe('literals', () => {
  it('are typed as in Flink', () => {
    expect(litType(int(1))).toBe('INT NOT NULL');
    expect(litType(int('3000000000'))).toBe('BIGINT NOT NULL');
    expect(litType(int('99999999999999999999'))).toBe('DECIMAL(20, 0) NOT NULL');
    expect(literalValue(int('99999999999999999999') as LiteralExpr).value).toBe(99999999999999999999n);
    expect(litType(dec('1.50'))).toBe('DECIMAL(3, 2) NOT NULL');
    expect(literalValue(dec('1.50') as LiteralExpr).value).toBe(150n);
    expect(litType(dec('0.001'))).toBe('DECIMAL(3, 3) NOT NULL');
    expect(litType(dbl('1e3'))).toBe('DOUBLE NOT NULL');
    expect(litType(str('abc'))).toBe('CHAR(3) NOT NULL');
    expect(litType(bool(true))).toBe('BOOLEAN NOT NULL');
    expect(litType(nul())).toBe('NULL');
    expect(litType(date('2024-01-01'))).toBe('DATE NOT NULL');
    expect(literalValue(date('1970-01-02') as LiteralExpr).value).toBe(1);
    expect(litType(ts('2024-01-01 00:00:00'))).toBe('TIMESTAMP(0) NOT NULL');
    expect(litType(ts('2024-01-01 00:00:00.123'))).toBe('TIMESTAMP(3) NOT NULL');
  });
  it('invalid typed literals are user errors with the position', () => {
    const e = userErr(() => literalValue({ kind: 'literal', literalType: 'date', text: '2024-13-01', pos: P(7) }));
    expect(e.message).toBe("invalid DATE literal '2024-13-01': expected 'yyyy-MM-dd'");
    expect(e.position).toEqual({ line: 1, column: 7 });
  });
});

describe('binding errors', () => {
  it('unknown function, with position', () => {
    const e = userErr(() => bind(call('FOO', [int(1)], P(12, 2))));
    expect(e.message).toBe('unknown function FOO');
    expect(e.position).toEqual({ line: 2, column: 12 });
    expect(e.toUserLine()).toBe('2:12: unknown function FOO');
  });
  it('wrong argument types name the function, the argument and the expected types', () => {
    const e = userErr(() => bind(call('UPPER', [col('n', P(14))], P(8)), { n: T('INT') }));
    expect(e.message).toBe('invalid argument 1 of UPPER: expected a string (CHAR, VARCHAR, STRING), got INT');
    expect(e.position).toEqual({ line: 1, column: 14 });
    const e2 = userErr(() => bind(call('SUBSTRING', [str('abc'), str('x', P(20))], P(8))));
    expect(e2.message).toBe('invalid argument 2 of SUBSTRING: expected an integer type (TINYINT, SMALLINT, INT, BIGINT), got CHAR(1)');
    expect(e2.position).toEqual({ line: 1, column: 20 });
    expect(userErr(() => bind(bin('+', col('s'), int(1), P(3)), { s: T('STRING') })).message).toBe(
      'invalid argument 1 of +: expected a numeric type, got STRING',
    );
  });
  it('wrong arity', () => {
    expect(userErr(() => bind(call('UPPER', [], P(5)))).message).toBe('UPPER expects 1 argument, got 0');
    expect(userErr(() => bind(call('SUBSTRING', [str('a')]))).message).toBe('SUBSTRING expects 2 to 3 arguments, got 1');
  });
  it('incomparable types', () => {
    const e = userErr(() => bind(bin('=', col('s'), col('n'), P(9)), { s: T('STRING'), n: T('INT') }));
    expect(e.message).toBe("cannot apply '=' to STRING and INT (use CAST)");
    expect(e.position).toEqual({ line: 1, column: 9 });
  });
  it('aggregates need the planner hook', () => {
    const e = userErr(() => bind(call('COUNT', [], P(30), { star: true })));
    expect(e.message).toBe('aggregate function COUNT is not allowed here');
    expect(e.position).toEqual({ line: 1, column: 30 });
    const seen: string[] = [];
    const b = bind(
      bin('+', call('sum', [col('x')]), int(1)),
      { x: T('INT') },
      {
        aggregate: (c) => {
          seen.push(c.name);
          return { kind: 'input', index: 5, type: T('INT') } satisfies BoundExpr;
        },
      },
    );
    expect(seen).toEqual(['sum']);
    expect(b).toMatchObject({
      kind: 'call',
      fn: '+',
      args: [
        { kind: 'input', index: 5 },
        { kind: 'literal', value: 1 },
      ],
    });
    expect(isAggregateName('count')).toBe(true);
    expect(isAggregateName('UPPER')).toBe(false);
  });
  it('DISTINCT on a scalar function and unknown columns', () => {
    expect(userErr(() => bind(call('UPPER', [str('a')], P(1), { distinct: true }))).message).toMatch(/DISTINCT is only allowed in aggregate functions/);
    expect(userErr(() => bind(col('nope'))).message).toBe("unknown column 'nope'");
  });
  it('a bare INTERVAL outside datetime arithmetic', () => {
    expect(userErr(() => bind(interval('1', 'DAY'))).message).toMatch(/INTERVAL is only supported in datetime arithmetic/);
  });
});

describe('constant folding', () => {
  it('folds deterministic calls over literals', () => {
    expect(bind(bin('+', int(1), int(2)))).toMatchObject({ kind: 'literal', value: 3 });
    expect(bind(call('UPPER', [str('a')]))).toMatchObject({ kind: 'literal', value: 'A' });
    expect(bind(bin('*', col('x'), bin('+', int(1), int(2))), { x: T('INT') })).toMatchObject({ args: [{ kind: 'input' }, { kind: 'literal', value: 3 }] });
  });
});

describe('implicitCast (INSERT into a sink column)', () => {
  const input = (t: ReturnType<typeof T>): BoundExpr => ({ kind: 'input', index: 0, type: t });
  const run = (e: BoundExpr, v: unknown): unknown => compileRowFn(e)([[v]], 0);
  it('returns the expression unchanged for equal types and between strings', () => {
    const e = input(T('INT'));
    expect(implicitCast(e, T('INT', false))).toBe(e);
    const s = input(T('CHAR', true, 3));
    expect(implicitCast(s, T('STRING'))).toBe(s);
  });
  it('widens numbers and converts to DECIMAL', () => {
    expect(run(implicitCast(input(T('INT')), T('BIGINT')), 5)).toBe(5);
    expect(run(implicitCast(input(T('INT')), T('DECIMAL', true, 10, 2)), 5)).toBe(500n);
    expect(run(implicitCast(input(T('DOUBLE')), T('DECIMAL', true, 10, 2)), 1.235)).toBe(124n);
    expect(run(implicitCast(input(T('DECIMAL', true, 10, 2)), T('DOUBLE')), 150n)).toBe(1.5);
    expect(run(implicitCast(input(T('TIMESTAMP', true, 3)), T('DATE')), 86_400_000 * 2 + 5)).toBe(2);
    expect(run(implicitCast(input(T('TIMESTAMP', true, 3)), T('TIMESTAMP_LTZ', true, 3)), 42)).toBe(42);
    expect(implicitCast({ kind: 'literal', value: null, type: T('NULL') }, T('DATE'))).toMatchObject({ kind: 'literal', value: null, type: { kind: 'DATE' } });
  });
  it('rejects narrowing and cross-family conversions', () => {
    const e = userErr(() => implicitCast(input(T('DOUBLE')), T('INT'), P(4), 'x'));
    expect(e.message).toBe("cannot insert DOUBLE into column 'x' of type INT");
    expect(e.position).toEqual({ line: 1, column: 4 });
    expect(userErr(() => implicitCast(input(T('BIGINT')), T('INT'))).message).toBe('cannot insert BIGINT into a column of type INT');
    expect(() => implicitCast(input(T('INT')), T('STRING'))).toThrow(/cannot insert INT/);
    expect(() => implicitCast(input(T('STRING')), T('TIMESTAMP', true, 3))).toThrow(/cannot insert STRING/);
  });
});

describe('intervals', () => {
  it('intervalMillis for window sizes and watermark delays', () => {
    const iv = (value: string, unit: IntervalExpr['unit']): IntervalExpr => ({ kind: 'interval', value, unit, pos: P(1) });
    expect(intervalMillis(iv('5', 'SECOND'))).toBe(5000);
    expect(intervalMillis(iv('0.5', 'SECOND'))).toBe(500);
    expect(intervalMillis(iv('2', 'HOUR'))).toBe(7_200_000);
    expect(() => intervalMillis(iv('1', 'MONTH'))).toThrow(/no fixed length/);
    expect(() => intervalMillis(iv('x', 'DAY'))).toThrow("invalid INTERVAL value 'x' for unit DAY");
  });
  it('evaluates DATE + INTERVAL hours as a TIMESTAMP', () => {
    const b = bind(bin('+', date('1970-01-02'), interval('3', 'HOUR')));
    expect(formatType(b.type)).toBe('TIMESTAMP(3) NOT NULL');
    expect(evaluate(bin('+', date('1970-01-02'), interval('3', 'HOUR')))).toBe(86_400_000 + 3 * 3_600_000);
  });
});

describe('formatExpr', () => {
  it('renders bound expressions for EXPLAIN', async () => {
    const { formatExpr } = await import('../../src/expr/format.js');
    const { kase, like, inList } = await import('./helpers.js');
    const C = { a: T('INT'), s: T('STRING') };
    expect(formatExpr(bind(bin('AND', bin('>', col('a'), int(1)), like(col('s'), str("it's%"))), C), ['a', 's'])).toBe("((a > 1) AND (s LIKE 'it''s%'))");
    expect(formatExpr(bind(kase([[bin('=', col('a'), int(1)), str('x')]]), C))).toBe("CASE WHEN ($0 = 1) THEN 'x' ELSE NULL END");
    expect(formatExpr(bind(bin('+', col('a'), dec('1.50')), C), ['a'])).toBe('(CAST(a AS DECIMAL(10, 0)) + 1.50)');
    expect(formatExpr(bind(inList(col('s'), [str('p'), str('q')]), C), ['a', 's'])).toBe("(s IN ('p', 'q'))");
    expect(formatExpr(bind(call('UPPER', [col('s')]), C), ['a', 's'])).toBe('UPPER(s)');
  });
});
