import { describe, expect, it } from 'vitest';
import { T, bind, cast, col, dbl, dec, evaluate, int, str, bool, date, ts, nul } from './helpers.js';
import type { SqlType } from '../../src/model/types.js';
import { isWeirError } from '../../src/errors.js';

/** CAST of a column value (not folded) and of a literal (folded at bind time) must agree. */
function castCol(from: SqlType, v: unknown, to: SqlType, tryCast = false): unknown {
  return evaluate(cast(col('x'), to, tryCast), { x: from }, [v]);
}

const INT = T('INT'),
  BIGINT = T('BIGINT'),
  DOUBLE = T('DOUBLE'),
  STRING = T('STRING'),
  BOOLEAN = T('BOOLEAN');
const DATE = T('DATE'),
  TS3 = T('TIMESTAMP', true, 3),
  TS0 = T('TIMESTAMP', true, 0);
const DEC = (p: number, s: number): SqlType => T('DECIMAL', true, p, s);

describe('CAST from strings', () => {
  it('to integers: trims, truncates a fraction, rejects garbage', () => {
    expect(castCol(STRING, ' 42 ', INT)).toBe(42);
    expect(castCol(STRING, '-7', INT)).toBe(-7);
    expect(castCol(STRING, '12.9', INT)).toBe(12);
    expect(castCol(STRING, '300', T('TINYINT'), true)).toBe(null);
    expect(() => castCol(STRING, '300', T('TINYINT'))).toThrow("cannot cast '300' to TINYINT");
    expect(() => castCol(STRING, 'abc', INT)).toThrow("CAST failed: cannot cast 'abc' to INT");
    expect(() => castCol(STRING, '2147483648', INT)).toThrow(/cannot cast/);
    expect(castCol(STRING, 'abc', INT, true)).toBe(null);
    expect(castCol(STRING, '', INT, true)).toBe(null);
  });
  it('invalid CAST is a user error with the position', () => {
    try {
      evaluate(cast(col('x'), INT, false, { line: 2, column: 5 }), { x: STRING }, ['x1']);
      expect.unreachable();
    } catch (e) {
      expect(isWeirError(e) && e.code).toBe('EXPR_EVAL');
      expect(isWeirError(e) && e.position).toEqual({ line: 2, column: 5 });
    }
  });
  it('to DOUBLE, DECIMAL, BOOLEAN', () => {
    expect(castCol(STRING, '1.5e3', DOUBLE)).toBe(1500);
    expect(castCol(STRING, 'NaN', DOUBLE)).toBeNaN();
    expect(() => castCol(STRING, '0x10', DOUBLE)).toThrow(/cannot cast/);
    expect(castCol(STRING, '12.345', DEC(10, 2))).toBe(1235n); // HALF_UP
    expect(castCol(STRING, '-12.345', DEC(10, 2))).toBe(-1235n);
    expect(castCol(STRING, '12345.6', DEC(5, 2))).toBe(null); // overflow -> NULL, as Flink
    expect(castCol(STRING, 'yes', BOOLEAN)).toBe(true);
    expect(castCol(STRING, 'FALSE', BOOLEAN)).toBe(false);
    expect(() => castCol(STRING, 'maybe', BOOLEAN)).toThrow(/cannot cast 'maybe' to BOOLEAN/);
  });
  it('to DATE, TIMESTAMP, TIME', () => {
    expect(castCol(STRING, '2024-03-01', DATE)).toBe(19783);
    expect(castCol(STRING, '2024-03-01 12:30:00.125', TS3)).toBe(Date.UTC(2024, 2, 1, 12, 30, 0, 125));
    expect(castCol(STRING, '2024-03-01T12:30:00', TS3)).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(castCol(STRING, '2024-03-01 12:30:00.125', TS0)).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(castCol(STRING, '12:30:15', T('TIME', true, 0))).toBe((12 * 3600 + 30 * 60 + 15) * 1000);
    expect(() => castCol(STRING, '2024-02-30', DATE)).toThrow(/cannot cast/);
    expect(castCol(STRING, 'soon', TS3, true)).toBe(null);
  });
});

describe('CAST to strings', () => {
  it('renders like Flink', () => {
    expect(castCol(INT, 42, STRING)).toBe('42');
    expect(castCol(DOUBLE, 1, STRING)).toBe('1.0');
    expect(castCol(DOUBLE, 1.5e10, STRING)).toBe('1.5E10');
    expect(castCol(DOUBLE, 0.0001, STRING)).toBe('1.0E-4');
    expect(castCol(DEC(10, 2), 150n, STRING)).toBe('1.50');
    expect(castCol(DEC(10, 2), -5n, STRING)).toBe('-0.05');
    expect(castCol(BOOLEAN, true, STRING)).toBe('TRUE');
    expect(castCol(DATE, 19783, STRING)).toBe('2024-03-01');
    expect(castCol(TS3, Date.UTC(2024, 2, 1, 1, 2, 3, 4), STRING)).toBe('2024-03-01 01:02:03.004');
    expect(castCol(TS0, Date.UTC(2024, 2, 1, 1, 2, 3), STRING)).toBe('2024-03-01 01:02:03');
    expect(castCol(STRING, 'abcdef', T('VARCHAR', true, 3))).toBe('abc');
    expect(castCol(STRING, 'ab', T('CHAR', true, 4))).toBe('ab  ');
  });
});

