import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashValue, keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { RocksKeyedStateBackend } from '../../src/state/rocks-backend.js';
import { ChangeSet, DELETED, READ_BACK } from '../../src/state/rocks-changes.js';
import { RocksStore, type StoreView } from '../../src/state/rocks-store.js';
import { MAX_CHANGE_SNAPSHOTS, SnapshotPolicy } from '../../src/state/snapshot-policy.js';
import type { KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { chained } from '../support/keyed-sections.js';
import { batch, contents } from '../support/value-state-batches.js';
import { seededRandom, tempDir } from '../support/weir-process.js';

/**
 * Incremental snapshots of the rocksdb backend from the values recorded with each change (no
 * read-back from the store), the bound on what those records hold, and the snapshot policy.
 */
let dirs = 0;
async function rocks(restored: readonly Uint8Array[] = [], opts: { incremental?: boolean; changeBytes?: number; changeKeys?: number } = {}) {
  const b = new RocksKeyedStateBackend({
    keyGroups: keyGroupRange(0, 1),
    ttlMs: 0,
    restored,
    label: 'test',
    incremental: opts.incremental ?? false,
    localDir: join(tempDir('rocks-incremental-'), `d${dirs++}`),
    cacheEntries: 1000,
    ...(opts.changeBytes !== undefined ? { changeBytes: opts.changeBytes } : {}),
    ...(opts.changeKeys !== undefined ? { changeKeys: opts.changeKeys } : {}),
  });
  await b.open();
  return b;
}

/** Counts the keys snapshots read back through their store views. */
function countReadBack(): { keys: number } {
  const counter = { keys: 0 };
  const view = RocksStore.prototype.view;
  vi.spyOn(RocksStore.prototype, 'view').mockImplementation(function (this: RocksStore): StoreView {
    const v = view.call(this);
    return {
      ...v,
      getMany: (keys) => {
        counter.keys += keys.length;
        return v.getMany(keys);
      },
    };
  });
  return counter;
}

type Row = { n: number; tag: string };

/**
 * Loads 300 keys, takes a whole snapshot, then changes values in place (get, change, put, as the
 * group aggregate does), some written to the store before the barrier and changed again, deletes
 * some; takes an incremental snapshot and, before it resolves, changes the same objects again,
 * deletes and re-adds keys. Returns the snapshots and the state as of each barrier.
 */
async function overwriteWhileSnapshotting(b: RocksKeyedStateBackend): Promise<{ snaps: KeyedStateSnapshot[]; truths: Map<string, Row>[] }> {
  const s = b.valueState<string, unknown>('rows');
  const random = seededRandom(3);
  const truth = new Map<string, Row>();
  const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
  const change = (k: string, tag: string): void => {
    const v = s.get(k, hashValue(k)) as Row | undefined;
    const next = v ?? { n: 0, tag };
    next.n++;
    next.tag = tag;
    s.put(k, hashValue(k), next);
    truth.set(k, { ...next });
  };
  const remove = (k: string): void => {
    s.delete(k, hashValue(k));
    truth.delete(k);
  };
  await batch(b, s, keys, () => keys.forEach((k) => change(k, 'load')));
  const snaps = [await b.snapshot({ incremental: true })];
  const truths = [new Map(truth)];
  for (let round = 1; round <= 3; round++) {
    const some = keys.filter(() => random() < 0.3);
    await batch(b, s, some, () => some.forEach((k) => change(k, `r${round}a`)));
    await b.writeBack(); // these bytes reach the store (and the change set) before the barrier
    const again = some.filter(() => random() < 0.5);
    const gone = keys.filter(() => random() < 0.05);
    await batch(b, s, [...again, ...gone], () => {
      again.forEach((k) => change(k, `r${round}b`));
      gone.forEach((k) => s.get(k, hashValue(k)) !== undefined && remove(k));
    });
    const pending = b.snapshot({ incremental: true });
    truths.push(new Map(truth));
    // After the barrier: the same objects changed in place, deleted keys back, others deleted.
    await batch(b, s, [...some, ...gone], () => {
      some.forEach((k) => change(k, 'after'));
      gone.forEach((k) => change(k, 'after'));
      some.slice(0, 5).forEach((k) => remove(k));
    });
    await b.writeBack();
    snaps.push(await pending);
  }
  return { snaps, truths };
}

async function expectRestores(snaps: readonly KeyedStateSnapshot[], truths: readonly Map<string, Row>[]): Promise<void> {
  for (let upTo = 1; upTo <= snaps.length; upTo++) {
    const sections = chained(snaps.slice(0, upTo));
    const r = await rocks(sections);
    expect(await contents(r, 'rows')).toEqual(truths[upTo - 1]);
    await r.dispose();
    const h = new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: sections, label: 'heap' });
    expect(await contents(h, 'rows')).toEqual(truths[upTo - 1]);
  }
}

