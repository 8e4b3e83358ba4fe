import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { WindowJoinOperator, type WindowJoinConfig } from '../../src/runtime/operators/window-join.js';
import { batch, harness, opened } from './harness.js';

/** Both inputs (we TIMESTAMP, k STRING, n INT): window aggregates' output, joined on we and k. */
const side: Schema = {
  fields: [
    { name: 'we', type: type('TIMESTAMP', false, 3) },
    { name: 'k', type: type('STRING') },
    { name: 'n', type: type('INT') },
  ],
};
const INT = type('INT');
// Residual over the output row: left n < right n.
const lt: BoundExpr = {
  kind: 'call',
  fn: '<',
  args: [
    { kind: 'input', index: 2, type: INT },
    { kind: 'input', index: 5, type: INT },
  ],
  type: type('BOOLEAN'),
};

async function wjoin(joinType: WindowJoinConfig['joinType'], opts: Parameters<typeof harness>[1] = {}, residual?: BoundExpr) {
  const h = harness([side, side], opts);
  const op = await opened(
    new WindowJoinOperator({ joinType, leftKeys: [0, 1], rightKeys: [0, 1], leftEnd: 0, rightEnd: 0, ...(residual ? { residual } : {}) }),
    h,
  );
  return { h, op };
}

describe('WindowJoinOperator', () => {
  it('INNER: pairs of a window are emitted once, when the watermark reaches its end - 1', async () => {
    const { h, op } = await wjoin('inner');
    op.process(batch(['+I', 10, 'a', 1], ['+I', 10, 'b', 2], ['+I', 20, 'a', 3]), 0);
    op.process(batch(['+I', 10, 'a', 4], ['+I', 10, 'a', 5], ['+I', 20, 'c', 6]), 1);
    op.onWatermark(8);
    expect(h.take()).toEqual([]);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[10, a, 1, 10, a, 4]', '+I[10, a, 1, 10, a, 5]']);
    op.onWatermark(19);
    expect(h.take()).toEqual([]);
    // Rows of fired windows are late.
    op.process(batch(['+I', 10, 'a', 9]), 1);
    expect(h.counters.get('late-rows-dropped')).toBe(1);
  });

  it('FULL with a residual: unmatched rows of both sides padded with NULLs; NULL keys match nothing', async () => {
    const { h, op } = await wjoin('full', {}, lt);
    op.process(batch(['+I', 10, 'a', 5], ['+I', 10, null, 1], ['+I', 10, 'b', 1]), 0);
    op.process(batch(['+I', 10, 'a', 7], ['+I', 10, 'a', 2], ['+I', 10, null, 3]), 1);
    op.onWatermark(9);
    expect(h.take().sort()).toEqual(
      [
        '+I[10, a, 5, 10, a, 7]',
        '+I[null, null, null, 10, a, 2]',
        '+I[10, null, 1, null, null, null]',
        '+I[10, b, 1, null, null, null]',
        '+I[null, null, null, 10, null, 3]',
      ].sort(),
    );
  });

  it('LEFT drops NULL-key rows of the right side; RIGHT keeps them', async () => {
    const l = await wjoin('left');
    l.op.process(batch(['+I', 10, null, 3]), 1);
    l.op.onWatermark(9);
    expect(l.h.take()).toEqual([]);
    const r = await wjoin('right');
    r.op.process(batch(['+I', 10, null, 3]), 1);
    r.op.onWatermark(9);
    expect(r.h.take()).toEqual(['+I[null, null, null, 10, null, 3]']);
  });

  it('restores pending windows and the watermark onto another parallelism', async () => {
    const { h, op } = await wjoin('left');
    op.process(batch(['+I', 10, 'a', 1], ['+I', 20, 'a', 2], ['+I', 20, 'b', 3]), 0);
    op.process(batch(['+I', 20, 'a', 4]), 1);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[10, a, 1, null, null, null]']);
    const snap = op.snapshotState(1).state!;
    const seen: string[] = [];
    for (let s = 0; s < 2; s++) {
      const r = await wjoin('left', { restoredState: [snap], subtaskIndex: s, parallelism: 2 });
      r.op.process(batch(['+I', 10, 'a', 5]), 1); // window 10 fired before the snapshot
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.onWatermark(100);
      seen.push(...r.h.take());
    }
    expect(seen.sort()).toEqual(['+I[20, a, 2, 20, a, 4]', '+I[20, b, 3, null, null, null]']);
  });
});
