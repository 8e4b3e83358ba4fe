import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { WindowTvfOperator, type WindowTvfConfig } from '../../src/runtime/operators/window-tvf.js';
import { batch, harness, opened } from './harness.js';

/** Input (k STRING, ts TIMESTAMP(3)); output adds window_start, window_end, window_time. */
const schema: Schema = {
  fields: [
    { name: 'k', type: type('STRING') },
    { name: 'ts', type: type('TIMESTAMP', false, 3) },
  ],
};

async function tvf(window: WindowTvfConfig['window'], opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([schema], opts);
  const op = await opened(new WindowTvfOperator({ timeCol: 1, window }), h);
  return { h, op };
}

describe('WindowTvfOperator', () => {
  it('TUMBLE: one row per input row with its window, negative times included; forwards watermarks', async () => {
    const { h, op } = await tvf({ kind: 'TUMBLE', size: 10, slide: 10 });
    op.process(batch(['+I', 'a', 0], ['+I', 'b', 19], ['+I', 'c', -1]), 0);
    expect(h.take()).toEqual(['+I[a, 0, 0, 10, 9]', '+I[b, 19, 10, 20, 19]', '+I[c, -1, -10, 0, -1]']);
    h.advanceWatermark(op, 5);
    expect(h.watermarks).toEqual([5]);
  });

  it('HOP and CUMULATE: one row per window the row belongs to', async () => {
    const hop = await tvf({ kind: 'HOP', size: 10, slide: 5 });
    hop.op.process(batch(['+I', 'a', 7]), 0);
    expect(hop.h.take()).toEqual(['+I[a, 7, 0, 10, 9]', '+I[a, 7, 5, 15, 14]']);
    const cum = await tvf({ kind: 'CUMULATE', size: 30, slide: 10 });
    cum.op.process(batch(['+I', 'a', 12], ['+I', 'b', 30]), 0);
    expect(cum.h.take()).toEqual(['+I[a, 12, 0, 20, 19]', '+I[a, 12, 0, 30, 29]', '+I[b, 30, 30, 40, 39]', '+I[b, 30, 30, 50, 49]', '+I[b, 30, 30, 60, 59]']);
  });

  it('drops and counts each (row, window) whose window end - 1 is at or behind the watermark; rejects retractions and NULL times', async () => {
    const { h, op } = await tvf({ kind: 'HOP', size: 10, slide: 5 });
    op.onWatermark(9);
    op.process(batch(['+I', 'a', 7], ['+I', 'b', 2]), 0);
    // a: window [0, 10) has fired, [5, 15) is open; b: both its windows, [-5, 5) and [0, 10), have fired.
    expect(h.take()).toEqual(['+I[a, 7, 5, 15, 14]']);
    expect(h.counters.get('late-rows-dropped')).toBe(3);
    expect(() => op.process(batch(['-D', 'a', 20]), 0)).toThrow(/retraction/);
    expect(() => op.process(batch(['+I', 'a', null]), 0)).toThrow(/NULL in the time column/);
  });

  it('restores the watermark (the lowest of several snapshots, 2 subtasks into 3), so replayed late rows stay dropped', async () => {
    const a = await tvf({ kind: 'TUMBLE', size: 10, slide: 10 }, { subtaskIndex: 0, parallelism: 2 });
    a.op.onWatermark(29);
    const b = await tvf({ kind: 'TUMBLE', size: 10, slide: 10 }, { subtaskIndex: 1, parallelism: 2 });
    b.op.onWatermark(19);
    const snaps = [await a.h.snapshot(a.op), await b.h.snapshot(b.op)];
    expect(snaps.map((s) => s.keyed.length)).toEqual([0, 0]); // only the watermark: no keyed state
    for (let sub = 0; sub < 3; sub++) {
      const r = await tvf({ kind: 'TUMBLE', size: 10, slide: 10 }, { subtaskIndex: sub, parallelism: 3, restored: snaps });
      r.op.process(batch(['+I', 'x', 15], ['+I', 'y', 25]), 0);
      expect(r.h.take()).toEqual(['+I[y, 25, 20, 30, 29]']);
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
    }
  });
});
