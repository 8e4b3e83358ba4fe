import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { type, type Schema } from '../../src/model/types.js';
import { WindowJoinOperator, type WindowJoinConfig } from '../../src/runtime/operators/window-join.js';
import { keyPart } from '../../src/state/key-part.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

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

async function wjoin(joinType: WindowJoinConfig['joinType'], opts: Parameters<typeof harness>[1] = {}, residual?: BoundExpr, keys = [0, 1]) {
  const h = harness([side, side], opts);
  const op = await opened(new WindowJoinOperator({ joinType, leftKeys: keys, rightKeys: keys, leftEnd: 0, rightEnd: 0, ...(residual ? { residual } : {}) }), h);
  return { h, op };
}

/** The hash the exchange routes a row (`['+I', we, k, n]`) by, over the key columns `keys`. */
function hashOf(r: readonly unknown[], keys: readonly number[]): number {
  return hashRow([[r[1]], [r[2]], [r[3]]], 0, keys);
}

/** The rows the hash exchange routes to `subtask`. */
function routed(rows: unknown[][], subtask: number, parallelism: number, keys: readonly number[]): unknown[][] {
  return rows.filter((r) => subtaskOfHash(hashOf(r, keys), parallelism) === subtask);
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
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(0);
    expect(op.size).toBe(2);
    const seen: string[] = [];
    let held = 0;
    for (let s = 0; s < 2; s++) {
      const r = await wjoin('left', { restored: [snap], subtaskIndex: s, parallelism: 2 });
      held += r.op.size;
      r.op.process(batch(['+I', 10, 'a', 5]), 1); // window 10 fired before the snapshot
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.onWatermark(100);
      seen.push(...r.h.take());
    }
    expect(held).toBe(2);
    expect(seen.sort()).toEqual(['+I[20, a, 2, 20, a, 4]', '+I[20, b, 3, null, null, null]']);
  });

  it('rescales: snapshots of 2 subtasks restored into 3 hold every key once, resume from the lowest watermark and continue exactly', async () => {
    const keys = [0, 1, 2]; // (we, k, n): NULL-key rows of one window spread over the subtasks
    const left: unknown[][] = [];
    const right: unknown[][] = [];
    for (let p = 0; p < 20; p++) {
      for (const we of [10, 20, 30]) {
        left.push(['+I', we, `k${p}`, p % 3]);
        if (p % 2 === 0) right.push(['+I', we, `k${p}`, p % 3], ['+I', we, `k${p}`, p % 3]);
      }
    }
    for (let i = 0; i < 8; i++) {
      left.push(['+I', 20, null, i]);
      right.push(['+I', 20, null, i]);
    }
    const left2: unknown[][] = [
      ['+I', 10, 'k1', 1],
      ['+I', 30, null, 1],
    ];
    const right2: unknown[][] = [
      ['+I', 10, 'k0', 0],
      ['+I', 30, null, 1],
    ];
    for (let p = 1; p < 20; p += 2) {
      left2.push(['+I', 20, `k${p}`, p % 3]);
      right2.push(['+I', 30, `k${p}`, p % 3]);
    }

    const reference = await wjoin('full', {}, undefined, keys);
    reference.op.process(batch(...left), 0);
    reference.op.process(batch(...right), 1);
    reference.op.onWatermark(9);
    reference.h.take();
    const pending = reference.op.size;
    reference.op.process(batch(...left2), 0);
    reference.op.process(batch(...right2), 1);
    reference.op.onWatermark(29);
    const expected = reference.h.take().sort();
    expect(expected.filter((r) => r.includes('null, null, null')).length).toBeGreaterThan(16);
    expect(reference.h.counters.get('late-rows-dropped')).toBe(2);

    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await wjoin('full', { subtaskIndex: subtask, parallelism: 2 }, undefined, keys);
      op.process(batch(...routed(left, subtask, 2, keys)), 0);
      op.process(batch(...routed(right, subtask, 2, keys)), 1);
      // The subtasks' watermarks differ at the barrier; both have fired window 10 and neither window 20.
      op.onWatermark(subtask === 0 ? 9 : 15);
      old.push(await h.snapshot(op));
    }
    const out: string[] = [];
    let held = 0;
    let late = 0;
    for (let subtask = 0; subtask < 3; subtask++) {
      const { h, op } = await wjoin('full', { subtaskIndex: subtask, parallelism: 3, restored: old }, undefined, keys);
      held += op.size;
      // The lowest watermark: a row of a window ending at 11 is not late.
      op.process(batch(...routed([['+I', 11, 'x', 0]], subtask, 3, keys)), 0);
      op.process(batch(...routed(left2, subtask, 3, keys)), 0);
      op.process(batch(...routed(right2, subtask, 3, keys)), 1);
      late += h.counters.get('late-rows-dropped') ?? 0;
      op.onWatermark(10);
      const early = h.take();
      expect(early).toEqual(subtaskOfHash(hashOf(['+I', 11, 'x', 0], keys), 3) === subtask ? ['+I[11, x, 0, null, null, null]'] : []);
      op.onWatermark(29);
      out.push(...h.take());
    }
    expect(held).toBe(pending);
    expect(late).toBe(2);
    expect(out.sort()).toEqual(expected);
  });

  it('2 subtasks into 1: NULL-key rows the old subtasks numbered alike are all kept', async () => {
    const keys = [0, 1, 2];
    // A NULL-key row routed to each old subtask: both are the first NULL key of their subtask.
    const rows = Array.from({ length: 40 }, (_, n) => ['+I', 20, null, n]);
    const picked = [0, 1].map((s) => routed(rows, s, 2, keys)[0]!);
    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await wjoin('left', { subtaskIndex: subtask, parallelism: 2 }, undefined, keys);
      op.process(batch(picked[subtask]!), 0);
      old.push(await h.snapshot(op));
    }
    const { h, op } = await wjoin('left', { restored: old }, undefined, keys);
    expect(op.size).toBe(2);
    op.process(batch(['+I', 20, null, 99]), 0);
    op.onWatermark(19);
    expect(h.take().sort()).toEqual([...picked.map((r) => `+I[20, null, ${r[3]}, null, null, null]`), '+I[20, null, 99, null, null, null]'].sort());
  });

  it('restores snapshots of an earlier version at another parallelism: each subtask keeps the keys routed to it, NULL keys apart, the lowest watermark', async () => {
    const keys = [0, 1];
    // StateV1: the watermark, [window end, [key, { hash, rows: [left, right] }][]] per window and the NULL-key counter, in one blob.
    const entry = (k: string | null, n: number) => {
      const r = ['+I', 20, k, n];
      const key = k === null ? `\u0001${n % 10}` : keyPart(20) + keyPart(k);
      return [key, { hash: hashOf(r, keys), rows: [[r.slice(1)], k === null ? [] : [[20, k, n + 100]]] }];
    };
    const old = [
      serializeState({ v: 1, watermark: 12, windows: [[20, [...Array.from({ length: 10 }, (_, p) => entry(`k${p}`, p)), entry(null, 10)]]], nullKeys: 1 }),
      serializeState({
        v: 1,
        watermark: 9,
        windows: [[20, [...Array.from({ length: 10 }, (_, p) => entry(`k${p + 10}`, p + 10)), entry(null, 20)]]],
        nullKeys: 1,
      }),
    ];
    const all: string[] = [];
    const expected: string[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await wjoin('left', { subtaskIndex: subtask, parallelism: 2, restoredState: old });
      const early = routed(
        Array.from({ length: 20 }, (_, i) => ['+I', 11, `x${i}`, 1]),
        subtask,
        2,
        keys,
      )[0]!;
      op.process(batch(early), 0); // 11 - 1 > 9: not late
      expect(h.counters.get('late-rows-dropped')).toBeUndefined();
      expected.push(`+I[11, ${early[2]}, 1, null, null, null]`);
      // From now on its state is in the state layer.
      const snap = await h.snapshot(op);
      const again = await wjoin('left', { restored: [snap], subtaskIndex: subtask, parallelism: 2 });
      expect(again.op.size).toBe(op.size);
      op.onWatermark(19);
      all.push(...h.take());
    }
    for (let p = 0; p < 20; p++) {
      // Each subtask holds its own keys: every pair once over both.
      expected.push(`+I[20, k${p}, ${p}, 20, k${p}, ${p + 100}]`);
    }
    // Both NULL-key rows route by the same hash (20, NULL): one subtask holds both, kept apart though both were key 0.
    expected.push('+I[20, null, 10, null, null, null]', '+I[20, null, 20, null, null, null]');
    expect(all.sort()).toEqual(expected.sort());
  });
});
