import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { RankOperator } from '../../src/runtime/operators/rank.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened } from './harness.js';

const S: Schema = {
  fields: [
    { name: 'p', type: type('INT') },
    { name: 'v', type: type('INT') },
  ],
};

async function rank(limit: number, outputRank: boolean, insertOnlyInput: boolean, restoredState: Uint8Array[] = []) {
  const h = harness([S], { restoredState });
  const op = await opened(new RankOperator({ partitionKeys: [0], orderKeys: [{ index: 1, descending: true }], limit, outputRank, insertOnlyInput }), h);
  return { h, op };
}

describe('rank operator (Top-N)', () => {
  it('top 2 with row numbers over an updating input: positions update, retractions bring rows back', async () => {
    const { h, op } = await rank(2, true, false);
    op.process(batch(['+I', 1, 5], ['+I', 1, 7], ['+I', 2, 1]));
    expect(h.take()).toEqual(['+I[1, 7, 1]', '+I[1, 5, 2]', '+I[2, 1, 1]']);
    op.process(batch(['+I', 1, 6]));
    expect(h.take()).toEqual(['-U[1, 5, 2]', '+U[1, 6, 2]']);
    op.process(batch(['+I', 1, 9]));
    expect(h.take()).toEqual(['-U[1, 7, 1]', '+U[1, 9, 1]', '-U[1, 6, 2]', '+U[1, 7, 2]']);
    op.process(batch(['-D', 1, 9], ['-D', 2, 1]));
    expect(h.take()).toEqual(['-U[1, 9, 1]', '+U[1, 7, 1]', '-U[1, 7, 2]', '+U[1, 6, 2]', '-D[2, 1, 1]']);
    expect(op.partitionCount).toBe(1);
  });

  it('without row numbers only rows entering and leaving the top N are emitted; ties order by content', async () => {
    const { h, op } = await rank(2, false, true);
    op.process(batch(['+I', 1, 5], ['+I', 1, 7]));
    expect(h.take()).toEqual(['+I[1, 7, 1]', '+I[1, 5, 2]']);
    op.process(batch(['+I', 1, 6]));
    expect(h.take()).toEqual(['-D[1, 5, 2]', '+I[1, 6, 2]']);
    op.process(batch(['+I', 1, 3], ['+I', 1, 1]));
    expect(h.take()).toEqual([]);
  });

  it('deduplication keeping the last row (limit 1, ORDER BY time DESC) restores from a snapshot', async () => {
    const { h, op } = await rank(1, false, true);
    op.process(batch(['+I', 1, 100], ['+I', 1, 50]));
    expect(h.take()).toEqual(['+I[1, 100, 1]']);
    const snap = op.snapshotState().state!;
    const r = await rank(1, false, true, [snap]);
    r.op.process(batch(['+I', 1, 120], ['+I', 1, 110]));
    expect(r.h.take()).toEqual(['-D[1, 100, 1]', '+I[1, 120, 1]']);
  });

  it('restores a snapshot that keyed "no partition keys" 0: its rows and new rows share one partition', async () => {
    const old = serializeState({ v: 1, partitions: [[0, 0, [[[1, 5], 1]]]] });
    const h = harness([S], { restoredState: [old] });
    const op = await opened(
      new RankOperator({ partitionKeys: [], orderKeys: [{ index: 1, descending: true }], limit: 1, outputRank: true, insertOnlyInput: true }),
      h,
    );
    expect(op.partitionCount).toBe(1);
    op.process(batch(['+I', 2, 7]));
    expect(h.take()).toEqual(['-U[1, 5, 1]', '+U[2, 7, 1]']);
    expect(op.partitionCount).toBe(1);
  });
});
