import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { isWeirError } from '../../src/errors.js';
import { type, type Schema } from '../../src/model/types.js';
import { JoinOperator } from '../../src/runtime/operators/join.js';
import { seededRandom } from '../support/weir-process.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

/**
 * A side whose input is insert-only (and which no outer join preserves) keeps its rows as a plain
 * list: the join's output must be what the general form (row ids, counts) gives, and a checkpoint
 * of either form must restore into the other.
 */
const L: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 'a', type: type('INT') },
  ],
};
const R: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 'b', type: type('INT') },
  ],
};
/** a < b (over the joined row: k, a, k, b). */
const residual: BoundExpr = {
  kind: 'call',
  fn: '<',
  args: [
    { kind: 'input', index: 1, type: type('INT') },
    { kind: 'input', index: 3, type: type('INT') },
  ],
  type: type('BOOLEAN'),
};

type JoinType = 'inner' | 'left' | 'right' | 'full';

async function join(joinType: JoinType, insertOnly: [boolean, boolean], restored: SubtaskSnapshot[] = [], withResidual = false) {
  const h = harness([L, R], { restored });
  const op = await opened(new JoinOperator({ joinType, leftKeys: [0], rightKeys: [0], insertOnly, ...(withResidual ? { residual } : {}) }), h);
  return { h, op };
}

/** Insert-only rows on both sides over few keys, with duplicates; [input, batch]. */
function inputs(seed: number, count: number): [number, ReturnType<typeof batch>][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const rows = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ['+I', Math.floor(random() * 7), Math.floor(random() * 4)]);
    return [random() < 0.5 ? 0 : 1, batch(...rows)];
  });
}

const sorted = (rows: string[]) => [...rows].sort();

describe('regular join with insert-only sides', () => {
  for (const joinType of ['inner', 'left', 'right', 'full'] as const) {
    for (const withResidual of [false, true]) {
      it(`${joinType} join${withResidual ? ' with a residual' : ''}: the list form emits what the general form emits`, async () => {
        const input = inputs(joinType.length * 7 + (withResidual ? 1 : 0), 80);
        const general = await join(joinType, [false, false], [], withResidual);
        const list = await join(joinType, [true, true], [], withResidual);
        for (const [side, b] of input) {
          general.op.process(b, side);
          list.op.process(b, side);
          // Per batch the same rows (the order of duplicates within a batch may differ).
          expect(sorted(list.h.take())).toEqual(sorted(general.h.take()));
        }
        expect(list.op.keyCounts).toEqual(general.op.keyCounts);
      });
    }
  }

  it('checkpoints restore from the general form into the list form and back, and the output goes on the same', async () => {
    const input = inputs(5, 120);
    const reference = await join('inner', [false, false]);
    for (const [side, b] of input) reference.op.process(b, side);
    const expected = sorted(reference.h.take());

    let snap: SubtaskSnapshot[] = [];
    const out: string[] = [];
    // 40 batches in each form: general, list, general.
    for (const [i, form] of (
      [
        [false, false],
        [true, true],
        [false, false],
      ] as [boolean, boolean][]
    ).entries()) {
      const run = await join('inner', form, snap);
      for (const [side, b] of input.slice(i * 40, i * 40 + 40)) run.op.process(b, side);
      out.push(...run.h.take());
      snap = [await run.h.snapshot(run.op)];
    }
    expect(sorted(out)).toEqual(expected);
  });

  it('a retraction reaching a side declared insert-only is an internal error, not a wrong result', async () => {
    const { op } = await join('inner', [true, false]);
    op.process(batch(['+I', 1, 1]), 0);
    try {
      op.process(batch(['-D', 1, 1]), 0);
      expect.unreachable();
    } catch (e) {
      expect(isWeirError(e) && e.domain).toBe('internal');
    }
  });
});