describe('numeric CASTs', () => {
  it('DOUBLE/DECIMAL to integer truncates; narrowing integers wrap', () => {
    expect(castCol(DOUBLE, 3.99, INT)).toBe(3);
    expect(castCol(DOUBLE, -3.99, INT)).toBe(-3);
    expect(castCol(DEC(10, 2), -399n, INT)).toBe(-3);
    expect(castCol(INT, 300, T('TINYINT'))).toBe(44);
    expect(castCol(BIGINT, 2 ** 32 + 5, INT)).toBe(5);
    expect(castCol(INT, 7, BIGINT)).toBe(7);
  });
  it('to DECIMAL rounds HALF_UP and overflows to NULL', () => {
    expect(castCol(DOUBLE, 1.005, DEC(10, 2))).toBe(101n);
    expect(castCol(DOUBLE, -2.5, DEC(10, 0))).toBe(-3n);
    expect(castCol(INT, 12, DEC(5, 2))).toBe(1200n);
    expect(castCol(INT, 1234, DEC(5, 2))).toBe(null);
    expect(castCol(DEC(10, 3), 12345n, DEC(10, 1))).toBe(123n); // 12.345 -> 12.3
    expect(castCol(DEC(10, 3), 12350n, DEC(10, 1))).toBe(124n); // 12.350 -> 12.4 (HALF_UP)
    expect(castCol(DEC(10, 1), 123n, DEC(10, 3))).toBe(12300n);
    expect(castCol(DEC(10, 2), 150n, DOUBLE)).toBe(1.5);
    expect(castCol(BOOLEAN, true, DEC(5, 2))).toBe(100n);
  });
  it('BOOLEAN <-> numbers', () => {
    expect(castCol(BOOLEAN, true, INT)).toBe(1);
    expect(castCol(INT, 0, BOOLEAN)).toBe(false);
    expect(castCol(DOUBLE, 0.5, BOOLEAN)).toBe(true);
  });
});

describe('datetime CASTs', () => {
  it('TIMESTAMP <-> DATE, numbers as epoch seconds', () => {
    const t = Date.UTC(2024, 2, 1, 23, 59);
    expect(castCol(TS3, t, DATE)).toBe(19783);
    expect(castCol(DATE, 19783, TS3)).toBe(Date.UTC(2024, 2, 1));
    expect(castCol(DATE, 19783, T('TIMESTAMP_LTZ', true, 3))).toBe(Date.UTC(2024, 2, 1));
    expect(castCol(TS3, Date.UTC(1969, 11, 31, 23), DATE)).toBe(-1);
    expect(castCol(BIGINT, 1700000000, T('TIMESTAMP_LTZ', true, 3))).toBe(1700000000000);
    expect(castCol(TS3, 1700000000123, BIGINT)).toBe(1700000000);
    expect(castCol(TS3, t, T('TIME', true, 0))).toBe((23 * 60 + 59) * 60_000);
  });
});

describe('CAST binding', () => {
  it('folds constant casts at bind time', () => {
    const b = bind(cast(str('2024-01-01'), DATE));
    expect(b).toMatchObject({ kind: 'literal', value: 19723 });
    expect(evaluate(cast(dec('1.25'), DEC(3, 1)))).toBe(13n);
    expect(evaluate(cast(int(5), DOUBLE))).toBe(5);
    expect(evaluate(cast(bool(true), STRING))).toBe('TRUE');
    expect(evaluate(cast(nul(), INT))).toBe(null);
    expect(evaluate(cast(dbl('2.5'), INT))).toBe(2);
    expect(evaluate(cast(date('2024-01-01'), STRING))).toBe('2024-01-01');
    expect(evaluate(cast(ts('2024-01-01 10:00:00.5'), STRING))).toBe('2024-01-01 10:00:00.5');
  });
  it('an invalid constant CAST fails when evaluated, TRY_CAST yields NULL', () => {
    expect(() => evaluate(cast(str('abc'), INT))).toThrow(/cannot cast 'abc' to INT/);
    expect(evaluate(cast(str('abc'), INT, true))).toBe(null);
    expect(bind(cast(str('abc'), INT, true)).type.nullable).toBe(true);
  });
  it('rejects unsupported casts at bind time', () => {
    expect(() => bind(cast(col('b'), DATE), { b: BOOLEAN })).toThrow('CAST from BOOLEAN to DATE is not supported');
    expect(() => bind(cast(col('d'), INT), { d: DATE })).toThrow('CAST from DATE to INT is not supported');
  });
});
