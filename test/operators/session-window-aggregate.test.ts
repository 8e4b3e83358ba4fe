import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema, type SqlType } from '../../src/model/types.js';
import type { AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { SessionWindowAggregateOperator } from '../../src/runtime/operators/session-window-aggregate.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

const INT = type('INT');
const STR = type('STRING');
const TS = type('TIMESTAMP', false, 3);
const col = (index: number, t: SqlType = INT): BoundExpr => ({ kind: 'input', index, type: t });

function agg(name: string, arg?: BoundExpr, filter?: BoundExpr): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable: false });
  return { fn, args: arg ? [arg] : [], ...(filter ? { filter } : {}) };
}

/** Input (k STRING, v INT, ts TIMESTAMP(3)); sessions with a gap of 10. */
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
    { name: 'ts', type: TS },
  ],
};
// FILTER (WHERE v > 1) on the MAX.
const gt1: BoundExpr = { kind: 'call', fn: '>', args: [col(1), { kind: 'literal', value: 1, type: INT }], type: type('BOOLEAN') };

function make(withFilter = false): SessionWindowAggregateOperator {
  return new SessionWindowAggregateOperator({
    timeCol: 2,
    gap: 10,
    groups: [{ kind: 'key', index: 0 }, { kind: 'window_start' }, { kind: 'window_end' }, { kind: 'window_time' }],
    aggs: [agg('COUNT'), agg('SUM', col(1)), ...(withFilter ? [agg('MAX', col(1), gt1)] : [])],
  });
}

async function session(opts: Parameters<typeof harness>[1] = {}, withFilter = false) {
  const h = harness([schema], opts);
  const op = await opened(make(withFilter), h);
  return { h, op };
}

