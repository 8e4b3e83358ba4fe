import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { isWeirError } from '../../src/errors.js';
import { ROW_KIND_SHORT, rowAt, type ChangeBatch } from '../../src/model/changelog.js';
import { hashRow, keyGroupOf, keyGroupRange } from '../../src/model/partition.js';
import { type, type Schema } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';
import type { OperatorContext } from '../../src/runtime/operator.js';
import type { AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { KeyedAggregate } from '../../src/runtime/operators/keyed-aggregate-select.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { RocksKeyedStateBackend } from '../../src/state/rocks-backend.js';
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { chained } from '../support/keyed-sections.js';
import { seededRandom, tempDir } from '../support/weir-process.js';
import { batch } from './harness.js';

/**
 * Keyed aggregation on the rocksdb backend (groups in a value state on disk, behind a cache far
 * smaller than the number of groups) against the slot table of the hashmap backend: the same
 * output row for row, and checkpoints (whole and incremental) of either one restore into the other
 * with any parallelism.
 */
const INT = type('INT');
const STR = type('STRING');
const col = (index: number): BoundExpr => ({ kind: 'input', index, type: INT });
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
  ],
};

function agg(name: string, arg: BoundExpr | undefined, retractable: boolean): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable });
  return { fn, args: arg ? [arg] : [] };
}

/** COUNT(*), SUM(v), MAX(v) GROUP BY k: MAX's retractable accumulator is a multiset (an object on disk). */
const config = (retractable = true) => ({
  groupKeys: [0],
  aggs: [agg('COUNT', undefined, retractable), agg('SUM', col(1), retractable), agg('MAX', col(1), retractable)],
});

let dirs = 0;
interface Run {
  readonly op: KeyedAggregate;
  readonly backend: KeyedStateBackend;
  readonly out: string[];
  feed(b: ChangeBatch): Promise<void>;
  snapshot(incremental?: boolean): Promise<KeyedStateSnapshot>;
}

/** The operator on a backend, fed as the task feeds it (prefetch, load, process, write back). */
async function run(
  kind: 'hashmap' | 'rocksdb',
  opts: { restored?: readonly KeyedStateSnapshot[]; subtask?: number; parallelism?: number; incremental?: boolean; ttlMs?: number; retractable?: boolean } = {},
): Promise<Run> {
  const keyGroups = keyGroupRange(opts.subtask ?? 0, opts.parallelism ?? 1);
  const restored = chained(opts.restored ?? [], (kg) => kg >= keyGroups.start && kg <= keyGroups.end);
  const common = { keyGroups, ttlMs: opts.ttlMs ?? 0, restored, label: 'test', incremental: opts.incremental ?? false };
  const backend =
    kind === 'hashmap'
      ? new HeapKeyedStateBackend(common)
      : new RocksKeyedStateBackend({ ...common, localDir: join(tempDir('agg-disk-'), `d${dirs++}`), cacheEntries: 8 });
  await backend.open();
  const out: string[] = [];
  const ctx: OperatorContext = {
    jobName: 'test',
    operatorUid: 'agg',
    subtaskIndex: opts.subtask ?? 0,
    parallelism: opts.parallelism ?? 1,
    restoredState: [],
    restoredCommittables: [],
    restoredCheckpointId: 0,
    state: backend,
    inputSchemas: [schema],
    log: silentLogger,
    metrics: { inc: () => {} },
    output: {
      emit: (b) => {
        for (let i = 0; i < b.size; i++) out.push(`${ROW_KIND_SHORT[b.kinds[i]]}[${rowAt(b, i).join(', ')}]`);
      },
      emitWatermark: () => {},
    },
  };
  const op = new KeyedAggregate(config(opts.retractable));
  await op.open(ctx);
  return {
    op,
    backend,
    out,
    async feed(b) {
      if (backend.prefetches) {
        op.prefetch(b);
        await backend.load();
      }
      op.process(b, 0);
      if (backend.prefetches) await backend.afterBatch();
    },
    async snapshot(incremental = false) {
      op.snapshotState(1);
      return backend.snapshot({ incremental });
    },
  };
}

/**
 * Random changelog batches over `keys` keys: inserts, and retractions of rows inserted before
 * (so every group's count goes up and down, and some drop to zero and come back).
 */
function changelog(seed: number, batches: number, keys: number): ChangeBatch[] {
  const random = seededRandom(seed);
  const live: [string, number][] = [];
  return Array.from({ length: batches }, () => {
    const rows: unknown[][] = [];
    for (let i = 0; i < 40; i++) {
      if (live.length > 0 && random() < 0.35) {
        const [k, v] = live.splice(Math.floor(random() * live.length), 1)[0]!;
        rows.push([random() < 0.5 ? '-D' : '-U', k, v]);
      } else {
        const row: [string, number] = [`k${Math.floor(random() * keys)}`, Math.floor(random() * 100)];
        live.push(row);
        rows.push(['+I', ...row]);
      }
    }
    return batch(...rows);
  });
}

