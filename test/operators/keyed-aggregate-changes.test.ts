import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { hashRow, keyGroupOf } from '../../src/model/partition.js';
import { type, type Schema } from '../../src/model/types.js';
import { type AggregateSpec, KeyedAggregateOperator } from '../../src/runtime/operators/keyed-aggregate.js';
import type { GroupChanges, GroupsV2 } from '../../src/runtime/operators/keyed-aggregate-state.js';
import { unpackGroups } from '../../src/runtime/operators/keyed-aggregate-state.js';
import { unpackColumn } from '../../src/state/columns.js';
import { batch, harness, opened } from './harness.js';

const INT = type('INT');
const col = (index: number): BoundExpr => ({ kind: 'input', index, type: INT });

function agg(name: string, arg?: BoundExpr): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : []);
  return { fn, args: arg ? [arg] : [] };
}

/** Input (k STRING, v INT, w INT); k holds strings and numbers, so both slot indexes are used. */
const schema: Schema = {
  fields: [
    { name: 'k', type: type('STRING') },
    { name: 'v', type: INT },
    { name: 'w', type: INT },
  ],
};

/** COUNT(*), SUM(v), MAX(v) (a Map accumulator) grouped by `groupKeys`. */
const countSumMax = (groupKeys: readonly number[]) => new KeyedAggregateOperator({ groupKeys, aggs: [agg('COUNT'), agg('SUM', col(1)), agg('MAX', col(1))] });

type Section = readonly [number, unknown];

/** As the state layer keeps a section: a structured clone, taken at once. */
const stored = (sections: Iterable<Section>): Section[] => deserialize(serialize([...sections])) as Section[];

/** A snapshot's groups per key group, each as [hash, keys..., count, accs...], in key order (slot order differs between operators). */
function groupsByKeyGroup(sections: Iterable<Section>, keyCount: number): Map<number, unknown[][]> {
  const out = new Map<number, unknown[][]>();
  for (const [kg, data] of stored(sections)) {
    const g = unpackGroups(data as GroupsV2, keyCount, 3);
    const rows: unknown[][] = [];
    for (let i = 0; i < g.n; i++) {
      expect(keyGroupOf(g.hashes[i])).toBe(kg);
      rows.push([g.hashes[i], ...g.keys.map((c) => c[i]), g.counts[i], ...g.accs.map((c) => c[i])]);
    }
    const order = (r: unknown[]) => JSON.stringify(r.slice(1, 1 + keyCount));
    rows.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    out.set(kg, rows);
  }
  return out;
}

/** The keys (as JSON) of a change set's puts and deletes. */
function changedKeys(changes: Section[], keyCount: number): { puts: string[]; deletes: string[] } {
  const puts: string[] = [];
  const deletes: string[] = [];
  for (const [, c] of changes) {
    const { puts: p, deletes: d } = c as GroupChanges;
    if (p !== null) {
      const g = unpackGroups(p, keyCount, 3);
      for (let i = 0; i < g.n; i++) puts.push(JSON.stringify(g.keys.map((k) => k[i])));
    }
    if (d !== null) {
      const keys = d.keys.map((k) => unpackColumn(k, d.n));
      for (let i = 0; i < d.n; i++) deletes.push(JSON.stringify(keys.map((k) => k[i])));
    }
  }
  return { puts: puts.sort(), deletes: deletes.sort() };
}

/**
 * Random valid changelog batches over a small key pool: inserts, updates, single retractions and
 * whole keys retracted to count 0 (some inserted again in the same batch, most coming back later).
 */
function workload(seed: number) {
  const live = new Map<unknown, [number, number | null][]>();
  const pool: unknown[] = [...Array.from({ length: 120 }, (_, i) => i - 20), ...Array.from({ length: 80 }, (_, i) => `s${i}`), 2 ** 40, 2.5];
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) % n;
  const value = () => (rnd(10) === 0 ? null : rnd(100) - 50);
  const retractAll = (rows: unknown[][], k: unknown) => {
    for (const [w, v] of live.get(k) ?? []) rows.push(['-D', k, v, w]);
    live.delete(k);
  };
  const insert = (rows: unknown[][], k: unknown, kind = '+I') => {
    const r: [number, number | null] = [rnd(3), value()];
    rows.push([kind, k, r[1], r[0]]);
    const rs = live.get(k) ?? [];
    rs.push(r);
    live.set(k, rs);
  };
  return (): ChangeBatch => {
    const rows: unknown[][] = [];
    const n = 20 + rnd(40);
    for (let i = 0; i < n; i++) {
      const keys = [...live.keys()];
      const op = rnd(10);
      if (op < 5 || keys.length === 0) insert(rows, pool[rnd(pool.length)]);
      else if (op < 8) {
        const k = keys[rnd(keys.length)];
        const rs = live.get(k)!;
        const [w, v] = rs.splice(rnd(rs.length), 1)[0];
        if (rs.length === 0) live.delete(k);
        rows.push([op === 7 ? '-U' : '-D', k, v, w]);
        if (op === 7) insert(rows, k, '+U');
      } else {
        const k = keys[rnd(keys.length)];
        retractAll(rows, k);
        if (op === 9) insert(rows, k);
      }
    }
    return batch(...rows);
  };
}