describe('SessionWindowAggregateOperator', () => {
  it('out-of-order rows merge sessions per key; a session fires once, when the watermark reaches its end - 1', async () => {
    const { h, op } = await session();
    // a: 0 and 25 are apart; 12, 10 and 22 arrive out of order and bridge them into one session
    // [0, 35) (touching windows merge, as Flink's). b: [5, 15) alone.
    op.process(batch(['+I', 'a', 1, 0], ['+I', 'a', 2, 25], ['+I', 'b', 5, 5]), 0);
    expect(op.openSessions).toBe(3);
    op.process(batch(['+I', 'a', 4, 12]), 0);
    expect(op.openSessions).toBe(4); // [12, 22) touches neither [0, 10) nor [25, 35)
    op.process(batch(['+I', 'a', 8, 10]), 0); // [10, 20) touches [0, 10) and overlaps [12, 22)
    expect(op.openSessions).toBe(3);
    op.process(batch(['+I', 'a', 16, 22]), 0); // [22, 32) joins [0, 22) with [25, 35)
    expect(op.openSessions).toBe(2);
    h.advanceWatermark(op, 13);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 14);
    expect(h.take()).toEqual(['+I[b, 5, 15, 14, 1, 5]']);
    h.advanceWatermark(op, 34);
    expect(h.take()).toEqual(['+I[a, 0, 35, 34, 5, 31]']);
    expect(op.openSessions).toBe(0);
    expect(h.watermarks).toEqual([13, 14, 34]);
  });

  it('a row is late only when no open session absorbs it; late rows are dropped and counted', async () => {
    const { h, op } = await session();
    op.process(batch(['+I', 'a', 1, 20]), 0); // [20, 30)
    op.onWatermark(25);
    // 12: [12, 22) is behind the watermark alone, but merges into [20, 30): kept.
    // 1: [1, 11) touches nothing open: late (as c's row).
    op.process(batch(['+I', 'a', 2, 12], ['+I', 'a', 4, 1], ['+I', 'c', 9, 1]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(2);
    op.onWatermark(29);
    expect(h.take()).toEqual(['+I[a, 12, 30, 29, 2, 3]']);
    // After it fired, a row in the old session's range whose own window is behind the watermark
    // is late; one whose window ends after it opens a new session.
    op.process(batch(['+I', 'a', 7, 18], ['+I', 'a', 6, 22]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(3);
    op.onWatermark(100);
    expect(h.take()).toEqual(['+I[a, 22, 32, 31, 1, 6]']);
  });

  it('FILTER applies per row; sessions of several keys fire oldest first', async () => {
    const { h, op } = await session({}, true);
    op.process(batch(['+I', 'x', 1, 40], ['+I', 'y', 3, 0], ['+I', 'x', 5, 45], ['+I', 'y', 1, 2]), 0);
    op.onWatermark(1000);
    expect(h.take()).toEqual(['+I[y, 0, 12, 11, 2, 4, 3]', '+I[x, 40, 55, 54, 2, 6, 5]']);
  });

  it('restores open sessions and the watermark: nothing fires twice, late rows stay late', async () => {
    const { h, op } = await session();
    op.process(batch(['+I', 'a', 1, 1], ['+I', 'b', 2, 30]), 0);
    op.onWatermark(10);
    expect(h.take()).toEqual(['+I[a, 1, 11, 10, 1, 1]']);
    const snap = await h.snapshot(op);
    op.process(batch(['+I', 'b', 3, 35]), 0); // after the snapshot: lost with the crash

    const r = await session({ restored: [snap] });
    r.op.process(batch(['+I', 'a', 5, 0]), 0); // a's session fired before the snapshot
    expect(r.h.counters.get('late-rows-dropped')).toBe(1);
    r.op.process(batch(['+I', 'b', 3, 35]), 0);
    r.op.onWatermark(100);
    expect(r.h.take()).toEqual(['+I[b, 30, 45, 44, 2, 5]']);
  });

  it('a restore with another parallelism keeps exactly the keys routed to the subtask', async () => {
    const { h, op } = await session();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    op.process(batch(...keys.map((k, i) => ['+I', k, i, 3])), 0);
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(10); // 20 keys, cut by key group
    const seen: string[] = [];
    for (let s = 0; s < 3; s++) {
      const r = await session({ restored: [snap], subtaskIndex: s, parallelism: 3 });
      r.op.onWatermark(100);
      for (const row of r.h.take()) {
        const k = /\+I\[(k\d+),/.exec(row)![1]!;
        expect(subtaskOfHash(hashRow([[k]], 0, [0]), 3)).toBe(s);
        seen.push(k);
      }
    }
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('rescales 2 subtasks into 3: every key lands in one subtask, the watermark is the lowest, output continues as without the restore', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const owner = (k: string, p: number) => subtaskOfHash(hashRow([[k]], 0, [0]), p);
    const rowsOf = (sub: number, p: number, rows: unknown[][]) => rows.filter((r) => owner(r[1] as string, p) === sub);
    const before = keys.flatMap((k, i) => [
      ['+I', k, i, 3],
      ['+I', k, 1, 30],
    ]);
    const after = keys.flatMap((k, i) => [
      ['+I', k, 100 + i, 35],
      ['+I', k, 2, 60],
    ]);
    const oldH = [0, 1].map((sub) => harness([schema], { subtaskIndex: sub, parallelism: 2 }));
    const old = await Promise.all(oldH.map((h) => opened(make(), h)));
    for (const sub of [0, 1]) old[sub]!.process(batch(...rowsOf(sub, 2, before)), 0);
    old[0]!.onWatermark(12); // fires [3, 13) of subtask 0's keys
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
    let sessions = 0;
    for (let sub = 0; sub < 3; sub++) {
      const r = await session({ subtaskIndex: sub, parallelism: 3, restored: snaps });
      sessions += r.op.openSessions;
      r.op.process(batch(...rowsOf(sub, 3, after)), 0);
      r.op.onWatermark(1000);
      actual.push(...r.h.take());
    }
    // Open: every key's [30, 40), and [3, 13) of subtask 1's keys.
    expect(sessions).toBe(keys.length + keys.filter((k) => owner(k, 2) === 1).length);
    expect(actual.sort()).toEqual(expected.sort());
    expect(expected.length).toBe(2 * keys.length + keys.filter((k) => owner(k, 2) === 1).length);

    // The lowest watermark (5): [2, 12) of a key of old subtask 0 is on time (behind its watermark 12).
    const k = keys.find((key) => owner(key, 2) === 0)!;
    const r = await session({ subtaskIndex: owner(k, 3), parallelism: 3, restored: snaps });
    r.op.process(batch(['+I', k, 1, 2]), 0);
    expect(r.h.counters.get('late-rows-dropped')).toBeUndefined();
    r.op.process(batch(['+I', k, 1, -10]), 0); // [-10, 0) is behind 5
    expect(r.h.counters.get('late-rows-dropped')).toBe(1);
  });

  it('restores a checkpoint of an earlier version (one blob per subtask), keeping the keys routed to the subtask', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    // Per key one open session [20, 30) of one row (COUNT's and SUM's input values: 1, i).
    const keyState = (k: string, i: number) => ({ hash: hashRow([[k]], 0, [0]), keys: [k], sessions: [{ start: 20, end: 30, values: [1, i] }] });
    const legacy = serializeState({ v: 1, watermark: 15, keys: keys.map(keyState) });
    const seen: string[] = [];
    for (let s = 0; s < 2; s++) {
      const r = await session({ restoredState: [legacy], subtaskIndex: s, parallelism: 2 });
      const mine = keys.filter((k) => subtaskOfHash(hashRow([[k]], 0, [0]), 2) === s);
      expect(r.op.openSessions).toBe(mine.length);
      r.op.process(batch(['+I', mine[0]!, 5, 2]), 0); // [2, 12): behind the restored watermark
      expect(r.h.counters.get('late-rows-dropped')).toBe(1);
      r.op.process(batch(['+I', mine[0]!, 100, 25]), 0);
      r.op.onWatermark(34);
      const rows = r.h.take();
      expect(rows).toHaveLength(mine.length);
      expect(rows).toContain(`+I[${mine[0]}, 20, 35, 34, 2, ${keys.indexOf(mine[0]!) + 100}]`);
      for (const row of rows) seen.push(/\+I\[(k\d+),/.exec(row)![1]!);
      // Its next snapshot is the new form: the watermark alone, the sessions in the state layer.
      r.op.process(batch(['+I', mine[0]!, 1, 50]), 0);
      const snap = await r.h.snapshot(r.op);
      const again = await session({ restored: [snap], subtaskIndex: s, parallelism: 2 });
      expect(again.op.openSessions).toBe(1);
      again.op.process(batch(['+I', mine[0]!, 1, 20]), 0);
      expect(again.h.counters.get('late-rows-dropped')).toBe(1);
    }
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('rejects retractions and NULL times', async () => {
    const { op } = await session();
    expect(() => op.process(batch(['-D', 'a', 1, 1]), 0)).toThrow(/retraction/);
    expect(() => op.process(batch(['+I', 'a', 1, null]), 0)).toThrow(/NULL in the time column/);
  });
});
