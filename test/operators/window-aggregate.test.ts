import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema, type SqlType } from '../../src/model/types.js';
import type { AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { WindowAggregateOperator, type WindowAggregateConfig, type WindowShape } from '../../src/runtime/operators/window-aggregate.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';
import { seededRandom } from '../support/weir-process.js';

const INT = type('INT');
const STR = type('STRING');
const TS = type('TIMESTAMP', false, 3);
const col = (index: number, t: SqlType = INT): BoundExpr => ({ kind: 'input', index, type: t });

function agg(name: string, arg?: BoundExpr): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable: false });
  return { fn, args: arg ? [arg] : [] };
}

/** Input (k STRING, v INT, ts TIMESTAMP(3)). */
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
    { name: 'ts', type: TS },
  ],
};

function config(window: WindowShape): WindowAggregateConfig {
  return {
    timeCol: 2,
    window,
    groups: [{ kind: 'key', index: 0 }, { kind: 'window_start' }, { kind: 'window_end' }, { kind: 'window_time' }],
    aggs: [agg('COUNT'), agg('SUM', col(1))],
  };
}

const TUMBLE_10: WindowShape = { kind: 'TUMBLE', size: 10, slide: 10 };

async function tumble(opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([schema], opts);
  const op = await opened(new WindowAggregateOperator(config(TUMBLE_10)), h);
  return { h, op };
}

