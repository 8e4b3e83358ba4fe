import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema, type SqlType } from '../../src/model/types.js';
import { KeyedAggregateOperator, type AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

const INT = type('INT');
const STR = type('STRING');
const BOOL = type('BOOLEAN');
const col = (index: number, t: SqlType = INT): BoundExpr => ({ kind: 'input', index, type: t });

function agg(name: string, arg?: BoundExpr, filter?: BoundExpr, distinct = false): AggregateSpec {
  const fn = resolveAggregate({ name, distinct, star: arg === undefined }, arg ? [arg.type] : []);
  return { fn, args: arg ? [arg] : [], ...(filter ? { filter } : {}) };
}

/** Input (k STRING, v INT, flag BOOLEAN). */
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
    { name: 'flag', type: BOOL },
  ],
};

async function countSum() {
  const h = harness([schema]);
  const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h);
  return { h, op };
}

describe('KeyedAggregateOperator', () => {
  it('with table.exec.state.ttl drops groups not written for that long, silently, a batch-bounded number at a time', async () => {
    const h = harness([schema], { ttlMs: 1000 });
    h.backend.advanceTime(10_000);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h);
    op.process(batch(['+I', 'a', 1, true], ['+I', 'b', 2, true], ['+I', 'c', 3, true]), 0);
    h.backend.advanceTime(10_900);
    op.process(batch(['+I', 'b', 10, true]), 0); // a write: b lives 1 s from now
    expect(h.take()).toEqual(['+I[a, 1, 1]', '+I[b, 1, 2]', '+I[c, 1, 3]', '-U[b, 1, 2]', '+U[b, 2, 12]']);
    // a and c expire at 11,000 (cleanup): a comes back as a new group (+I, as Flink's TTL), c's retraction finds nothing
    h.backend.advanceTime(11_000);
    op.process(batch(['+I', 'a', 5, true], ['-D', 'c', 3, true]), 0);
    expect(h.take()).toEqual(['+I[a, 1, 5]']);
    expect(op.groupCount).toBe(2);
    expect(h.counters.get('state-keys-expired')).toBe(2);
    h.backend.advanceTime(11_900);
    expect(op.groupCount).toBe(1); // b expired; a, written at 11,000, still lives
    // cleanup examines 256 slots per batch: an expired group it has not reached yet is never read either
    op.process(batch(...Array.from({ length: 400 }, (_, i) => ['+I', `k${i}`, 1, true])), 0);
    h.take();
    h.backend.advanceTime(13_000);
    expect(op.groupCount).toBeGreaterThan(1); // not all expired groups are cleaned up yet
    op.process(batch(['+I', 'k399', 7, true]), 0);
    expect(h.take()).toEqual(['+I[k399, 1, 7]']);
    const snap = await h.snapshot(op);
    const h2 = harness([schema], { ttlMs: 1000, restored: [snap] });
    h2.backend.advanceTime(50_000);
    const r = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h2);
    r.process(batch(['+I', 'k399', 1, true]), 0); // a restore starts the time to live afresh
    expect(h2.take()).toEqual(['-U[k399, 1, 7]', '+U[k399, 2, 8]']);
  });

  it('emits one result per touched key per batch (mini-batch), then -U/+U when it changes', async () => {
    const { h, op } = await countSum();
    op.process(batch(['+I', 'a', 1, true], ['+I', 'a', 2, true], ['+I', 'b', 5, true]), 0);
    expect(h.take()).toEqual(['+I[a, 2, 3]', '+I[b, 1, 5]']);
    op.process(batch(['+I', 'a', 3, true]), 0);
    expect(h.take()).toEqual(['-U[a, 2, 3]', '+U[a, 3, 6]']);
    expect(op.groupCount).toBe(2);
  });

  it('emits nothing for a key whose result did not change', async () => {
    const h = harness([schema]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('MAX', col(1))] }), h);
    op.process(batch(['+I', 'a', 5, true]), 0);
    expect(h.take()).toEqual(['+I[a, 5]']);
    op.process(batch(['+I', 'a', 3, true]), 0);
    expect(h.take()).toEqual([]);
  });

  it('retracts -U/-D input and deletes the group when its count reaches 0', async () => {
    const { h, op } = await countSum();
    op.process(batch(['+I', 'a', 1, true], ['+I', 'a', 2, true]), 0);
    h.take();
    op.process(batch(['-D', 'a', 1, true]), 0);
    expect(h.take()).toEqual(['-U[a, 2, 3]', '+U[a, 1, 2]']);
    op.process(batch(['-U', 'a', 2, true]), 0);
    expect(h.take()).toEqual(['-D[a, 1, 2]']);
    expect(op.groupCount).toBe(0);
    // The key starts over from fresh accumulators.
    op.process(batch(['+U', 'a', 7, true]), 0);
    expect(h.take()).toEqual(['+I[a, 1, 7]']);
  });

  it('retracts MIN and MAX to the next extreme', async () => {
    const h = harness([schema]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('MIN', col(1)), agg('MAX', col(1))] }), h);
    op.process(batch(['+I', 'a', 1, true], ['+I', 'a', 5, true], ['+I', 'a', 3, true], ['+I', 'a', 5, true]), 0);
    expect(h.take()).toEqual(['+I[a, 1, 5]']);
    op.process(batch(['-D', 'a', 1, true]), 0);
    expect(h.take()).toEqual(['-U[a, 1, 5]', '+U[a, 3, 5]']);
    op.process(batch(['-D', 'a', 5, true]), 0);
    expect(h.take()).toEqual([]); // 5 is still there once
    op.process(batch(['-D', 'a', 5, true]), 0);
    expect(h.take()).toEqual(['-U[a, 3, 5]', '+U[a, 3, 3]']);
  });

  it('nets out changes within one batch', async () => {
    const { h, op } = await countSum();
    op.process(batch(['+I', 'a', 1, true]), 0);
    h.take();
    // Retracted and re-added in one batch: one -U/+U pair against the last emitted row.
    op.process(batch(['-U', 'a', 1, true], ['+U', 'a', 9, true]), 0);
    expect(h.take()).toEqual(['-U[a, 1, 1]', '+U[a, 1, 9]']);
    // A new key added and removed within one batch is never emitted.
    op.process(batch(['+I', 'b', 1, true], ['-D', 'b', 1, true]), 0);
    expect(h.take()).toEqual([]);
    expect(op.groupCount).toBe(1);
    // Back to the same result within one batch: nothing.
    op.process(batch(['-U', 'a', 9, true], ['+U', 'a', 9, true]), 0);
    expect(h.take()).toEqual([]);
  });

  it('ignores and counts retractions of unknown keys', async () => {
    const { h, op } = await countSum();
    op.process(batch(['-D', 'zz', 1, true]), 0);
    expect(h.take()).toEqual([]);
    expect(h.counters.get('retractions-of-unknown-keys')).toBe(1);
  });

  it('applies FILTER per aggregate while the row count covers every row', async () => {
    const h = harness([schema]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1), col(2, BOOL))] }), h);
    op.process(batch(['+I', 'a', 1, true], ['+I', 'a', 10, false], ['+I', 'a', 100, null]), 0);
    expect(h.take()).toEqual(['+I[a, 3, 1]']);
    op.process(batch(['-D', 'a', 10, false]), 0);
    expect(h.take()).toEqual(['-U[a, 3, 1]', '+U[a, 2, 1]']);
  });

  it('groups by composite keys with nulls, bigints and separator-like strings', async () => {
    const s: Schema = {
      fields: [
        { name: 'a', type: STR },
        { name: 'b', type: STR },
        { name: 'd', type: type('DECIMAL', true, 10, 2) },
      ],
    };
    const h = harness([s]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [0, 1, 2], aggs: [agg('COUNT')] }), h);
    op.process(
      batch(['+I', 'a|', 'b', 1n], ['+I', 'a', '|b', 1n], ['+I', null, 'x', 1n], ['+I', 'null', 'x', 1n], ['+I', 'a|', 'b', 1n], ['+I', 'a|', 'b', 2n]),
      0,
    );
    expect(h.take()).toEqual(['+I[a|, b, 1n, 2]', '+I[a, |b, 1n, 1]', '+I[null, x, 1n, 1]', '+I[null, x, 1n, 1]', '+I[a|, b, 2n, 1]']);
    expect(op.groupCount).toBe(5);
  });

  it('aggregates globally without group keys', async () => {
    const h = harness([schema]);
    const op = await opened(new KeyedAggregateOperator({ groupKeys: [], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h);
    op.process(batch(['+I', 'a', 1, true], ['+I', 'b', 2, true]), 0);
    op.process(batch(['-D', 'a', 1, true]), 0);
    expect(h.take()).toEqual(['+I[2, 3]', '-U[2, 3]', '+U[1, 2]']);
  });

  it('restores its snapshot with another parallelism, each subtask keeping its own keys', async () => {
    const { op, h } = await countSum();
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    op.process(
      batch(
        ...keys.flatMap((k, i) => [
          ['+I', k, i, true],
          ['+I', k, 1, true],
        ]),
      ),
      0,
    );
    const snap = await h.snapshot(op);
    expect(snap.keyed.length).toBeGreaterThan(10); // 40 keys, cut by key group

    const owner = (k: string, p: number) => subtaskOfHash(hashRow([[k]], 0, [0]), p);
    const seen = new Set<string>();
    for (let sub = 0; sub < 3; sub++) {
      const h = harness([schema], { subtaskIndex: sub, parallelism: 3, restored: [snap] });
      const restored = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h);
      const mine = keys.filter((k) => owner(k, 3) === sub);
      expect(restored.groupCount).toBe(mine.length);
      // Updating a restored key retracts the restored result: the accumulators came back.
      restored.process(batch(...mine.map((k) => ['+I', k, 100, true])), 0);
      const rows = h.take();
      expect(rows).toHaveLength(mine.length * 2);
      for (const k of mine) {
        const i = keys.indexOf(k);
        expect(rows).toContain(`-U[${k}, 2, ${i + 1}]`);
        expect(rows).toContain(`+U[${k}, 3, ${i + 101}]`);
        seen.add(k);
      }
    }
    expect(seen.size).toBe(keys.length);
    expect([0, 1, 2].every((s) => keys.some((k) => owner(k, 3) === s))).toBe(true);

    // Scale back in: the snapshots of three subtasks restore into one.
    const snaps: SubtaskSnapshot[] = [];
    for (let sub = 0; sub < 3; sub++) {
      const h = harness([schema], { subtaskIndex: sub, parallelism: 3, restored: [snap] });
      const r = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h);
      snaps.push(await h.snapshot(r));
    }
    const h1 = harness([schema], { subtaskIndex: 0, parallelism: 1, restored: snaps });
    const merged = await opened(new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col(1))] }), h1);
    expect(merged.groupCount).toBe(keys.length);
  });

  it('keeps MIN/MAX multisets across a snapshot', async () => {
    const h = harness([schema]);
    const make = () => new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('MAX', col(1))] });
    const op = await opened(make(), h);
    op.process(batch(['+I', 'a', 1, true], ['+I', 'a', 9, true]), 0);
    const state = await h.snapshot(op);
    const h2 = harness([schema], { restored: [state] });
    const r = await opened(make(), h2);
    r.process(batch(['-D', 'a', 9, true]), 0);
    expect(h2.take()).toEqual(['-U[a, 9]', '+U[a, 1]']);
  });
});
