import { describe, expect, it } from 'vitest';
import { hashValue, subtaskOfHash } from '../../src/model/partition.js';
import { type, type Schema } from '../../src/model/types.js';
import { IntervalJoinOperator } from '../../src/runtime/operators/interval-join.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

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

async function ijoin(opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([L, R], opts);
  const op = await opened(new IntervalJoinOperator(config), h);
  return { h, op };
}

/** The rows (`['+I', k, t]`) the hash exchange routes to `subtask`. */
function routed(rows: unknown[][], subtask: number, parallelism: number): unknown[][] {
  return rows.filter((r) => subtaskOfHash(hashValue(r[1]), parallelism) === subtask);
}

describe('interval join operator', () => {
  it('joins pairs within the bounds, drops late rows, cleans state as the watermark passes', async () => {
    const { h, op } = await ijoin();
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
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(0);
    expect(op.size).toBe(3);
    const r = await ijoin({ restored: [snap] });
    expect(r.op.rowCounts).toEqual([1, 2]);
    r.op.process(batch(['+I', 1, 12_000]), 0); // r=11000 is within [10000, 13000]
    expect(r.h.take()).toEqual(['+I[1, 12000, 1, 11000]']);
    r.op.process(batch(['+I', 1, 10_900]), 1);
    expect(r.h.counters.get('late-rows-dropped')).toBe(1);
  });

  it('rescales: snapshots of 2 subtasks restored into 3 hold every row once, resume from the lowest watermark and continue exactly', async () => {
    const left: unknown[][] = [];
    const right: unknown[][] = [];
    for (let k = 0; k < 30; k++) {
      left.push(['+I', k, 10_000 + ((k * 37) % 500)], ['+I', k, 10_600]);
      if (k % 3 !== 0) right.push(['+I', k, 9_900 + ((k * 53) % 700)]);
    }
    // Times after every old subtask's watermark, and rows at or below the lowest (late).
    const left2: unknown[][] = [];
    const right2: unknown[][] = [];
    for (let k = 0; k < 30; k++) {
      left2.push(['+I', k, 11_000 + ((k * 11) % 900)]);
      right2.push(['+I', k, 10_500 + ((k * 29) % 1500)], ['+I', k, 9_000]);
    }
    const reference = await ijoin();
    reference.op.process(batch(...left), 0);
    reference.op.process(batch(...right), 1);
    reference.op.onWatermark(9_500);
    reference.h.take();
    const held = reference.op.rowCounts;
    reference.op.process(batch(...right2), 1);
    reference.op.process(batch(...left2), 0);
    const expected = reference.h.take().sort();
    expect(expected.length).toBeGreaterThan(60);
    expect(reference.h.counters.get('late-rows-dropped')).toBe(30);

    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await ijoin({ subtaskIndex: subtask, parallelism: 2 });
      op.process(batch(...routed(left, subtask, 2)), 0);
      op.process(batch(...routed(right, subtask, 2)), 1);
      op.onWatermark(subtask === 0 ? 9_500 : 9_800); // the subtasks' watermarks differ at the barrier
      h.take();
      old.push(await h.snapshot(op));
    }
    const out: string[] = [];
    const counts = [0, 0];
    let late = 0;
    for (let subtask = 0; subtask < 3; subtask++) {
      const { h, op } = await ijoin({ subtaskIndex: subtask, parallelism: 3, restored: old });
      const [l, r] = op.rowCounts;
      expect(l).toBe(routed(left, subtask, 3).length);
      counts[0] += l;
      counts[1] += r;
      // The lowest watermark: a row at 9 600 is not late.
      const early = routed(
        Array.from({ length: 20 }, (_, i) => ['+I', 100 + i, 9_600]),
        subtask,
        3,
      )[0]!;
      op.process(batch(early), 0);
      expect(op.rowCounts[0]).toBe(l + 1);
      op.process(batch(...routed(right2, subtask, 3)), 1);
      op.process(batch(...routed(left2, subtask, 3)), 0);
      late += h.counters.get('late-rows-dropped') ?? 0;
      out.push(...h.take());
    }
    expect(counts).toEqual(held);
    expect(late).toBe(30);
    expect(out.sort()).toEqual(expected);
  });

  it('restores snapshots of an earlier version at another parallelism: each subtask keeps the keys routed to it, and the lowest watermark', async () => {
    // StateV1: the watermark and per side [key, hash of the key, [time, row][]], every key in one blob.
    const side = (keys: number[], t: number) => keys.map((k) => [k, hashValue(k), [[t, [k, t]]]]);
    const keys = Array.from({ length: 20 }, (_, k) => k);
    const old = [
      serializeState({ v: 1, watermark: 9_800, sides: [side(keys.slice(0, 10), 10_000), side(keys.slice(0, 10), 10_500)] }),
      serializeState({ v: 1, watermark: 9_500, sides: [side(keys.slice(10), 10_000), []] }),
    ];
    let held = 0;
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await ijoin({ subtaskIndex: subtask, parallelism: 2, restoredState: old });
      const mine = routed(
        keys.map((k) => ['+I', k, 9_600]), // after the lowest watermark: not late
        subtask,
        2,
      );
      expect(op.rowCounts[0]).toBe(mine.length);
      held += op.rowCounts[0];
      op.process(batch(...mine), 1);
      expect(h.counters.get('late-rows-dropped')).toBeUndefined();
      // Each restored left row (t = 10 000) joins the new right row of its key (l - r = 400).
      expect(h.take().sort()).toEqual(mine.map((r) => `+I[${r[1]}, 10000, ${r[1]}, 9600]`).sort());
      // From now on its state is in the state layer.
      const snap = await h.snapshot(op);
      const again = await ijoin({ restored: [snap], subtaskIndex: subtask, parallelism: 2 });
      expect(again.op.rowCounts).toEqual(op.rowCounts);
    }
    expect(held).toBe(20);
  });
});
