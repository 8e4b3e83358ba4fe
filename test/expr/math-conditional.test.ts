import { describe, expect, it } from 'vitest';
import { T, bin, bind, call, col, dbl, dec, evaluate, int, kase, nul, str } from './helpers.js';
import { formatType } from '../../src/model/types.js';

const fn = (name: string, cols: Record<string, ReturnType<typeof T>>, row: unknown[], ...extra: ReturnType<typeof int>[]): unknown =>
  evaluate(call(name, [...Object.keys(cols).map((c) => col(c)), ...extra]), cols, row);

describe('math functions', () => {
  it('ABS, SIGN, CEIL, FLOOR keep the type', () => {
    expect(fn('ABS', { x: T('INT') }, [-3])).toBe(3);
    expect(fn('ABS', { x: T('DECIMAL', true, 5, 2) }, [-150n])).toBe(150n);
    expect(fn('SIGN', { x: T('DOUBLE') }, [-2.5])).toBe(-1);
    expect(fn('SIGN', { x: T('DECIMAL', true, 5, 2) }, [-150n])).toBe(-100n);
    expect(fn('CEIL', { x: T('DOUBLE') }, [1.2])).toBe(2);
    expect(fn('CEILING', { x: T('DECIMAL', true, 5, 2) }, [-150n])).toBe(-1n);
    expect(fn('FLOOR', { x: T('DECIMAL', true, 5, 2) }, [-150n])).toBe(-2n);
    expect(fn('FLOOR', { x: T('DECIMAL', true, 5, 2) }, [150n])).toBe(1n);
    expect(formatType(bind(call('FLOOR', [col('x')]), { x: T('DECIMAL', true, 5, 2) }).type)).toBe('DECIMAL(4, 0)');
  });
  it('ROUND and TRUNCATE are HALF_UP / toward zero on the decimal value', () => {
    expect(fn('ROUND', { x: T('DOUBLE') }, [1.005], int(2))).toBe(1.01);
    expect(fn('ROUND', { x: T('DOUBLE') }, [-2.5])).toBe(-3);
    expect(fn('ROUND', { x: T('DOUBLE') }, [2.5])).toBe(3);
    expect(fn('ROUND', { x: T('INT') }, [1250], int(-2))).toBe(1300);
    expect(fn('ROUND', { x: T('INT') }, [-1250], int(-2))).toBe(-1300);
    expect(fn('TRUNCATE', { x: T('DOUBLE') }, [1.999], int(2))).toBe(1.99);
    expect(fn('TRUNCATE', { x: T('DOUBLE') }, [-1.999], int(1))).toBe(-1.9);
    const D = { x: T('DECIMAL', true, 10, 3) };
    expect(fn('ROUND', D, [12345n], int(2))).toBe(1235n);
    expect(formatType(bind(call('ROUND', [col('x'), int(2)]), D).type)).toBe('DECIMAL(10, 2)');
    expect(fn('ROUND', D, [12345n], int(-1))).toBe(10n);
    expect(fn('TRUNCATE', D, [-12345n], int(1))).toBe(-123n);
    expect(() => bind(call('ROUND', [col('x'), col('d')]), { x: T('DECIMAL', true, 10, 3), d: T('INT') })).toThrow(
      /second argument of ROUND must be an integer literal/,
    );
    expect(() => bind(call('ROUND', [col('x'), col('x')]), D)).toThrow(
      'invalid argument 2 of ROUND: expected an integer type (TINYINT, SMALLINT, INT, BIGINT), got DECIMAL(10, 3)',
    );
  });
  it('POWER, SQRT, EXP, LN, LOG10, LOG, MOD', () => {
    expect(evaluate(call('POWER', [int(2), int(10)]))).toBe(1024);
    expect(fn('SQRT', { x: T('DECIMAL', true, 5, 2) }, [400n])).toBe(2);
    expect(evaluate(call('EXP', [int(0)]))).toBe(1);
    expect(evaluate(call('LN', [int(1)]))).toBe(0);
    expect(evaluate(call('LOG10', [int(1000)]))).toBe(3);
    expect(evaluate(call('LOG', [int(2), int(8)]))).toBe(3);
    expect(evaluate(call('MOD', [int(-7), int(3)]))).toBe(-1);
    expect(formatType(bind(call('POWER', [int(2), int(3)])).type)).toBe('DOUBLE NOT NULL');
  });
  it('GREATEST and LEAST', () => {
    expect(evaluate(call('GREATEST', [int(1), dec('2.5'), int(2)]))).toBe(25n);
    expect(evaluate(call('LEAST', [str('b'), str('a'), str('c')]))).toBe('a');
    expect(fn('GREATEST', { x: T('INT'), y: T('INT') }, [1, null])).toBe(null);
  });
});

describe('conditional functions', () => {
  const X = { x: T('INT'), y: T('INT') };
  it('searched CASE evaluates branches lazily and uses the common type', () => {
    const e = kase([[bin('=', col('y'), int(0)), int(0)]], bin('/', col('x'), col('y')));
    expect(evaluate(e, X, [10, 0])).toBe(0);
    expect(evaluate(e, X, [10, 5])).toBe(2);
    const mixed = kase([[bin('>', col('x'), int(0)), int(1)]], dec('2.5'));
    expect(formatType(bind(mixed, X).type)).toBe('DECIMAL(11, 1) NOT NULL');
    expect(evaluate(mixed, X, [5, 0])).toBe(10n);
    expect(evaluate(kase([[bin('>', col('x'), int(0)), str('pos')]]), X, [-1, 0])).toBe(null);
    // NULL condition is not TRUE
    expect(evaluate(kase([[bin('>', col('x'), int(0)), str('pos')]], str('other')), X, [null, 0])).toBe('other');
  });
  it('simple CASE', () => {
    const e = kase(
      [
        [int(1), str('one')],
        [int(2), str('two')],
      ],
      str('many'),
      col('x'),
    );
    expect(evaluate(e, X, [2, 0])).toBe('two');
    expect(evaluate(e, X, [7, 0])).toBe('many');
    expect(evaluate(e, X, [null, 0])).toBe('many');
  });
  it('CASE with incompatible branches is a user error', () => {
    expect(() => bind(kase([[bin('>', col('x'), int(0)), int(1)]], str('a')), X)).toThrow(
      /THEN\/ELSE branches of CASE have incompatible types: INT, CHAR\(1\)/,
    );
  });
  it('COALESCE, IFNULL, NULLIF, IF', () => {
    expect(evaluate(call('COALESCE', [col('x'), col('y'), int(9)]), X, [null, 2])).toBe(2);
    expect(evaluate(call('COALESCE', [col('x'), col('y'), int(9)]), X, [null, null])).toBe(9);
    expect(bind(call('COALESCE', [col('x'), int(9)]), X).type.nullable).toBe(false);
    expect(evaluate(call('IFNULL', [col('x'), int(9)]), X, [null, 0])).toBe(9);
    expect(evaluate(call('NULLIF', [col('x'), int(0)]), X, [0, 0])).toBe(null);
    expect(evaluate(call('NULLIF', [col('x'), int(0)]), X, [3, 0])).toBe(3);
    expect(evaluate(call('IF', [bin('>', col('x'), int(0)), str('p'), str('n')]), X, [1, 0])).toBe('p');
    expect(evaluate(call('IF', [bin('>', col('x'), int(0)), str('p'), str('n')]), X, [null, 0])).toBe('n');
    expect(evaluate(call('COALESCE', [nul(), dbl('1.5')]))).toBe(1.5);
  });
});
