import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { CalcOperator } from '../../src/runtime/operators/calc.js';
import { UnionOperator } from '../../src/runtime/operators/union.js';
import { batch, harness, opened } from './harness.js';

const INT = type('INT');
const STR = type('STRING');
const BOOL = type('BOOLEAN');
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
  ],
};
const col = (index: number, t = INT): BoundExpr => ({ kind: 'input', index, type: t });
const lit = (value: unknown, t = INT): BoundExpr => ({ kind: 'literal', value, type: t });
const call = (fn: string, args: BoundExpr[], t: typeof INT): BoundExpr => ({ kind: 'call', fn, args, type: t });

describe('CalcOperator', () => {
  it('filters and projects per batch, keeping row kinds', async () => {
    const h = harness([schema]);
    const op = await opened(new CalcOperator([col(0, STR), call('+', [col(1), lit(1)], INT)], call('>', [col(1), lit(10)], BOOL)), h);
    op.process(batch(['+I', 'a', 5], ['+I', 'b', 11], ['-U', 'c', 20], ['+U', 'c', 21], ['-D', 'd', null]), 0);
    expect(h.take()).toEqual(['+I[b, 12]', '-U[c, 21]', '+U[c, 22]']);
  });

  it('emits nothing when no row passes, and forwards watermarks', async () => {
    const h = harness([schema]);
    const op = await opened(new CalcOperator([col(1)], call('>', [col(1), lit(100)], BOOL)), h);
    op.process(batch(['+I', 'a', 5]), 0);
    expect(h.batches).toHaveLength(0);
    h.advanceWatermark(op, 1234);
    expect(h.watermarks).toEqual([1234]);
    expect(op.snapshotState()).toEqual({});
  });
});

describe('UnionOperator', () => {
  it('forwards every input unchanged', async () => {
    const h = harness([schema, schema]);
    const op = await opened(new UnionOperator(), h);
    const a = batch(['+I', 'a', 1]);
    const b = batch(['-D', 'b', 2]);
    op.process(a, 0);
    op.process(b, 1);
    expect(h.batches[0]).toBe(a);
    expect(h.batches[1]).toBe(b);
    expect(h.take()).toEqual(['+I[a, 1]', '-D[b, 2]']);
  });
});