describe('KeyedAggregateOperator change sets (incremental checkpoints)', () => {
  for (const groupKeys of [[0], [0, 2]]) {
    it(`a full snapshot plus its change sets in order restore exactly the groups held (group keys ${groupKeys.join(', ')})`, async () => {
      const g = groupKeys.length;
      const h = harness([schema]);
      const op = await opened(countSumMax(groupKeys), h);
      const next = workload(7 + g);
      for (let b = 0; b < 6; b++) op.process(next(), 0);
      const full = stored(op.snapshotKeyGroups());
      const sets: Section[][] = [];
      let sameSet = 0;
      for (let s = 0; s < 3; s++) {
        for (let b = 0; b < 8; b++) op.process(next(), 0);
        const changes = stored(op.snapshotKeyGroupChanges());
        const { puts, deletes } = changedKeys(changes, g);
        expect(deletes.length).toBeGreaterThan(0);
        sameSet += puts.filter((k) => deletes.includes(k)).length;
        sets.push(changes);
      }
      // keys dropped and created again within one change set are there (deletes apply first)
      expect(sameSet).toBeGreaterThan(0);

      const h2 = harness([schema]);
      const r = await opened(countSumMax(groupKeys), h2);
      for (const [kg, data] of full) r.restoreKeyGroup(kg, data);
      for (const changes of sets) for (const [kg, c] of changes) r.applyKeyGroupChanges(kg, c);
      expect(r.groupCount).toBe(op.groupCount);
      expect(groupsByKeyGroup(r.snapshotKeyGroups(), g)).toEqual(groupsByKeyGroup(op.snapshotKeyGroups(), g));

      h.take();
      for (let b = 0; b < 10; b++) {
        const input = next();
        op.process(input, 0);
        r.process(input, 0);
        expect(h2.take()).toEqual(h.take());
      }
      // the restored operator records the same changes (its restored groups are not changes)
      expect(changedKeys(stored(r.snapshotKeyGroupChanges()), g)).toEqual(changedKeys(stored(op.snapshotKeyGroupChanges()), g));
      expect(groupsByKeyGroup(r.snapshotKeyGroups(), g)).toEqual(groupsByKeyGroup(op.snapshotKeyGroups(), g));
    });
  }

  it('leave out key groups without changes; an empty change set is empty', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax([0]), h);
    const kg = (k: string) => keyGroupOf(hashRow([[k]], 0, [0]));
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    op.process(batch(...keys.map((k, i) => ['+I', k, i, 0])), 0);
    expect(stored(op.snapshotKeyGroups()).length).toBe(new Set(keys.map(kg)).size);
    expect(stored(op.snapshotKeyGroupChanges())).toEqual([]);
    op.process(batch(['+I', 'k7', 1, 0], ['-D', 'k9', 9, 0]), 0);
    expect(kg('k7')).not.toBe(kg('k9'));
    const changes = stored(op.snapshotKeyGroupChanges());
    expect(changes.map(([g]) => g)).toEqual([kg('k7'), kg('k9')].sort((a, b) => a - b));
    const byKg = new Map(changes.map(([g, c]) => [g, c as GroupChanges]));
    expect(byKg.get(kg('k7'))!.deletes).toBeNull();
    expect(byKg.get(kg('k7'))!.puts!.n).toBe(1);
    expect(byKg.get(kg('k9'))!.puts).toBeNull();
    expect(byKg.get(kg('k9'))!.deletes!.hashes).toEqual(Uint32Array.from([hashRow([['k9']], 0, [0])]));
    // a batch that leaves a group as it was still changes it (its count and accumulators were written)
    op.process(batch(['+I', 'k7', 5, 0], ['-D', 'k7', 5, 0]), 0);
    expect(changedKeys(stored(op.snapshotKeyGroupChanges()), 1)).toEqual({ puts: ['["k7"]'], deletes: [] });
    expect(stored(op.snapshotKeyGroupChanges())).toEqual([]);
  });

  it('record nothing before the first snapshot, and a full snapshot starts a new change set', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax([0]), h);
    const recorded = () => (op as unknown as { changes: { lists: number[][]; removedCount: number } }).changes;
    for (let i = 0; i < 50; i++) op.process(batch(['+I', i, 1, 0], ['+I', 'gone', 1, 0], ['-D', 'gone', 1, 0]), 0);
    op.process(batch(['+I', 'dropped', 1, 0]), 0);
    op.process(batch(['-D', 'dropped', 1, 0]), 0);
    expect(recorded().lists.flat().length).toBe(0);
    expect(recorded().removedCount).toBe(0);
    stored(op.snapshotKeyGroups());
    op.process(batch(['+I', 3, 2, 0], ['+I', 'new', 1, 0]), 0);
    op.process(batch(['-D', 4, 1, 0]), 0);
    expect(changedKeys(stored(op.snapshotKeyGroupChanges()), 1)).toEqual({ puts: ['"new"', '3'].map((k) => `[${k}]`), deletes: ['[4]'] });
    op.process(batch(['+I', 5, 2, 0]), 0);
    stored(op.snapshotKeyGroups());
    op.process(batch(['+I', 6, 2, 0]), 0);
    expect(changedKeys(stored(op.snapshotKeyGroupChanges()), 1)).toEqual({ puts: ['[6]'], deletes: [] });
  });

  it('before any snapshot, a change set holds every live group as a put', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax([0]), h);
    op.process(batch(['+I', 1, 1, 0], ['+I', 2, 2, 0], ['+I', 3, 3, 0], ['-D', 3, 3, 0]), 0);
    const changes = stored(op.snapshotKeyGroupChanges());
    expect(changedKeys(changes, 1)).toEqual({ puts: ['[1]', '[2]'], deletes: [] });
    const r = await opened(countSumMax([0]), harness([schema]));
    for (const [kg, c] of changes) r.applyKeyGroupChanges(kg, c);
    expect(groupsByKeyGroup(r.snapshotKeyGroups(), 1)).toEqual(groupsByKeyGroup(op.snapshotKeyGroups(), 1));
  });

  it('a global aggregate (no group keys) whose one group goes to count 0 and comes back', async () => {
    const h = harness([schema]);
    const op = await opened(countSumMax([]), h);
    op.process(batch(['+I', 'a', 1, 0], ['+I', 'b', 2, 0]), 0);
    const full = stored(op.snapshotKeyGroups());
    op.process(batch(['-D', 'a', 1, 0], ['-D', 'b', 2, 0]), 0);
    const gone = stored(op.snapshotKeyGroupChanges());
    expect(changedKeys(gone, 0)).toEqual({ puts: [], deletes: ['[]'] });
    op.process(batch(['+I', 'c', 7, 0]), 0);
    const back = stored(op.snapshotKeyGroupChanges());
    expect(changedKeys(back, 0)).toEqual({ puts: ['[]'], deletes: [] });
    const r = await opened(countSumMax([]), harness([schema]));
    for (const [kg, data] of full) r.restoreKeyGroup(kg, data);
    for (const [kg, c] of gone) r.applyKeyGroupChanges(kg, c);
    expect(r.groupCount).toBe(0);
    for (const [kg, c] of back) r.applyKeyGroupChanges(kg, c);
    expect(groupsByKeyGroup(r.snapshotKeyGroups(), 0)).toEqual(groupsByKeyGroup(op.snapshotKeyGroups(), 0));
  });

  it('with the state TTL, an expired group is a delete (cleaned up, or found expired by a row)', async () => {
    const h = harness([schema], { ttlMs: 1000 });
    h.backend.advanceTime(10_000);
    const op = await opened(countSumMax([0]), h);
    op.process(batch(...Array.from({ length: 400 }, (_, i) => ['+I', `k${i}`, i, 0])), 0);
    const full = stored(op.snapshotKeyGroups());
    // cleanup examines 256 slots per advance: k0 .. k255 are dropped, k256 .. k399 are expired but still held
    h.backend.advanceTime(11_000);
    expect(op.groupCount).toBe(144);
    // rows find k398 and k399 expired: a retraction drops k399, an insert starts k398 afresh; k0 comes back
    op.process(batch(['-D', 'k399', 399, 0], ['+I', 'k398', 5, 0], ['+I', 'k0', 1, 0]), 0);
    expect(h.take().slice(-2)).toEqual(['+I[k398, 1, 5, 5]', '+I[k0, 1, 1, 1]']);
    const changes = stored(op.snapshotKeyGroupChanges());
    const keys = Array.from({ length: 256 }, (_, i) => `["k${i}"]`);
    expect(changedKeys(changes, 1)).toEqual({ puts: ['["k0"]', '["k398"]'], deletes: [...keys, '["k399"]'].sort() });

    const r = await opened(countSumMax([0]), harness([schema], { ttlMs: 1000 }));
    for (const [kg, data] of full) r.restoreKeyGroup(kg, data);
    for (const [kg, c] of changes) r.applyKeyGroupChanges(kg, c);
    expect(r.groupCount).toBe(op.groupCount);
    expect(groupsByKeyGroup(r.snapshotKeyGroups(), 1)).toEqual(groupsByKeyGroup(op.snapshotKeyGroups(), 1));
  });
});
