import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema, type SqlType } from '../../src/model/types.js';
import { isWeirError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { KeyedAggregateOperator, type AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { hashRow } from '../../src/model/partition.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';
import type { GroupsV2 } from '../../src/runtime/operators/keyed-aggregate-state.js';

const INT = type('INT');
const BIG = type('BIGINT');
const col = (index: number, t: SqlType = INT): BoundExpr => ({ kind: 'input', index, type: t });

function agg(name: string, arg: BoundExpr | undefined, retractable: boolean): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable });
  return { fn, args: arg ? [arg] : [] };
}

/** Input (k BIGINT, v INT). */
const schema: Schema = {
  fields: [
    { name: 'k', type: BIG },
    { name: 'v', type: INT },
  ],
};
const countSumMax = (retractable: boolean) =>
  new KeyedAggregateOperator({
    groupKeys: [0],
    aggs: [agg('COUNT', undefined, retractable), agg('SUM', col(1), retractable), agg('MAX', col(1), retractable)],
  });

/** Insert-only batches over keys that mix the int32 index and the Map (NULL, fractions, > int32). */
function insertBatches(): ChangeBatch[] {
  const keys: unknown[] = [1, 2, -0, 0, null, 2.5, 2 ** 40, -(2 ** 31), 7];
  const out: ChangeBatch[] = [];
  let seed = 3;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) % n;
  for (let b = 0; b < 30; b++) {
    const rows: unknown[][] = [];
    for (let i = 0; i < 1 + rnd(12); i++) rows.push(['+I', keys[rnd(keys.length)], rnd(4) === 0 ? null : rnd(100) - 50]);
    out.push(batch(...rows));
  }
  return out;
}

/** The keyed-aggregate groups of each key-group section of a snapshot. */
function groupsOf(snapshot: SubtaskSnapshot): GroupsV2[] {
  return snapshot.keyed.map((s) => {
    const [, states] = deserialize(s.bytes) as [number, [string, null, GroupsV2][]];
    expect(states.map(([name]) => name)).toEqual(['groups']);
    return states[0][2];
  });
}

/** A snapshot's groups, which all fall into one key group. */
function onlyGroups(snapshot: SubtaskSnapshot): GroupsV2 {
  const all = groupsOf(snapshot);
  expect(all.length).toBe(1);
  return all[0];
}

async function runAll(retractable: boolean, batches: ChangeBatch[], snapshotEvery = 0): Promise<string[]> {
  let h = harness([schema]);
  let op = await opened(countSumMax(retractable), h);
  const rows: string[] = [];
  for (const [i, b] of batches.entries()) {
    op.process(b, 0);
    rows.push(...h.take());
    if (snapshotEvery > 0 && i % snapshotEvery === snapshotEvery - 1) {
      const state = await h.snapshot(op);
      h = harness([schema], { restored: [state] });
      op = await opened(countSumMax(retractable), h);
    }
  }
  return rows;
}

describe('KeyedAggregateOperator with insert-only aggregates', () => {
  it('emits exactly what the retracting operator emits, across snapshots and restores', async () => {
    const batches = insertBatches();
    const expected = await runAll(true, batches);
    expect(expected.length).toBeGreaterThan(30);
    expect(expected.some((r) => r.startsWith('-U'))).toBe(true);
    expect(expected.filter((r) => r.startsWith('+I')).length).toBe(8); // -0 and 0 are one group
    expect(await runAll(false, batches)).toEqual(expected);
    expect(await runAll(false, batches, 4)).toEqual(expected);
    expect(await runAll(true, batches, 3)).toEqual(expected);
  });

  it('fails with an internal error when a retraction reaches it', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax(false), h);
    op.process(batch(['+I', 1, 5], ['+U', 1, 6]), 0);
    expect(h.take()).toEqual(['+I[1, 2, 11, 6]']);
    for (const kind of ['-D', '-U']) {
      try {
        op.process(batch([kind, 1, 5]), 0);
        expect.unreachable();
      } catch (e) {
        expect(isWeirError(e) && e.domain).toBe('internal');
        expect((e as Error).message).toContain('insert-only');
      }
    }
  });
});

