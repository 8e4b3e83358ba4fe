import { describe, expect, it } from 'vitest';
import { T, bin, bind, call, col, int, str, isNull } from './helpers.js';
import { compileCalc, compilePredicate, compileRowFn } from '../../src/expr/compile.js';
import { RowKind, rowAt, type ChangeBatch } from '../../src/model/changelog.js';

const C = { id: T('INT', false), name: T('STRING'), amount: T('INT') };
const batch = (): ChangeBatch => ({
  size: 5,
  kinds: Uint8Array.from([RowKind.INSERT, RowKind.UPDATE_BEFORE, RowKind.UPDATE_AFTER, RowKind.DELETE, RowKind.INSERT]),
  columns: [
    [1, 2, 3, 4, 5],
    ['a', 'b', null, 'd', 'e'],
    [10, 20, 30, null, 50],
  ],
});
const rows = (b: ChangeBatch | null): unknown[][] => (b ? [...Array(b.size).keys()].map((i) => [b.kinds[i], ...rowAt(b, i)]) : []);

describe('compileCalc', () => {
  it('filters rows, evaluates projections and keeps the kinds of kept rows', () => {
    const calc = compileCalc(
      [bind(col('id'), C), bind(bin('*', col('amount'), int(2)), C), bind(call('UPPER', [col('name')]), C)],
      bind(bin('>=', col('amount'), int(20)), C),
    );
    expect(rows(calc(batch()))).toEqual([
      [RowKind.UPDATE_BEFORE, 2, 40, 'B'],
      [RowKind.UPDATE_AFTER, 3, 60, null],
      [RowKind.INSERT, 5, 100, 'E'],
    ]);
  });
  it('a NULL filter result drops the row', () => {
    const calc = compileCalc([bind(col('id'), C)], bind(bin('<>', col('amount'), int(0)), C));
    expect(rows(calc(batch())).map((r) => r[1])).toEqual([1, 2, 3, 5]);
  });
  it('returns null when no row is kept or the batch is empty', () => {
    const calc = compileCalc([bind(col('id'), C)], bind(bin('>', col('amount'), int(1000)), C));
    expect(calc(batch())).toBe(null);
    expect(compileCalc([bind(bin('+', col('id'), int(1)), C)], undefined)({ size: 0, kinds: new Uint8Array(0), columns: [[], [], []] })).toBe(null);
  });
  it('keeps the input kinds array when every row passes', () => {
    const b = batch();
    const out = compileCalc([bind(col('name'), C)], bind(bin('>', col('id'), int(0)), C))(b)!;
    expect(out.size).toBe(5);
    expect(out.kinds).toBe(b.kinds);
    expect(out.columns[0]).toEqual(b.columns[1]);
  });
  it('pass-through projections without a filter reuse the input column arrays', () => {
    const b = batch();
    const out = compileCalc([bind(col('amount'), C), bind(col('id'), C)], undefined)(b)!;
    expect(out.columns[0]).toBe(b.columns[2]);
    expect(out.columns[1]).toBe(b.columns[0]);
    expect(out.kinds).toBe(b.kinds);
    expect(compileCalc([bind(col('id'), C), bind(col('name'), C), bind(col('amount'), C)], undefined)(b)).toBe(b);
    const mixed = compileCalc([bind(col('id'), C), bind(call('CHAR_LENGTH', [col('name')]), C)], undefined)(b)!;
    expect(mixed.columns[0]).toBe(b.columns[0]);
    expect(mixed.columns[1]).toEqual([1, 1, null, 1, 1]);
  });
  it('literal projections and run-time errors', () => {
    const calc = compileCalc([bind(str('x'), C), bind(bin('/', int(100), col('amount')), C)], bind(isNull(col('amount'), true), C));
    expect(rows(calc(batch()))[0]).toEqual([RowKind.INSERT, 'x', 10]);
    const bad = compileCalc([bind(bin('/', col('id'), bin('-', col('id'), int(3))), C)], undefined);
    expect(() => bad(batch())).toThrow('integer division by zero in /: 3 / 0');
  });
});

describe('compilePredicate and compileRowFn', () => {
  it('a predicate is true only for SQL TRUE', () => {
    const p = compilePredicate(bind(bin('>', col('amount'), int(15)), C));
    const b = batch();
    expect([0, 1, 2, 3, 4].map((i) => p(b.columns, i))).toEqual([false, true, true, false, true]);
  });
  it('a row function reads cols[i][row]', () => {
    const f = compileRowFn(bind(call('CONCAT', [col('name'), str('!')]), C));
    const b = batch();
    expect([0, 1, 2].map((i) => f(b.columns, i))).toEqual(['a!', 'b!', null]);
  });
});