describe('rocksdb incremental snapshots', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hold the barrier values from the bytes recorded with each change, without reading the store back', async () => {
    const read = countReadBack();
    const b = await rocks([], { incremental: true });
    const { snaps, truths } = await overwriteWhileSnapshotting(b);
    await b.dispose();
    expect(snaps.map((x) => x.incremental)).toEqual([false, true, true, true]);
    expect(read.keys).toBe(0);
    await expectRestores(snaps, truths);
  });

  it('read the values of changes past the change budget back through the view pinned at the barrier, and still restore exactly', async () => {
    const read = countReadBack();
    // Room for a few values only: most changes keep just their key.
    const b = await rocks([], { incremental: true, changeBytes: 200 });
    const { snaps, truths } = await overwriteWhileSnapshotting(b);
    await b.dispose();
    expect(snaps.map((x) => x.incremental)).toEqual([false, true, true, true]);
    expect(read.keys).toBeGreaterThan(0);
    await expectRestores(snaps, truths);
  });

  it('take a whole snapshot instead once more keys changed than the key budget allows, and still restore exactly', async () => {
    // 300 keys load and ~90 change per round: a budget of 60 keys overflows in every round.
    const b = await rocks([], { incremental: true, changeKeys: 60 });
    const { snaps, truths } = await overwriteWhileSnapshotting(b);
    await b.dispose();
    expect(snaps.map((x) => x.incremental)).toEqual([false, false, false, false]);
    await expectRestores(snaps, truths);
    // With room for them the same rounds are incremental.
    const c = await rocks([], { incremental: true, changeKeys: 1000 });
    const roomy = await overwriteWhileSnapshotting(c);
    await c.dispose();
    expect(roomy.snaps.map((x) => x.incremental)).toEqual([false, true, true, true]);
  });
});

