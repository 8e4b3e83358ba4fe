import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { WindowRankOperator } from '../../src/runtime/operators/window-rank.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened } from './harness.js';

/** Input (we TIMESTAMP, k STRING, total INT): a window aggregate's output; top 2 per (we, k) by total DESC. */
const schema: Schema = {
  fields: [
    { name: 'we', type: type('TIMESTAMP', false, 3) },
    { name: 'k', type: type('STRING') },
    { name: 'total', type: type('INT') },
  ],
};

async function rank(opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([schema], opts);
  const op = await opened(new WindowRankOperator({ partitionKeys: [0, 1], orderKeys: [{ index: 2, descending: true }], limit: 2, windowEnd: 0 }), h);
  return { h, op };
}

describe('WindowRankOperator', () => {
  it("emits each window's top N once, as +I with the row number, when the watermark reaches its end - 1", async () => {
    const { h, op } = await rank();
    op.process(batch(['+I', 10, 'a', 5], ['+I', 10, 'a', 9], ['+I', 20, 'a', 1], ['+I', 10, 'a', 7], ['+I', 10, 'b', 3]), 0);
    h.advanceWatermark(op, 8);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 9);
    expect(h.take()).toEqual(['+I[10, a, 9, 1]', '+I[10, a, 7, 2]', '+I[10, b, 3, 1]']);
    // Ties are ordered by the row's content, so arrival order does not matter.
    op.process(batch(['+I', 20, 'a', 4], ['+I', 20, 'a', 4], ['+I', 20, 'a', 8]), 0);
    h.advanceWatermark(op, 19);
    expect(h.take()).toEqual(['+I[20, a, 8, 1]', '+I[20, a, 4, 2]']);
    expect(h.watermarks).toEqual([8, 9, 19]);
  });

  it('keeps at most 2N rows per partition; drops and counts rows of fired windows; rejects retractions', async () => {
    const { h, op } = await rank();
    op.process(batch(...Array.from({ length: 50 }, (_, i) => ['+I', 10, 'a', (i * 17) % 50])), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[10, a, 49, 1]', '+I[10, a, 48, 2]']);
    op.process(batch(['+I', 10, 'a', 100]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(1);
    expect(() => op.process(batch(['-D', 30, 'a', 1]), 0)).toThrow(/retraction/);
  });

  it('restores pending windows and the watermark', async () => {
    const { h, op } = await rank();
    op.process(batch(['+I', 10, 'a', 1], ['+I', 20, 'a', 2], ['+I', 20, 'b', 3]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[10, a, 1, 1]']);
    const snap = op.snapshotState(1).state!;
    const seen: string[] = [];
    for (let s = 0; s < 2; s++) {
      const r = await rank({ restoredState: [snap], subtaskIndex: s, parallelism: 2 });
      r.op.process(batch(['+I', 10, 'a', 5]), 0); // its window fired before the snapshot
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.onWatermark(100);
      seen.push(...r.h.take());
    }
    expect(seen.sort()).toEqual(['+I[20, a, 2, 1]', '+I[20, b, 3, 1]']);
  });

  it('restores a snapshot whose single partition key was stored concatenated: its rows and new rows share one partition', async () => {
    const old = serializeState({ v: 1, watermark: null, windows: [[20, [['s1:a', { hash: 7, rows: [[20, 'a', 2]] }]]]] });
    const h = harness([schema], { restoredState: [old] });
    const op = await opened(new WindowRankOperator({ partitionKeys: [1], orderKeys: [{ index: 2, descending: true }], limit: 2, windowEnd: 0 }), h);
    op.process(batch(['+I', 20, 'a', 5], ['+I', 20, 'a', 1]), 0);
    op.onWatermark(19);
    expect(h.take()).toEqual(['+I[20, a, 5, 1]', '+I[20, a, 2, 2]']);
  });
});
