import { describe, expect, it } from 'vitest';
import { T, bin, col, evaluate, int, isBool, isNull, not, nul, inList, between, str, dbl, dec, bool } from './helpers.js';
import type { Expr } from '../../src/sql/ir.js';

const B = { a: T('BOOLEAN'), b: T('BOOLEAN') };
const VALUES = [true, false, null] as const;
const name = (v: boolean | null): string => (v === null ? 'NULL' : String(v).toUpperCase());
/** Literal form of a value, to check that constant folding agrees with run-time evaluation. */
const litOf = (v: boolean | null): Expr => (v === null ? nul() : bool(v));

const AND: Record<string, boolean | null> = {
  'TRUE TRUE': true,
  'TRUE FALSE': false,
  'TRUE NULL': null,
  'FALSE TRUE': false,
  'FALSE FALSE': false,
  'FALSE NULL': false,
  'NULL TRUE': null,
  'NULL FALSE': false,
  'NULL NULL': null,
};
const OR: Record<string, boolean | null> = {
  'TRUE TRUE': true,
  'TRUE FALSE': true,
  'TRUE NULL': true,
  'FALSE TRUE': true,
  'FALSE FALSE': false,
  'FALSE NULL': null,
  'NULL TRUE': true,
  'NULL FALSE': null,
  'NULL NULL': null,
};

describe('three-valued logic', () => {
  for (const a of VALUES) {
    for (const b of VALUES) {
      const key = `${name(a)} ${name(b)}`;
      it(`${key}: AND = ${name(AND[key])}, OR = ${name(OR[key])}`, () => {
        expect(evaluate(bin('AND', col('a'), col('b')), B, [a, b])).toBe(AND[key]);
        expect(evaluate(bin('OR', col('a'), col('b')), B, [a, b])).toBe(OR[key]);
        // Folded at bind time: same answers.
        expect(evaluate(bin('AND', litOf(a), litOf(b)))).toBe(AND[key]);
        expect(evaluate(bin('OR', litOf(a), litOf(b)))).toBe(OR[key]);
      });
    }
  }

  it('NOT', () => {
    expect(evaluate(not(col('a')), B, [true])).toBe(false);
    expect(evaluate(not(col('a')), B, [false])).toBe(true);
    expect(evaluate(not(col('a')), B, [null])).toBe(null);
  });

  it('IS [NOT] TRUE / FALSE / NULL never return NULL', () => {
    const table: [boolean | null, boolean, boolean, boolean, boolean, boolean, boolean][] = [
      // v, IS TRUE, IS NOT TRUE, IS FALSE, IS NOT FALSE, IS NULL, IS NOT NULL
      [true, true, false, false, true, false, true],
      [false, false, true, true, false, false, true],
      [null, false, true, false, true, true, false],
    ];
    for (const [v, isT, isNotT, isF, isNotF, isN, isNotN] of table) {
      expect(evaluate(isBool(col('a'), true), B, [v])).toBe(isT);
      expect(evaluate(isBool(col('a'), true, true), B, [v])).toBe(isNotT);
      expect(evaluate(isBool(col('a'), false), B, [v])).toBe(isF);
      expect(evaluate(isBool(col('a'), false, true), B, [v])).toBe(isNotF);
      expect(evaluate(isNull(col('a')), B, [v])).toBe(isN);
      expect(evaluate(isNull(col('a'), true), B, [v])).toBe(isNotN);
    }
  });

  it('short-circuits: FALSE AND (1/0 = 1) does not raise', () => {
    const e = bin('AND', col('a'), bin('=', bin('/', col('x'), col('y')), int(1)));
    expect(evaluate(e, { a: T('BOOLEAN'), x: T('INT'), y: T('INT') }, [false, 1, 0])).toBe(false);
    expect(() => evaluate(e, { a: T('BOOLEAN'), x: T('INT'), y: T('INT') }, [true, 1, 0])).toThrow(/division by zero/);
  });
});

describe('NULL propagation', () => {
  const N = { x: T('INT'), s: T('STRING') };
  it('arithmetic and comparison with NULL are NULL', () => {
    for (const op of ['+', '-', '*', '/', '%', '=', '<>', '<', '<=', '>', '>='] as const) {
      expect(evaluate(bin(op, col('x'), int(1)), N, [null, null])).toBe(null);
      expect(evaluate(bin(op, int(1), nul()))).toBe(null);
    }
  });
  it('string functions with NULL are NULL', () => {
    expect(evaluate(bin('||', col('s'), str('a')), N, [1, null])).toBe(null);
  });
});

