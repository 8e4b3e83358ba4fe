import { describe, expect, it } from 'vitest';
import { type, type Schema } from '../../src/model/types.js';
import { hashValue, subtaskOfHash } from '../../src/model/partition.js';
import { type RankConfig, RankOperator } from '../../src/runtime/operators/rank.js';
import type { PackedEntries, Section } from '../../src/state/heap-sections.js';
import { deserializeState, serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

const S: Schema = {
  fields: [
    { name: 'p', type: type('INT') },
    { name: 'v', type: type('INT') },
  ],
};

function config(limit: number, outputRank: boolean, insertOnlyInput: boolean): RankConfig {
  return { partitionKeys: [0], orderKeys: [{ index: 1, descending: true }], limit, outputRank, insertOnlyInput };
}

async function rank(limit: number, outputRank: boolean, insertOnlyInput: boolean, opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([S], opts);
  const op = await opened(new RankOperator(config(limit, outputRank, insertOnlyInput)), h);
  return { h, op };
}

/** The rows (`['+I', p, v]`) the hash exchange routes to `subtask`. */
function routed(rows: unknown[][], subtask: number, parallelism: number): unknown[][] {
  return rows.filter((r) => subtaskOfHash(hashValue(r[1]), parallelism) === subtask);
}

/** Output rows by partition, in order (the order across partitions differs with parallelism). */
function byPartition(out: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of out) {
    const p = /\[(\d+),/.exec(r)![1]!;
    m.set(p, [...(m.get(p) ?? []), r]);
  }
  return new Map([...m].sort((a, b) => Number(a[0]) - Number(b[0])));
}

describe('rank operator (Top-N)', () => {
  it('top 2 with row numbers over an updating input: positions update, retractions bring rows back', async () => {
    const { h, op } = await rank(2, true, false);
    op.process(batch(['+I', 1, 5], ['+I', 1, 7], ['+I', 2, 1]));
    expect(h.take()).toEqual(['+I[1, 7, 1]', '+I[1, 5, 2]', '+I[2, 1, 1]']);
    op.process(batch(['+I', 1, 6]));
    expect(h.take()).toEqual(['-U[1, 5, 2]', '+U[1, 6, 2]']);
    op.process(batch(['+I', 1, 9]));
    expect(h.take()).toEqual(['-U[1, 7, 1]', '+U[1, 9, 1]', '-U[1, 6, 2]', '+U[1, 7, 2]']);
    op.process(batch(['-D', 1, 9], ['-D', 2, 1]));
    expect(h.take()).toEqual(['-U[1, 9, 1]', '+U[1, 7, 1]', '-U[1, 7, 2]', '+U[1, 6, 2]', '-D[2, 1, 1]']);
    expect(op.partitionCount).toBe(1);
  });

  it('without row numbers only rows entering and leaving the top N are emitted; ties order by content', async () => {
    const { h, op } = await rank(2, false, true);
    op.process(batch(['+I', 1, 5], ['+I', 1, 7]));
    expect(h.take()).toEqual(['+I[1, 7, 1]', '+I[1, 5, 2]']);
    op.process(batch(['+I', 1, 6]));
    expect(h.take()).toEqual(['-D[1, 5, 2]', '+I[1, 6, 2]']);
    op.process(batch(['+I', 1, 3], ['+I', 1, 1]));
    expect(h.take()).toEqual([]);
  });

  it('deduplication keeping the last row (limit 1, ORDER BY time DESC) restores from a snapshot', async () => {
    const { h, op } = await rank(1, false, true);
    op.process(batch(['+I', 1, 100], ['+I', 1, 50]));
    expect(h.take()).toEqual(['+I[1, 100, 1]']);
    const snap = await h.snapshot(op);
    expect(snap.state).toBeUndefined();
    const r = await rank(1, false, true, { restored: [snap] });
    expect(r.op.partitionCount).toBe(1);
    r.op.process(batch(['+I', 1, 120], ['+I', 1, 110]));
    expect(r.h.take()).toEqual(['-D[1, 100, 1]', '+I[1, 120, 1]']);
  });

  it('snapshots hold partitions as plain columns (deduplication: one tuple column) and restore them with their counts', async () => {
    const { h, op } = await rank(1, false, true);
    op.process(batch(['+I', 1, 100], ['+I', 2, 50], ['+I', 3, 7]));
    h.take();
    const snap = await h.snapshot(op);
    const sections = snap.keyed.map((k) => deserializeState<Section>(k.bytes));
    const values = sections.flatMap(([, entries]) => entries.map((e) => (e as [string, PackedEntries])[1].v.t));
    expect(values.length).toBeGreaterThan(0);
    expect(new Set(values)).toEqual(new Set(['tuple']));
    // Top 3 over an updating input: a row held twice (count 2) keeps its count through a restore.
    const a = await rank(3, true, false);
    const twin = await rank(3, true, false);
    const rows = batch(['+I', 1, 5], ['+I', 1, 5], ['+I', 1, 9], ['+I', 1, 2]);
    a.op.process(rows);
    twin.op.process(rows);
    const restored = await rank(3, true, false, { restored: [await a.h.snapshot(a.op)] });
    const next = batch(['-D', 1, 5], ['-D', 1, 9], ['+I', 1, 4]);
    restored.op.process(next);
    twin.h.take();
    twin.op.process(next);
    expect(restored.h.take()).toEqual(twin.h.take());
  });

  it('rescales: snapshots of 2 subtasks restored into 3 hold every partition once and continue exactly', async () => {
    const first: unknown[][] = [];
    for (let p = 0; p < 40; p++) for (let i = 0; i < 4; i++) first.push(['+I', p, (p * 7 + i * 3) % 11]);
    // Changes made in place after the first batch must reach the snapshot too.
    const second = Array.from({ length: 40 }, (_, p) => ['-D', p, (p * 7) % 11]);
    const third: unknown[][] = [];
    for (let p = 0; p < 40; p++) third.push(['-D', p, (p * 7 + 3) % 11], ...(p % 2 === 0 ? [['+I', p, 20 + p]] : []));
    const reference = await rank(2, true, false);
    for (const b of [first, second]) reference.op.process(batch(...b));
    reference.h.take();
    reference.op.process(batch(...third));
    const expected = byPartition(reference.h.take());

    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await rank(2, true, false, { subtaskIndex: subtask, parallelism: 2 });
      for (const b of [first, second]) op.process(batch(...routed(b, subtask, 2)));
      old.push(await h.snapshot(op));
    }
    const out: string[] = [];
    let held = 0;
    for (let subtask = 0; subtask < 3; subtask++) {
      const { h, op } = await rank(2, true, false, { subtaskIndex: subtask, parallelism: 3, restored: old });
      expect(op.partitionCount).toBe(new Set(routed(first, subtask, 3).map((r) => r[1])).size);
      held += op.partitionCount;
      op.process(batch(...routed(third, subtask, 3)));
      out.push(...h.take());
    }
    expect(held).toBe(40);
    expect(byPartition(out)).toEqual(expected);
  });

  it("with the state TTL a partition expires when it was last changed longer ago; rows that change nothing don't keep it", async () => {
    // Deduplication keeping the first row (ORDER BY v ASC over an insert-only input).
    const h = harness([S], { ttlMs: 1000 });
    const op = await opened(new RankOperator({ ...config(1, false, true), orderKeys: [{ index: 1, descending: false }] }), h);
    h.backend.advanceTime(10_000);
    op.process(batch(['+I', 1, 50], ['+I', 2, 50]));
    expect(h.take()).toEqual(['+I[1, 50, 1]', '+I[2, 50, 1]']);
    h.backend.advanceTime(10_600);
    op.process(batch(['+I', 1, 60], ['+I', 2, 40]));
    expect(h.take()).toEqual(['-D[2, 50, 1]', '+I[2, 40, 1]']);
    h.backend.advanceTime(11_100);
    op.process(batch(['+I', 1, 70], ['+I', 2, 45]));
    // Partition 1 was written at 10 000 only: expired, so 70 is its first row again. Partition 2 was written at 10 600.
    expect(h.take()).toEqual(['+I[1, 70, 1]']);
    expect(h.counters.get('state-keys-expired')).toBe(1);
  });

  it('restores a snapshot that keyed "no partition keys" 0: its rows and new rows share one partition', async () => {
    const old = serializeState({ v: 1, partitions: [[0, 0, [[[1, 5], 1]]]] });
    const h = harness([S], { restoredState: [old] });
    const op = await opened(
      new RankOperator({ partitionKeys: [], orderKeys: [{ index: 1, descending: true }], limit: 1, outputRank: true, insertOnlyInput: true }),
      h,
    );
    expect(op.partitionCount).toBe(1);
    op.process(batch(['+I', 2, 7]));
    expect(h.take()).toEqual(['-U[1, 5, 1]', '+U[2, 7, 1]']);
    expect(op.partitionCount).toBe(1);
    // From now on the partition is in the state layer's snapshot, not in the operator's.
    const snap = await h.snapshot(op);
    expect(snap.state).toBeUndefined();
    const r = harness([S], { restored: [snap] });
    const again = await opened(
      new RankOperator({ partitionKeys: [], orderKeys: [{ index: 1, descending: true }], limit: 1, outputRank: true, insertOnlyInput: true }),
      r,
    );
    again.process(batch(['+I', 3, 9]));
    expect(r.take()).toEqual(['-U[2, 7, 1]', '+U[3, 9, 1]']);
  });

  it('restores a snapshot of an earlier version at another parallelism: each subtask keeps the partitions routed to it', async () => {
    // StateV1: [key, hash of the key, [[row, count]]] per partition, every partition in one blob.
    const partitions = Array.from({ length: 20 }, (_, p) => [p, hashValue(p), [[[p, 5], 1]]]);
    const old = serializeState({ v: 1, partitions });
    let held = 0;
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await rank(1, true, false, { subtaskIndex: subtask, parallelism: 2, restoredState: [old] });
      const mine = routed(
        partitions.map(([p]) => ['+I', p, 9]),
        subtask,
        2,
      );
      expect(op.partitionCount).toBe(mine.length);
      held += op.partitionCount;
      op.process(batch(...mine));
      expect(h.take()).toEqual(mine.flatMap(([, p]) => [`-U[${p}, 5, 1]`, `+U[${p}, 9, 1]`]));
    }
    expect(held).toBe(20);
  });
});