describe('KeyedAggregateOperator snapshots', () => {
  it('are columnar: typed arrays for hashes, counts, numeric keys and numeric accumulators', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax(false), h);
    // 6, 39 and 49 fall into one key group (8), so one section holds all three
    op.process(batch(['+I', 6, 1], ['+I', 39, 300], ['+I', 6, 2], ['+I', 49, null]), 0);
    const s = onlyGroups(await h.snapshot(op));
    expect(s.v).toBe(2);
    expect(s.n).toBe(3);
    expect(s.hashes).toEqual(Uint32Array.from([6, 39, 49].map((k) => hashRow([[k]], 0, [0]))));
    expect(s.counts).toEqual({ t: 'num', d: Uint8Array.from([2, 1, 1]) });
    expect(s.keys).toEqual([{ t: 'num', d: Uint8Array.from([6, 39, 49]) }]);
    expect(s.accs[0]).toEqual({ t: 'num', d: Uint8Array.from([2, 1, 1]) });
    expect(s.accs[1]).toEqual({ t: 'num', d: Uint16Array.from([3, 300, 0]), nulls: Uint8Array.from([0, 0, 1]) });
    expect(s.accs[2]).toEqual({ t: 'num', d: Uint16Array.from([2, 300, 0]), nulls: Uint8Array.from([0, 0, 1]) });
    expect(s.retractable).toEqual([false, false, false]);
  });

  it('skip freed groups, and reused slots restore correctly', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax(true), h);
    op.process(batch(...Array.from({ length: 20 }, (_, k) => ['+I', k, k])), 0);
    op.process(batch(...Array.from({ length: 10 }, (_, k) => ['-D', 2 * k, 2 * k])), 0);
    op.process(batch(['+I', 100, 1], ['+I', 101, 2], ['+I', 3, 50]), 0);
    h.take();
    const state = await h.snapshot(op);
    expect(groupsOf(state).reduce((n, g) => n + g.n, 0)).toBe(12);
    const h2 = harness([schema], { restored: [state] });
    const r = await opened(countSumMax(true), h2);
    expect(r.groupCount).toBe(12);
    r.process(batch(['-D', 3, 50], ['+I', 100, 5], ['+I', 0, 9], ['-D', 101, 2]), 0);
    expect(h2.take()).toEqual(['-U[3, 2, 53, 50]', '+U[3, 1, 3, 3]', '-U[100, 1, 1, 1]', '+U[100, 2, 6, 5]', '+I[0, 1, 9, 9]', '-D[101, 1, 2, 2]']);
  });

  it('restores version 1 snapshots (row-wise, retractable accumulators) into either variant', async () => {
    // What the operator wrote before columnar snapshots: k=5 saw v 3 and 9, k=6 saw v 4.
    const maxAcc = (values: number[]) => ({ m: new Map(values.map((v) => [v, 1])), n: values.length, x: Math.max(...values) });
    const v1 = serialize({
      v: 1,
      hashes: [5, 6].map((k) => hashRow([[k]], 0, [0])),
      keys: [[5], [6]],
      counts: [2, 1],
      accs: [
        [2, [12, 2], maxAcc([3, 9])],
        [1, [4, 1], maxAcc([4])],
      ],
    });
    for (const retractable of [true, false]) {
      const h = harness([schema], { restoredState: [v1] });
      const op = await opened(countSumMax(retractable), h);
      op.process(batch(['+I', 5, 10], ['+I', 6, 1]), 0);
      expect(h.take()).toEqual(['-U[5, 2, 12, 9]', '+U[5, 3, 22, 10]', '-U[6, 1, 4, 4]', '+U[6, 2, 5, 4]']);
      if (retractable) {
        op.process(batch(['-D', 5, 10]), 0);
        expect(h.take()).toEqual(['-U[5, 3, 22, 10]', '+U[5, 2, 12, 9]']);
      }
    }
  });

  it('converts retractable state for insert-only aggregates, and refuses the other way', async () => {
    const h = harness([schema]);
    const r = await opened(countSumMax(true), h);
    r.process(batch(['+I', 1, 4], ['+I', 1, 8]), 0);
    const retracting = await h.snapshot(r);
    const h2 = harness([schema], { restored: [retracting] });
    const io = await opened(countSumMax(false), h2);
    io.process(batch(['+I', 1, 1]), 0);
    expect(h2.take()).toEqual(['-U[1, 2, 12, 8]', '+U[1, 3, 13, 8]']);

    const insertOnly = await h2.snapshot(io);
    try {
      await opened(countSumMax(true), harness([schema], { restored: [insertOnly] }));
      expect.unreachable();
    } catch (e) {
      expect(isWeirError(e) && e.code).toBe('STATE_INCOMPATIBLE');
      expect((e as Error).message).toContain('insert-only input');
    }
  });

  it('snapshot 200k groups into a few MiB', async () => {
    const h = harness([schema]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT', undefined, false), agg('SUM', col(1), false)] }), h);
    const n = 200_000;
    const k = Array.from({ length: n }, (_, i) => i + 1);
    const v = Array.from({ length: n }, (_, i) => i % 10);
    op.process({ size: n, kinds: new Uint8Array(n), columns: [k, v] }, 0);
    const bytes = await h.snapshot(op);
    // hashes 4 B + key 4 B + count, COUNT and SUM 1 B each per group (+ ~200 B per key group)
    expect(bytes.keyed.reduce((total, s) => total + s.bytes.length, 0)).toBeLessThan(n * 11 + 128 * 300);
    const h2 = harness([schema], { restored: [bytes] });
    const r = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT', undefined, false), agg('SUM', col(1), false)] }), h2);
    expect(r.groupCount).toBe(n);
    r.process(batch(['+I', 123_457, 5]), 0);
    expect(h2.take()).toEqual(['-U[123457, 1, 6]', '+U[123457, 2, 11]']);
  });

  it('a global aggregate (no group keys) continues its one group after a restore', async () => {
    const global = () => new KeyedAggregateOperator({ groupKeys: [], aggs: [agg('COUNT', undefined, true), agg('SUM', col(1), true)] });
    const h = harness([schema]);
    const op = await opened(global(), h);
    op.process(batch(['+I', 1, 5], ['+I', 2, 6]), 0);
    const h2 = harness([schema], { restored: [await h.snapshot(op)] });
    const r = await opened(global(), h2);
    r.process(batch(['+I', 3, 7]), 0);
    expect(h2.take()).toEqual(['-U[2, 11]', '+U[3, 18]']);
    expect(r.groupCount).toBe(1);
    r.process(batch(['-D', 1, 5], ['-D', 2, 6], ['-D', 3, 7]), 0);
    expect(h2.take()).toEqual(['-D[3, 18]']);
    expect(r.groupCount).toBe(0);
  });
});
