import { describe, expect, it } from 'vitest';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { type, type Schema } from '../../src/model/types.js';
import { WindowRankOperator } from '../../src/runtime/operators/window-rank.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

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

/** The hash the exchange routes a row (`['+I', we, k, total]`) by: its partition key (we, k). */
function hashOf(r: unknown[]): number {
  return hashRow([[r[1]], [r[2]]], 0, [0, 1]);
}

/** The rows the hash exchange routes to `subtask`. */
function routed(rows: unknown[][], subtask: number, parallelism: number): unknown[][] {
  return rows.filter((r) => subtaskOfHash(hashOf(r), parallelism) === subtask);
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

  it('restores pending windows and the watermark: the windows from the keyed state, the watermark from its own', async () => {
    const { h, op } = await rank();
    op.process(batch(['+I', 10, 'a', 1], ['+I', 20, 'a', 2], ['+I', 20, 'b', 3]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[10, a, 1, 1]']);
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(0);
    expect(op.size).toBe(2);
    const seen: string[] = [];
    let held = 0;
    for (let s = 0; s < 2; s++) {
      const r = await rank({ restored: [snap], subtaskIndex: s, parallelism: 2 });
      held += r.op.size;
      r.op.process(batch(['+I', 10, 'a', 5]), 0); // its window fired before the snapshot
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.onWatermark(100);
      seen.push(...r.h.take());
    }
    expect(held).toBe(2);
    expect(seen.sort()).toEqual(['+I[20, a, 2, 1]', '+I[20, b, 3, 1]']);
  });

  it('rescales: snapshots of 2 subtasks restored into 3 hold every partition once, resume from the lowest watermark and continue exactly', async () => {
    const first: unknown[][] = [];
    for (let p = 0; p < 30; p++) for (const we of [10, 20, 30]) for (let i = 0; i < 5; i++) first.push(['+I', we, `k${p}`, (p * 7 + i * 13 + we) % 17]);
    const second: unknown[][] = [];
    for (let p = 0; p < 30; p++) second.push(['+I', 20, `k${p}`, (p * 5) % 19], ['+I', 30, `k${p}`, p], ['+I', 10, `k${p}`, 99]);
    const reference = await rank();
    reference.op.process(batch(...first), 0);
    reference.op.onWatermark(9);
    reference.h.take();
    reference.op.process(batch(...second), 0);
    reference.op.onWatermark(29);
    const expected = reference.h.take().sort();
    expect(reference.h.counters.get('late-rows-dropped')).toBe(30);

    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await rank({ subtaskIndex: subtask, parallelism: 2 });
      op.process(batch(...routed(first, subtask, 2)), 0);
      // The subtasks' watermarks differ at the barrier; both have fired window 10 and neither window 20.
      op.onWatermark(subtask === 0 ? 9 : 15);
      old.push(await h.snapshot(op));
    }
    const out: string[] = [];
    let held = 0;
    let late = 0;
    for (let subtask = 0; subtask < 3; subtask++) {
      const { h, op } = await rank({ subtaskIndex: subtask, parallelism: 3, restored: old });
      const pending = routed(first, subtask, 3).filter((r) => r[1] !== 10);
      expect(op.size).toBe(new Set(pending.map((r) => `${r[1]} ${r[2]}`)).size);
      held += op.size;
      // The lowest watermark: a row of a window ending at 11 is not late.
      op.process(batch(...routed([['+I', 11, 'k0', 1]], subtask, 3)), 0);
      op.process(batch(...routed(second, subtask, 3)), 0);
      late += h.counters.get('late-rows-dropped') ?? 0;
      op.onWatermark(9);
      expect(h.take()).toEqual([]);
      const rest: string[] = [];
      op.onWatermark(10);
      rest.push(...h.take());
      if (subtaskOfHash(hashOf(['+I', 11, 'k0']), 3) === subtask) expect(rest).toEqual(['+I[11, k0, 1, 1]']);
      else expect(rest).toEqual([]);
      op.onWatermark(29);
      out.push(...h.take());
    }
    expect(held).toBe(60);
    expect(late).toBe(30);
    expect(out.sort()).toEqual(expected);
  });

  it('restores a snapshot whose single partition key was stored concatenated: its rows and new rows share one partition', async () => {
    const old = serializeState({ v: 1, watermark: null, windows: [[20, [['s1:a', { hash: 7, rows: [[20, 'a', 2]] }]]]] });
    const h = harness([schema], { restoredState: [old] });
    const op = await opened(new WindowRankOperator({ partitionKeys: [1], orderKeys: [{ index: 2, descending: true }], limit: 2, windowEnd: 0 }), h);
    op.process(batch(['+I', 20, 'a', 5], ['+I', 20, 'a', 1]), 0);
    op.onWatermark(19);
    expect(h.take()).toEqual(['+I[20, a, 5, 1]', '+I[20, a, 2, 2]']);
  });

  it('restores snapshots of an earlier version at another parallelism: each subtask keeps the partitions routed to it, and the lowest watermark', async () => {
    // StateV1: the watermark and [window end, [partition key, { hash, rows }][]] per window, every window in one blob.
    const rows = Array.from({ length: 20 }, (_, p) => ['+I', 20, `k${p}`, p]);
    const part = (r: unknown[]) => [`s${String(r[2]).length}:${r[2]}`, { hash: hashOf(r), rows: [r.slice(1)] }];
    const old = [
      serializeState({ v: 1, watermark: 12, windows: [[20, rows.slice(0, 10).map(part)]] }),
      serializeState({ v: 1, watermark: 9, windows: [[20, rows.slice(10).map(part)]] }),
    ];
    let held = 0;
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await rank({ subtaskIndex: subtask, parallelism: 2, restoredState: old });
      const mine = routed(rows, subtask, 2);
      expect(op.size).toBe(mine.length);
      held += op.size;
      op.process(batch(['+I', 11, 'x', 1]), 0); // 11 - 1 > 9: not late
      expect(h.counters.get('late-rows-dropped')).toBeUndefined();
      op.process(batch(...mine.map((r) => ['+I', 20, r[2], 100])), 0);
      op.onWatermark(19);
      expect(
        h
          .take()
          .filter((r) => r.startsWith('+I[20'))
          .sort(),
      ).toEqual(mine.flatMap((r) => [`+I[20, ${r[2]}, 100, 1]`, `+I[20, ${r[2]}, ${r[3]}, 2]`]).sort());
      // From now on its state is in the state layer.
      const snap = await h.snapshot(op);
      const again = await rank({ restored: [snap] });
      expect(again.op.size).toBe(0);
    }
    expect(held).toBe(20);
  });
});