describe('comparisons', () => {
  it('mixed numeric types compare by value', () => {
    expect(evaluate(bin('=', int(1), dbl('1.0')))).toBe(true);
    expect(evaluate(bin('=', int(1), dec('1.00')))).toBe(true);
    expect(evaluate(bin('<', dec('1.5'), int(2)))).toBe(true);
    expect(evaluate(bin('>', dec('1.25'), dec('1.2')))).toBe(true);
    expect(evaluate(bin('=', col('a'), col('b')), { a: T('DECIMAL', true, 10, 2), b: T('DECIMAL', true, 10, 3) }, [150n, 1500n])).toBe(true);
    expect(evaluate(bin('<', col('a'), col('b')), { a: T('INT'), b: T('BIGINT') }, [3, 4])).toBe(true);
    expect(evaluate(bin('>=', col('a'), col('b')), { a: T('DECIMAL', true, 5, 1), b: T('DOUBLE') }, [15n, 1.5])).toBe(true);
  });
  it('strings compare in code-unit order', () => {
    expect(evaluate(bin('<', str('B'), str('a')))).toBe(true);
    expect(evaluate(bin('<', str('abc'), str('abd')))).toBe(true);
    expect(evaluate(bin('=', col('s'), str('x')), { s: T('VARCHAR', true, 5) }, ['x'])).toBe(true);
  });
  it('a string literal compares with a timestamp as a timestamp', () => {
    const e = bin('>', col('t'), str('2024-01-01 00:00:00'));
    expect(evaluate(e, { t: T('TIMESTAMP', true, 3) }, [Date.UTC(2024, 0, 2)])).toBe(true);
    expect(evaluate(e, { t: T('TIMESTAMP', true, 3) }, [Date.UTC(2023, 11, 31)])).toBe(false);
  });
});

describe('IN and BETWEEN', () => {
  const X = { x: T('INT') };
  it('IN with constants', () => {
    expect(evaluate(inList(col('x'), [int(1), int(2)]), X, [2])).toBe(true);
    expect(evaluate(inList(col('x'), [int(1), int(2)]), X, [3])).toBe(false);
    expect(evaluate(inList(col('x'), [int(1), int(2)]), X, [null])).toBe(null);
    expect(evaluate(inList(col('x'), [int(1), nul()]), X, [1])).toBe(true);
    expect(evaluate(inList(col('x'), [int(1), nul()]), X, [3])).toBe(null);
    expect(evaluate(inList(col('x'), [int(1), nul()], true), X, [3])).toBe(null);
    expect(evaluate(inList(col('x'), [int(1), int(2)], true), X, [3])).toBe(true);
  });
  it('IN with many constants uses a set, and coerces types', () => {
    const list = [1, 2, 3, 4, 5, 6, 7].map((n) => int(n));
    expect(evaluate(inList(col('x'), list), X, [7])).toBe(true);
    expect(evaluate(inList(col('x'), list), X, [8])).toBe(false);
    expect(evaluate(inList(col('d'), [dec('1.5'), int(2)]), { d: T('DECIMAL', true, 5, 2) }, [200n])).toBe(true);
    expect(evaluate(inList(col('d'), [dec('1.5'), int(2)]), { d: T('DECIMAL', true, 5, 2) }, [150n])).toBe(true);
  });
  it('IN with expressions', () => {
    const C = { x: T('INT'), y: T('INT'), z: T('INT') };
    expect(evaluate(inList(col('x'), [col('y'), col('z')]), C, [3, null, 3])).toBe(true);
    expect(evaluate(inList(col('x'), [col('y'), col('z')]), C, [3, null, 4])).toBe(null);
    expect(evaluate(inList(col('x'), [col('y'), col('z')]), C, [3, 1, 4])).toBe(false);
  });
  it('BETWEEN with NULL bounds follows AND', () => {
    const C = { x: T('INT'), lo: T('INT'), hi: T('INT') };
    expect(evaluate(between(col('x'), col('lo'), col('hi')), C, [5, 1, 10])).toBe(true);
    expect(evaluate(between(col('x'), col('lo'), col('hi')), C, [11, 1, 10])).toBe(false);
    expect(evaluate(between(col('x'), col('lo'), col('hi')), C, [11, null, 10])).toBe(false);
    expect(evaluate(between(col('x'), col('lo'), col('hi')), C, [5, null, 10])).toBe(null);
    expect(evaluate(between(col('x'), col('lo'), col('hi'), true), C, [11, 1, 10])).toBe(true);
    expect(evaluate(between(col('x'), int(1), dec('2.5')), { x: T('INT') }, [2])).toBe(true);
  });
});
