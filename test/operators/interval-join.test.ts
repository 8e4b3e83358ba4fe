import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { IntervalJoinOperator } from '../../src/runtime/operators/interval-join.js';
import { batch, harness, opened } from './harness.js';

const L: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 't', type: type('TIMESTAMP', true, 3) },
  ],
};
const R: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 't', type: type('TIMESTAMP', true, 3) },
  ],
};

// l.t - r.t in [-1000, 2000]
const config = { leftKeys: [0], rightKeys: [0], interval: { leftTime: 1, rightTime: 1, lower: -1000, upper: 2000 } };

describe('interval join operator', () => {
  it('joins pairs within the bounds, drops late rows, cleans state as the watermark passes', async () => {
    const h = harness([L, R]);
    const op = await opened(new IntervalJoinOperator(config), h);
    op.process(batch(['+I', 1, 10_000], ['+I', 2, 10_000]), 0);
    op.process(batch(['+I', 1, 8_000], ['+I', 1, 11_000], ['+I', 1, 7_999], ['+I', 2, 12_000]), 1);
    // l=10000: r in [8000, 11000]
    expect(h.take()).toEqual(['+I[1, 10000, 1, 8000]', '+I[1, 10000, 1, 11000]']);
    op.process(batch(['+I', 2, 13_000]), 0); // r=12000 joins l in [11000, 14000]
    expect(h.take()).toEqual(['+I[2, 13000, 2, 12000]']);
    op.onWatermark(11_000);
    // Left rows expire when t + 1000 <= wm (none; 10000 + 1000 = 11000 expires), right rows when t + 2000 <= wm.
    expect(op.rowCounts).toEqual([1, 2]);
    op.process(batch(['+I', 1, 10_500]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(1);
    expect(h.take()).toEqual([]);
    const snap = op.snapshotState().state!;
    const h2 = harness([L, R], { restoredState: [snap] });
    const op2 = await opened(new IntervalJoinOperator(config), h2);
    op2.process(batch(['+I', 1, 12_000]), 0); // r=11000 is within [10000, 13000]
    expect(h2.take()).toEqual(['+I[1, 12000, 1, 11000]']);
    op2.process(batch(['+I', 1, 10_900]), 1);
    expect(h2.counters.get('late-rows-dropped')).toBe(1);
  });
});