describe('WindowAggregateOperator', () => {
  it('emits each tumbling window once, when the watermark reaches window_end - 1, then forwards the watermark', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 0], ['+I', 'a', 2, 9], ['+I', 'b', 5, 3], ['+I', 'a', 7, 10]), 0);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 8);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 2, 3]', '+I[b, 0, 10, 9, 1, 5]']);
    expect(h.watermarks).toEqual([8, 9]);
    op.onWatermark(100);
    expect(h.take()).toEqual(['+I[a, 10, 20, 19, 1, 7]']);
    expect(op.pendingGroups).toBe(0);
  });

  it('drops and counts rows whose window has fired', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 5]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]']);
    op.process(batch(['+I', 'a', 2, 9], ['+I', 'a', 3, 0], ['+I', 'a', 4, 10]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(2);
    op.onWatermark(19);
    expect(h.take()).toEqual(['+I[a, 10, 20, 19, 1, 4]']);
  });

  it('HOP assigns a row to size / slide windows; late is decided by its first window', async () => {
    const h = harness([schema]);
    const op = await opened(new WindowAggregateOperator(config({ kind: 'HOP', size: 20, slide: 5 })), h);
    op.process(batch(['+I', 'a', 1, 12]), 0);
    op.onWatermark(1000);
    expect(h.take()).toEqual(['+I[a, -5, 15, 14, 1, 1]', '+I[a, 0, 20, 19, 1, 1]', '+I[a, 5, 25, 24, 1, 1]', '+I[a, 10, 30, 29, 1, 1]']);
    const h2 = harness([schema]);
    const op2 = await opened(new WindowAggregateOperator(config({ kind: 'HOP', size: 20, slide: 5 })), h2);
    op2.onWatermark(14);
    // Its first window [-5, 15) has fired: Flink drops the row from every window.
    op2.process(batch(['+I', 'a', 1, 12]), 0);
    expect(h2.counters.get('late-rows-dropped')).toBe(1);
    expect(op2.pendingGroups).toBe(0);
  });

  it('CUMULATE emits growing windows from the same start', async () => {
    const h = harness([schema]);
    const op = await opened(new WindowAggregateOperator(config({ kind: 'CUMULATE', size: 30, slide: 10 })), h);
    op.process(batch(['+I', 'a', 1, 5], ['+I', 'a', 2, 15], ['+I', 'a', 4, 31]), 0);
    op.onWatermark(29);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]', '+I[a, 0, 20, 19, 2, 3]', '+I[a, 0, 30, 29, 2, 3]']);
    op.onWatermark(39);
    expect(h.take()).toEqual(['+I[a, 30, 40, 39, 1, 4]']);
  });

  for (const shape of [TUMBLE_10, { kind: 'HOP', size: 20, slide: 5 }, { kind: 'CUMULATE', size: 30, slide: 10 }] as const satisfies readonly WindowShape[]) {
    it(`${shape.kind}: random keys, times and watermarks give what a brute force over the kept rows gives`, async () => {
      const random = seededRandom(shape.size * 7 + shape.slide);
      const h = harness([schema]);
      const op = await opened(new WindowAggregateOperator(config(shape)), h);
      const floorTo = (t: number, n: number) => t - (((t % n) + n) % n);
      /** [start, end) of every window of a row at `t`, independent of the operator's code. */
      const windowsOf = (t: number): [number, number][] => {
        const out: [number, number][] = [];
        if (shape.kind === 'CUMULATE') {
          const start = floorTo(t, shape.size);
          for (let end = start + shape.slide; end <= start + shape.size; end += shape.slide) if (end > t) out.push([start, end]);
        } else for (let start = floorTo(t, shape.slide); start > t - shape.size; start -= shape.slide) out.push([start, start + shape.size]);
        return out;
      };
      let wm = -1000;
      op.onWatermark(wm);
      const kept: [string, number, number][] = [];
      const fired = new Set<number>();
      const expected: string[] = [];
      const emitted: string[] = [];
      for (let b = 0; b < 80; b++) {
        const rows = Array.from({ length: 1 + Math.floor(random() * 15) }, () => {
          const r: [string, number, number] = [`k${Math.floor(random() * 5)}`, Math.floor(random() * 10), wm - 10 + Math.floor(random() * 50)];
          // late: its first window has fired
          const firstEnd = Math.min(...windowsOf(r[2]).map(([, e]) => e));
          if (firstEnd - 1 > wm) kept.push(r);
          return ['+I', ...r];
        });
        op.process(batch(...rows), 0);
        if (random() < 0.5) continue;
        wm += Math.floor(random() * 12);
        op.onWatermark(wm);
        emitted.push(...h.take());
        const due = new Map<string, [number, number]>();
        for (const [k, v, t] of kept) {
          for (const [start, end] of windowsOf(t)) {
            if (end - 1 > wm || fired.has(end)) continue;
            const id = `${k}, ${start}, ${end}, ${end - 1}`;
            const acc = due.get(id) ?? [0, 0];
            due.set(id, [acc[0] + 1, acc[1] + v]);
          }
        }
        for (const [id, [c, sum]] of due) expected.push(`+I[${id}, ${c}, ${sum}]`);
        for (const [, , t] of kept) for (const [, end] of windowsOf(t)) if (end - 1 <= wm) fired.add(end);
      }
      expect(emitted.length).toBeGreaterThan(50);
      expect([...emitted].sort()).toEqual([...expected].sort());
    });
  }

  it('handles timestamps before 1970 and fails on a NULL time', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, -1], ['+I', 'a', 1, -10]), 0);
    op.onWatermark(0);
    expect(h.take()).toEqual(['+I[a, -10, 0, -1, 2, 2]']);
    expect(() => op.process(batch(['+I', 'a', 1, null]), 0)).toThrow(/NULL in the time column/);
  });

  it('restores pending windows and the watermark from a snapshot: nothing fires twice, late rows stay late', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 1], ['+I', 'b', 2, 12]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]']);
    const snap = await h.snapshot(op);
    op.process(batch(['+I', 'b', 3, 13]), 0); // after the snapshot: lost with the crash

    const r = await tumble({ restored: [snap] });
    r.op.process(batch(['+I', 'a', 5, 2]), 0); // window [0, 10) fired before the snapshot
    expect(r.h.counters.get('late-rows-dropped')).toBe(1);
    r.op.process(batch(['+I', 'b', 3, 13]), 0);
    r.op.onWatermark(19);
    expect(r.h.take()).toEqual(['+I[b, 10, 20, 19, 2, 5]']);
  });

  it('a restore with another parallelism keeps exactly the keys routed to the subtask', async () => {
    const { h, op } = await tumble();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    op.process(batch(...keys.map((k, i) => ['+I', k, i, 3])), 0);
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(10); // 20 keys, cut by key group
    const seen: string[] = [];
    for (let s = 0; s < 3; s++) {
      const r = await tumble({ restored: [snap], subtaskIndex: s, parallelism: 3 });
      r.op.onWatermark(100);
      for (const row of r.h.take()) {
        const k = /\+I\[(k\d+),/.exec(row)![1]!;
        expect(subtaskOfHash(hashRow([[k]], 0, [0]), 3)).toBe(s);
        seen.push(k);
      }
    }
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('rescales 2 subtasks into 3: every group lands in one subtask, the watermark is the lowest, output continues as without the restore', async () => {
    const hop: WindowShape = { kind: 'HOP', size: 20, slide: 10 };
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const owner = (k: string, p: number) => subtaskOfHash(hashRow([[k]], 0, [0]), p);
    const rowsOf = (sub: number, p: number, rows: unknown[][]) => rows.filter((r) => owner(r[1] as string, p) === sub);
    const before = keys.flatMap((k, i) => [
      ['+I', k, i, 3],
      ['+I', k, 1, 12],
    ]);
    const after = keys.flatMap((k, i) => [
      ['+I', k, 100 + i, 15],
      ['+I', k, 2, 27],
    ]);
    const oldH = [0, 1].map((sub) => harness([schema], { subtaskIndex: sub, parallelism: 2 }));
    const old = await Promise.all(oldH.map((h) => opened(new WindowAggregateOperator(config(hop)), h)));
    for (const sub of [0, 1]) old[sub]!.process(batch(...rowsOf(sub, 2, before)), 0);
    old[0]!.onWatermark(9); // fires [-10, 10) of subtask 0's keys
    old[1]!.onWatermark(5);
    for (const h of oldH) h.take();
    const snaps: SubtaskSnapshot[] = [];
    for (const sub of [0, 1]) snaps.push(await oldH[sub]!.snapshot(old[sub]!));

    // Uninterrupted: the old subtasks go on.
    const expected: string[] = [];
    for (const sub of [0, 1]) {
      old[sub]!.process(batch(...rowsOf(sub, 2, after)), 0);
      old[sub]!.onWatermark(1000);
      expected.push(...oldH[sub]!.take());
    }

    const actual: string[] = [];
    let groups = 0;
    for (let sub = 0; sub < 3; sub++) {
      const h = harness([schema], { subtaskIndex: sub, parallelism: 3, restored: snaps });
      const op = await opened(new WindowAggregateOperator(config(hop)), h);
      groups += op.pendingGroups;
      op.process(batch(...rowsOf(sub, 3, after)), 0);
      op.onWatermark(1000);
      actual.push(...h.take());
    }
    // Pending: every key's [0, 20) and [10, 30), and [-10, 10) of subtask 1's keys.
    expect(groups).toBe(2 * keys.length + keys.filter((k) => owner(k, 2) === 1).length);
    expect(actual.sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(3 * keys.length);

    // The lowest watermark (5): a row at 4 is on time (its first window [-10, 10) fired only in old subtask 0).
    const k = keys.find((key) => owner(key, 3) === 2)!;
    const h = harness([schema], { subtaskIndex: 2, parallelism: 3, restored: snaps });
    const op = await opened(new WindowAggregateOperator(config(hop)), h);
    op.process(batch(['+I', k, 1, 4]), 0);
    expect(h.counters.get('late-rows-dropped')).toBeUndefined();
    op.process(batch(['+I', k, 1, -5]), 0); // its first window [-20, 0) ended before 5
    expect(h.counters.get('late-rows-dropped')).toBe(1);
  });

  it('restores a checkpoint of an earlier version (one blob per subtask), keeping the keys routed to the subtask', async () => {
    const [count, sum] = config(TUMBLE_10).aggs.map((a) => a.fn);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const group = (k: string, v: number) => ({
      hash: hashRow([[k]], 0, [0]),
      keys: [k],
      accs: [count!.accumulate(count!.create(), 1), sum!.accumulate(sum!.create(), v)],
    });
    const legacy = serializeState({ v: 1, watermark: 9, windows: [[20, keys.map((k, i) => group(k, i))]] });
    const seen: string[] = [];
    for (let s = 0; s < 2; s++) {
      const r = await tumble({ restoredState: [legacy], subtaskIndex: s, parallelism: 2 });
      const mine = keys.filter((k) => subtaskOfHash(hashRow([[k]], 0, [0]), 2) === s);
      expect(r.op.pendingGroups).toBe(mine.length);
      r.op.process(batch(['+I', mine[0]!, 5, 8]), 0); // behind the restored watermark
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.process(batch(['+I', mine[0]!, 100, 19]), 0);
      r.op.onWatermark(19);
      const rows = r.h.take();
      expect(rows).toHaveLength(mine.length);
      expect(rows).toContain(`+I[${mine[0]}, 10, 20, 19, 2, ${keys.indexOf(mine[0]!) + 100}]`);
      for (const row of rows) seen.push(/\+I\[(k\d+),/.exec(row)![1]!);
      // Its next snapshot is the new form: the watermark alone, the groups in the state layer.
      r.op.process(batch(['+I', mine[0]!, 1, 25]), 0);
      const snap = await r.h.snapshot(r.op);
      const again = await tumble({ restored: [snap], subtaskIndex: s, parallelism: 2 });
      expect(again.op.pendingGroups).toBe(1);
      again.op.process(batch(['+I', mine[0]!, 1, 19]), 0);
      expect(again.h.counters.get('late-rows-dropped')).toBe(1);
    }
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('rejects retractions (its input is insert-only by plan)', async () => {
    const { op } = await tumble();
    expect(() => op.process(batch(['-D', 'a', 1, 1]), 0)).toThrow(/retraction/);
  });
});