describe('change set', () => {
  it('past its key budget forgets every key and gives back its bytes', () => {
    const budget = { used: 0, limit: 1024 * 1024, keys: 0, keyLimit: 10 };
    const other = new ChangeSet<string>(1, budget);
    other.record(0, 'x', Buffer.alloc(10));
    const c = new ChangeSet<string>(2, budget);
    for (let i = 0; i < 9; i++) c.record(i % 2, `k${i}`, Buffer.alloc(100));
    c.record(0, 'k0', Buffer.alloc(100)); // the same key again: no new key
    expect(c.overflowed).toBe(false);
    expect(budget.keys).toBe(10);
    c.record(1, 'k9', Buffer.alloc(100));
    expect(c.overflowed).toBe(true);
    expect(c.size).toBe(0);
    expect(budget).toEqual({ used: 14, limit: 1024 * 1024, keys: 1, keyLimit: 10 });
    c.record(0, 'later', Buffer.alloc(100));
    expect(c.size).toBe(0);
  });

  it('keeps each value once per key, across chunks and in a chunk of its own when large, within its budget', () => {
    const budget = { used: 0, limit: 4 * 1024 * 1024, keys: 0, keyLimit: 1_000_000 };
    const c = new ChangeSet<string>(2, budget);
    const value = (i: number, size: number): Buffer => Buffer.alloc(size, i % 251);
    // ~1.5 MiB of small values: two chunks.
    for (let i = 0; i < 3000; i++) c.record(i % 2, `k${i}`, value(i, 500));
    c.record(0, 'big', value(7, 1_500_000));
    c.record(1, 'after-big', value(9, 100));
    c.record(0, 'k0', value(42, 10)); // a later write replaces the key's bytes
    c.record(1, 'k1', null);
    expect(c.size).toBe(3002);
    for (let i = 2; i < 3000; i++) expect(c.valueAt(c.groups[i % 2]!.get(`k${i}`)!).equals(value(i, 500))).toBe(true);
    expect(c.valueAt(c.groups[0]!.get('big')!).equals(value(7, 1_500_000))).toBe(true);
    expect(c.valueAt(c.groups[1]!.get('after-big')!).equals(value(9, 100))).toBe(true);
    expect(c.valueAt(c.groups[0]!.get('k0')!).equals(value(42, 10))).toBe(true);
    expect(c.groups[1]!.get('k1')).toBe(DELETED);
    const used = budget.used;
    expect(used).toBe(3000 * 504 + 1_500_004 + 104 + 14);
    // Past the budget only keys are kept; deletions cost nothing.
    c.record(0, 'over', value(1, budget.limit));
    c.record(1, 'gone', null);
    expect(c.groups[0]!.get('over')).toBe(READ_BACK);
    expect(c.groups[1]!.get('gone')).toBe(DELETED);
    expect(budget.used).toBe(used);
  });
});

describe('snapshot policy', () => {
  // As a backend asks: changes are tracked from its first snapshot on.
  const run = (policy: SnapshotPolicy, steps: readonly { bytes: number; keys: number }[], tracking = false): boolean[] =>
    steps.map(({ bytes, keys }, i) => {
      const incremental = policy.incremental(true, tracking || i > 0, keys);
      policy.record(incremental, incremental ? bytes : keys * 10, keys);
      return incremental;
    });

  it('by default takes a whole snapshot after MAX_CHANGE_SNAPSHOTS or once the changes reach the last whole one', () => {
    const p = new SnapshotPolicy();
    const kinds = run(
      p,
      Array.from({ length: 2 * MAX_CHANGE_SNAPSHOTS + 2 }, () => ({ bytes: 1, keys: 100 })),
    );
    expect(kinds.indexOf(false, 1)).toBe(MAX_CHANGE_SNAPSHOTS + 1);
    // Changes of a growing state: whole once they add up to the last whole snapshot (1,000 bytes).
    const q = new SnapshotPolicy();
    expect(
      run(
        q,
        [0, 1, 2, 3, 4].map((i) => ({ bytes: 400, keys: 100 * (i + 1) })),
      ),
    ).toEqual([false, true, true, true, false]);
  });

  it('with a chain factor, keys only added never force a whole snapshot; changes that outgrow the state do', () => {
    const p = new SnapshotPolicy({ maxChangeSnapshots: 100, chainFactor: 3 });
    // A loading state: each snapshot adds 1,000 keys (10 bytes a key), the chain is the state.
    const load = run(
      p,
      Array.from({ length: 50 }, (_, i) => ({ bytes: 10_000, keys: 1000 * (i + 1) })),
    );
    expect(load.slice(1).every((x) => x)).toBe(true);
    // Then updates of 100 KB per snapshot to a state of 500 KB: the chain (500 KB, then 100 KB
    // more a step) may reach 3 x 500 KB, not more.
    const updates = run(
      p,
      Array.from({ length: 13 }, () => ({ bytes: 100_000, keys: 50_000 })),
      true,
    );
    expect(updates).toEqual([...Array(11).fill(true), false, true]);
    // At most maxChangeSnapshots in a row.
    const r = new SnapshotPolicy({ maxChangeSnapshots: 5, chainFactor: 3 });
    expect(
      run(
        r,
        Array.from({ length: 8 }, () => ({ bytes: 1, keys: 1000 })),
      ),
    ).toEqual([false, true, true, true, true, true, false, true]);
  });
});