describe('keyed aggregate on the rocksdb backend', () => {
  it('emits what the slot table emits, row for row, with far more groups than its cache holds', async () => {
    const input = changelog(7, 60, 300);
    const heap = await run('hashmap');
    const disk = await run('rocksdb');
    for (const b of input) {
      await heap.feed(b);
      await disk.feed(b);
    }
    expect(heap.out.length).toBeGreaterThan(2000);
    expect(disk.out).toEqual(heap.out);
    expect(disk.op.groupCount).toBe(heap.op.groupCount);
    expect(disk.op.groupCount).toBeGreaterThan(100);
    await disk.backend.dispose();
  });

  it('checkpoints restore across backends and parallelism, whole and incremental, and go on as an uninterrupted run', async () => {
    const input = changelog(11, 120, 3000);
    const reference = await run('hashmap');
    for (const b of input) await reference.feed(b);

    for (const [first, second] of [
      ['hashmap', 'rocksdb'],
      ['rocksdb', 'hashmap'],
      ['rocksdb', 'rocksdb'],
    ] as const) {
      // First run: three checkpoints (whole, then changes) after 50, 55 and 60 batches.
      const a = await run(first, { incremental: true });
      const snaps: KeyedStateSnapshot[] = [];
      for (let i = 0; i < 60; i++) {
        await a.feed(input[i]!);
        if (i === 49 || i === 54 || i === 59) snaps.push(await a.snapshot(snaps.length > 0));
      }
      expect(snaps.map((s) => s.incremental)).toEqual([false, true, true]);
      await a.backend.dispose();
      const out: string[] = [...a.out];
      // Second run at parallelism 2 on the other backend: each subtask gets the rows of its key groups.
      const subtasks = await Promise.all([0, 1].map((subtask) => run(second, { restored: snaps, subtask, parallelism: 2 })));
      expect(subtasks[0]!.op.groupCount + subtasks[1]!.op.groupCount).toBe(liveKeys(a.out));
      for (let i = 60; i < 90; i++) {
        for (const [subtask, s] of subtasks.entries()) await s.feed(rowsOf(input[i]!, subtask));
      }
      const again: KeyedStateSnapshot[] = [];
      for (const s of subtasks) {
        again.push(await s.snapshot());
        out.push(...s.out);
        await s.backend.dispose();
      }
      // Third run at parallelism 1 on the first backend, from both subtasks' snapshots.
      const c = await run(first, { restored: [{ incremental: false, sections: again.flatMap((s) => s.sections) }] });
      expect(c.op.groupCount).toBe(liveKeys(out));
      for (let i = 90; i < input.length; i++) await c.feed(input[i]!);
      out.push(...c.out);
      await c.backend.dispose();
      // Rows of different subtasks interleave differently; per key the sequence is the reference's.
      expect(byKey(out)).toEqual(byKey(reference.out));
    }
  });

  it('converts restored retractable accumulators for insert-only aggregates, and refuses the other way', async () => {
    const a = await run('rocksdb');
    await a.feed(batch(['+I', 'x', 4], ['+I', 'x', 8], ...Array.from({ length: 20 }, (_, i) => ['+I', `f${i}`, i])));
    const retracting = await a.snapshot();
    await a.backend.dispose();
    const b = await run('rocksdb', { restored: [retracting], retractable: false });
    await b.feed(batch(['+I', 'x', 1]));
    expect(b.out).toEqual(['-U[x, 2, 12, 8]', '+U[x, 3, 13, 8]']);
    const insertOnly = await b.snapshot();
    await b.backend.dispose();
    const c = await run('rocksdb', { restored: [insertOnly] });
    try {
      await c.feed(batch(['+I', 'x', 1]));
      expect.unreachable();
    } catch (e) {
      expect(isWeirError(e) && e.code).toBe('STATE_INCOMPATIBLE');
    }
    await c.backend.dispose();
  });

  it('with table.exec.state.ttl drops groups not written for that long: a key that comes back starts a new group', async () => {
    const r = await run('rocksdb', { ttlMs: 1000 });
    r.backend.advanceTime(10_000);
    await r.feed(batch(['+I', 'a', 1], ['+I', 'b', 2]));
    r.backend.advanceTime(10_900);
    await r.feed(batch(['+I', 'b', 10]));
    r.backend.advanceTime(11_500);
    await r.feed(batch(['+I', 'a', 5], ['+I', 'b', 1]));
    expect(r.out).toEqual(['+I[a, 1, 1, 1]', '+I[b, 1, 2, 2]', '-U[b, 1, 2, 2]', '+U[b, 2, 12, 10]', '+I[a, 1, 5, 5]', '-U[b, 2, 12, 10]', '+U[b, 3, 13, 10]']);
    await r.backend.dispose();
  });
});

/** The rows of `b` whose key the subtask of 2 owns. */
function rowsOf(b: ChangeBatch, subtask: number): ChangeBatch {
  const range = keyGroupRange(subtask, 2);
  const keep: number[] = [];
  for (let i = 0; i < b.size; i++) {
    const kg = keyGroupOfKey(b.columns[0]![i] as string);
    if (kg >= range.start && kg <= range.end) keep.push(i);
  }
  return { size: keep.length, kinds: Uint8Array.from(keep.map((i) => b.kinds[i]!)), columns: b.columns.map((c) => keep.map((i) => c[i])) };
}

function keyGroupOfKey(k: string): number {
  return keyGroupOf(hashRow([[k]], 0, [0]));
}

/** Output rows grouped by key, each key's rows in order. */
function byKey(rows: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[r.slice(r.indexOf('[') + 1).split(',')[0]!] ??= []).push(r);
  return out;
}

/** Keys whose last output row is not a -D (their group is live). */
function liveKeys(rows: readonly string[]): number {
  const last = new Map<string, string>();
  for (const r of rows) last.set(r.slice(r.indexOf('[') + 1).split(',')[0]!, r);
  return [...last.values()].filter((r) => !r.startsWith('-D')).length;
}
