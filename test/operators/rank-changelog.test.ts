import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { RankOperator } from '../../src/runtime/operators/rank.js';
import { batch, harness, opened } from './harness.js';

/** (p INT, ts INT): deduplication and Top-N fed out-of-order rows and -U/+U/-D updates. */
const S: Schema = {
  fields: [
    { name: 'p', type: type('INT') },
    { name: 'ts', type: type('INT') },
  ],
};

async function rank(limit: number, descending: boolean, insertOnlyInput: boolean, outputRank = false) {
  const h = harness([S]);
  const op = await opened(new RankOperator({ partitionKeys: [0], orderKeys: [{ index: 1, descending }], limit, outputRank, insertOnlyInput }), h);
  return { h, op };
}

describe('rank operator: out-of-order input and changelog input', () => {
  it('deduplication keeping the first row (ORDER BY ts ASC): an earlier row arriving late replaces the kept one', async () => {
    const { h, op } = await rank(1, false, true);
    op.process(batch(['+I', 1, 50], ['+I', 2, 7]));
    expect(h.take()).toEqual(['+I[1, 50, 1]', '+I[2, 7, 1]']);
    op.process(batch(['+I', 1, 60]));
    expect(h.take()).toEqual([]);
    op.process(batch(['+I', 1, 40])); // out of order: earlier than the kept row
    expect(h.take()).toEqual(['-D[1, 50, 1]', '+I[1, 40, 1]']);
  });

  it('deduplication over an updating input: deleting the kept row brings back the next one; an update moves it', async () => {
    const { h, op } = await rank(1, true, false);
    op.process(batch(['+I', 1, 10], ['+I', 1, 30], ['+I', 1, 20]));
    expect(h.take()).toEqual(['+I[1, 30, 1]']);
    op.process(batch(['-D', 1, 30]));
    expect(h.take()).toEqual(['-D[1, 30, 1]', '+I[1, 20, 1]']);
    op.process(batch(['-U', 1, 10], ['+U', 1, 25]));
    expect(h.take()).toEqual(['-D[1, 20, 1]', '+I[1, 25, 1]']);
    op.process(batch(['-D', 1, 25], ['-D', 1, 20]));
    expect(h.take()).toEqual(['-D[1, 25, 1]']);
    expect(op.partitionCount).toBe(0);
  });

  it('Top-2 with row numbers over -U/+U pairs in one batch: only positions that changed are updated', async () => {
    const { h, op } = await rank(2, true, false, true);
    op.process(batch(['+I', 1, 5], ['+I', 1, 7], ['+I', 1, 3]));
    expect(h.take()).toEqual(['+I[1, 7, 1]', '+I[1, 5, 2]']);
    // 3 -> 9 jumps to the top; 5 falls out.
    op.process(batch(['-U', 1, 3], ['+U', 1, 9]));
    expect(h.take()).toEqual(['-U[1, 7, 1]', '+U[1, 9, 1]', '-U[1, 5, 2]', '+U[1, 7, 2]']);
    // An update below the top 2 emits nothing.
    op.process(batch(['-U', 1, 5], ['+U', 1, 4]));
    expect(h.take()).toEqual([]);
  });
});
