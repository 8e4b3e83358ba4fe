import { describe, expect, it } from 'vitest';
import { T, bin, bind, call, col, dbl, dec, evaluate, int, neg } from './helpers.js';
import { formatType } from '../../src/model/types.js';
import { isWeirError } from '../../src/errors.js';
import type { Expr } from '../../src/sql/ir.js';

const typeOf = (e: Expr, cols = {}): string => formatType(bind(e, cols).type);

describe('arithmetic result types (Flink rules)', () => {
  it('integers widen to the larger type; INT / INT is INT', () => {
    const C = { i: T('INT'), b: T('BIGINT'), t: T('TINYINT'), s: T('SMALLINT'), d: T('DOUBLE'), f: T('FLOAT') };
    expect(typeOf(bin('+', col('i'), col('b')), C)).toBe('BIGINT');
    expect(typeOf(bin('+', col('t'), col('s')), C)).toBe('SMALLINT');
    expect(typeOf(bin('/', col('i'), col('i')), C)).toBe('INT');
    expect(typeOf(bin('*', col('i'), col('d')), C)).toBe('DOUBLE');
    expect(typeOf(bin('*', col('i'), col('f')), C)).toBe('FLOAT');
    expect(typeOf(bin('+', int(1), int(2)))).toBe('INT NOT NULL');
  });
  it('DECIMAL precision and scale', () => {
    const C = { a: T('DECIMAL', true, 10, 2), b: T('DECIMAL', true, 5, 3), i: T('INT'), d: T('DOUBLE') };
    expect(typeOf(bin('+', col('a'), col('b')), C)).toBe('DECIMAL(12, 3)');
    expect(typeOf(bin('-', col('a'), col('i')), C)).toBe('DECIMAL(13, 2)');
    expect(typeOf(bin('*', col('a'), col('b')), C)).toBe('DECIMAL(16, 5)');
    // division: scale = max(6, s1 + p2 + 1) = 8, precision = p1 - s1 + s2 + scale = 19
    expect(typeOf(bin('/', col('a'), col('b')), C)).toBe('DECIMAL(19, 8)');
    expect(typeOf(bin('%', col('a'), col('b')), C)).toBe('DECIMAL(5, 3)');
    expect(typeOf(bin('+', col('a'), col('d')), C)).toBe('DOUBLE');
    // capped at 38: integer digits kept, scale reduced to at least 6
    const W = { x: T('DECIMAL', true, 38, 10), y: T('DECIMAL', true, 38, 10) };
    expect(typeOf(bin('*', col('x'), col('y')), W)).toBe('DECIMAL(38, 6)');
  });
});

describe('arithmetic values', () => {
  it('DECIMAL is exact: 0.1 + 0.2 = 0.3', () => {
    expect(evaluate(bin('+', dec('0.1'), dec('0.2')))).toBe(3n);
    expect(evaluate(bin('=', bin('+', dec('0.1'), dec('0.2')), dec('0.3')))).toBe(true);
    const C = { a: T('DECIMAL', true, 10, 1), b: T('DECIMAL', true, 10, 1) };
    expect(evaluate(bin('+', col('a'), col('b')), C, [1n, 2n])).toBe(3n);
    expect(evaluate(bin('=', bin('+', dbl('0.1'), dbl('0.2')), dbl('0.3')))).toBe(false);
  });
  it('DECIMAL multiply, divide (HALF_UP) and modulo', () => {
    const C = { a: T('DECIMAL', true, 10, 2), b: T('DECIMAL', true, 5, 1) };
    expect(evaluate(bin('*', col('a'), col('b')), C, [150n, 25n])).toBe(3750n); // 1.50 * 2.5 = 3.750
    // 10.00 / 3 -> scale max(6, 2 + 10 + 1) = 13
    const q = evaluate(bin('/', col('a'), int(3)), C, [1000n, 0n]);
    expect(q).toBe(33333333333333n); // 3.3333333333333 (13 digits)
    expect(evaluate(bin('/', dec('2.00'), int(3)))).toBe(6666666666667n); // HALF_UP at scale 13
    expect(evaluate(bin('%', col('a'), col('b')), C, [1075n, 30n])).toBe(175n); // 10.75 % 3.0 = 1.75
    expect(evaluate(neg(col('a')), C, [150n, 0n])).toBe(-150n);
  });
  it('integer division truncates toward zero and INT overflow wraps', () => {
    const C = { a: T('INT'), b: T('INT'), x: T('BIGINT') };
    expect(evaluate(bin('/', col('a'), col('b')), C, [7, 2])).toBe(3);
    expect(evaluate(bin('/', col('a'), col('b')), C, [-7, 2])).toBe(-3);
    expect(evaluate(bin('%', col('a'), col('b')), C, [-7, 2])).toBe(-1);
    expect(evaluate(bin('+', col('a'), col('b')), C, [2147483647, 1])).toBe(-2147483648);
    expect(evaluate(bin('*', col('a'), col('b')), C, [65536, 65536])).toBe(0);
    expect(evaluate(bin('/', col('x'), int(2)), C, [0, 0, -7])).toBe(-3);
    expect(Object.is(evaluate(bin('/', col('x'), int(2)), C, [0, 0, -1]), 0)).toBe(true);
    expect(evaluate(call('MOD', [col('a'), col('b')]), C, [10, 3])).toBe(1);
  });
  it('integer division by zero is a user error naming the operation', () => {
    const C = { a: T('INT'), b: T('INT') };
    try {
      evaluate(bin('/', col('a'), col('b'), { line: 3, column: 9 }), C, [10, 0]);
      expect.unreachable();
    } catch (e) {
      expect(isWeirError(e) && e.domain).toBe('user');
      expect(isWeirError(e) && e.code).toBe('EXPR_EVAL');
      expect((e as Error).message).toBe('integer division by zero in /: 10 / 0');
      expect(isWeirError(e) && e.position).toEqual({ line: 3, column: 9 });
    }
    expect(() => evaluate(bin('%', col('a'), col('b')), C, [10, 0])).toThrow(/division by zero/);
    expect(() => evaluate(bin('/', dec('1.0'), col('b')), C, [1, 0])).toThrow(/division by zero/);
    // DOUBLE division by zero is Infinity, as in Java
    expect(evaluate(bin('/', dbl('1.0'), col('b')), C, [1, 0])).toBe(Infinity);
  });
  it('1 / 0 as a constant is not folded into a bind error', () => {
    const b = bind(bin('/', int(1), int(0)));
    expect(b.kind).toBe('call');
    expect(() => evaluate(bin('/', int(1), int(0)))).toThrow(/division by zero/);
  });
  it('unary minus', () => {
    expect(evaluate(neg(col('a')), { a: T('INT') }, [5])).toBe(-5);
    expect(evaluate(neg(int(5)))).toBe(-5);
    expect(evaluate(neg(col('a')), { a: T('DOUBLE') }, [1.5])).toBe(-1.5);
  });
});
