import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { hashValue, keyGroupOf, keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { RocksKeyedStateBackend } from '../../src/state/rocks-backend.js';
import { snapshotLimits } from '../../src/state/rocks-snapshot.js';
import { SectionSpool, spoolDir } from '../../src/state/section-spool.js';
import type { KeyGroupedStructure, KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { chained } from '../support/keyed-sections.js';
import { batch, contents } from '../support/value-state-batches.js';
import { seededRandom, tempDir } from '../support/weir-process.js';

/**
 * The rocksdb backend against a real RocksDB store: values go through the cache and the store,
 * snapshots (whole and incremental, taken while writes go on) restore into either backend with
 * any parallelism, and the working folder is removed when the subtask ends.
 */
let dirs = 0;
async function rocks(
  restored: readonly Uint8Array[] = [],
  opts: { incremental?: boolean; subtask?: number; parallelism?: number; ttlMs?: number; cacheEntries?: number; localDir?: string } = {},
) {
  const localDir = opts.localDir ?? join(tempDir('rocks-backend-'), `d${dirs++}`);
  const b = new RocksKeyedStateBackend({
    keyGroups: keyGroupRange(opts.subtask ?? 0, opts.parallelism ?? 1),
    ttlMs: opts.ttlMs ?? 0,
    restored,
    label: 'test',
    incremental: opts.incremental ?? false,
    localDir,
    cacheEntries: opts.cacheEntries ?? 16,
  });
  await b.open();
  return b;
}

describe('rocksdb backend', () => {
  it('keeps values past its cache, and a whole snapshot restores into rocksdb and hashmap backends', async () => {
    const b = await rocks();
    const s = b.valueState<string, unknown>('rows');
    const expected = new Map<string, unknown>();
    for (let round = 0; round < 5; round++) {
      const keys = Array.from({ length: 50 }, (_, i) => `k${round * 37 + i}`);
      await batch(b, s, keys, () => {
        for (const k of keys) {
          const v = { n: (s.get(k, hashValue(k)) as { n: number } | undefined)?.n ?? 0 };
          v.n++;
          s.put(k, hashValue(k), v);
          expected.set(k, { ...v });
        }
      });
    }
    expect(s.size).toBe(expected.size);
    const snap = await b.snapshot();
    expect(snap.incremental).toBe(false);
    await b.dispose();
    const again = await rocks(chained([snap]));
    expect(await contents(again, 'rows')).toEqual(expected);
    expect(again.valueState('rows').size).toBe(expected.size);
    await again.dispose();
    const heap = new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: chained([snap]), label: 'heap' });
    expect(await contents(heap, 'rows')).toEqual(expected);
  });

  it('takes incremental snapshots asynchronously: later writes do not change a snapshot in flight, and chains restore at another parallelism', async () => {
    const b = await rocks([], { incremental: true });
    const s = b.valueState<string, unknown>('rows');
    const random = seededRandom(7);
    const truth = new Map<string, number>();
    const snaps: KeyedStateSnapshot[] = [];
    const truths: Map<string, number>[] = [];
    for (let round = 0; round < 6; round++) {
      const keys =
        round === 0 ? Array.from({ length: 500 }, (_, i) => `k${i}`) : [...new Set(Array.from({ length: 40 }, () => `k${Math.floor(random() * 600)}`))];
      await batch(b, s, keys, () => {
        for (const k of keys) {
          if (round > 0 && random() < 0.2 && s.get(k, hashValue(k)) !== undefined) {
            s.delete(k, hashValue(k));
            truth.delete(k);
          } else {
            s.put(k, hashValue(k), round);
            truth.set(k, round);
          }
        }
      });
      const pending = b.snapshot({ incremental: round > 0 });
      truths.push(new Map(truth));
      // Writes while the snapshot is being read.
      const more = [`k${round}`, 'k-extra'];
      await batch(b, s, more, () => {
        for (const k of more) s.put(k, hashValue(k), -1);
        for (const k of more) truth.set(k, -1);
      });
      snaps.push(await pending);
    }
    expect(snaps.map((x) => x.incremental)).toEqual([false, true, true, true, true, true]);
    const wholeBytes = snaps[0]!.sections.reduce((n, x) => n + x.bytes.length, 0);
    expect(snaps[1]!.sections.reduce((n, x) => n + x.bytes.length, 0)).toBeLessThan(wholeBytes);
    await b.dispose();
    // Restore each prefix of the chain, split over two subtasks, into both backends.
    for (let upTo = 1; upTo <= snaps.length; upTo++) {
      const want = truths[upTo - 1]!;
      const got = new Map<string, unknown>();
      for (let sub = 0; sub < 2; sub++) {
        const range = keyGroupRange(sub, 2);
        const sections = chained(snaps.slice(0, upTo), (kg) => kg >= range.start && kg <= range.end);
        const r = await rocks(sections, { subtask: sub, parallelism: 2 });
        for (const [k, v] of await contents(r, 'rows')) {
          const kg = keyGroupOf(hashValue(k));
          expect(kg >= range.start && kg <= range.end).toBe(true);
          got.set(k, v);
        }
        await r.dispose();
        const h = new HeapKeyedStateBackend({ keyGroups: range, ttlMs: 0, restored: sections, label: 'heap' });
        for (const [k, v] of await contents(h, 'rows')) expect(v).toEqual(want.get(k));
      }
      expect(got).toEqual(want);
    }
  });

  it('converts restored values with migrate, and forEach may delete what it visits', async () => {
    const heap = new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: [], label: 'heap' });
    const h = heap.valueState<string, number[]>('rows');
    for (let i = 0; i < 30; i++) h.put(`k${i}`, hashValue(`k${i}`), [i]);
    const snap = heap.snapshot();
    const b = await rocks(snap.sections.map((x) => x.bytes));
    const s = b.valueState<string, unknown>('rows', { migrate: (v) => [...(v as number[]), 'new'] });
    await batch(b, s, ['k3'], () => expect(s.get('k3', hashValue('k3'))).toEqual([3, 'new']));
    const seen: string[] = [];
    await s.forEach((v, k) => {
      expect(v).toEqual([Number(k.slice(1)), 'new']);
      seen.push(k);
      if (Number(k.slice(1)) % 2 === 0) s.delete(k, hashValue(k));
    });
    expect(seen.length).toBe(30);
    expect(s.size).toBe(15);
    const left = await contents(b, 'rows');
    expect([...left.keys()].every((k) => Number(k.slice(1)) % 2 === 1)).toBe(true);
    expect(left.size).toBe(15);
    await b.dispose();
  });

  it('never returns a value older than the state TTL', async () => {
    const b = await rocks([], { ttlMs: 1000 });
    const s = b.valueState<string, unknown>('rows', { ttl: true });
    b.advanceTime(10_000);
    await batch(b, s, ['a', 'b'], () => {
      s.put('a', hashValue('a'), 1);
      s.put('b', hashValue('b'), 2);
    });
    b.advanceTime(10_500);
    await batch(b, s, ['b'], () => s.put('b', hashValue('b'), 3));
    b.advanceTime(11_200);
    let expired = 0;
    await batch(b, s, ['a', 'b'], () => {
      expired = s.get('a', hashValue('a')) === undefined ? 1 : 0;
      expect(s.get('b', hashValue('b'))).toBe(3);
    });
    expect(expired).toBe(1);
    await b.dispose();
  });

  it('shares one store between the subtasks of a process, removes it when the last is disposed, and removes those of dead processes', async () => {
    const localDir = join(tempDir('rocks-local-'), 'job');
    await mkdir(join(localDir, 'pid-999999999-deadbeef'), { recursive: true });
    const a = await rocks([], { localDir, subtask: 0, parallelism: 2 });
    const b = await rocks([], { localDir, subtask: 1, parallelism: 2 });
    expect(readdirSync(localDir)).toEqual([expect.stringMatching(new RegExp(`^pid-${process.pid}-`))]);
    // Equal keys of two subtasks' states do not meet (each has its own prefix).
    const keyA = Array.from({ length: 500 }, (_, i) => `k${i}`).find((k) => keyGroupOf(hashValue(k)) < 64)!;
    const sa = a.valueState<string, unknown>('rows');
    await batch(a, sa, [keyA], () => sa.put(keyA, hashValue(keyA), 'a'));
    await a.writeBack();
    b.valueState<string, unknown>('rows');
    expect((await b.snapshot()).sections).toEqual([]);
    expect((await a.snapshot()).sections.length).toBe(1);
    await a.dispose();
    expect(readdirSync(localDir).length).toBe(1);
    await b.dispose();
    expect(existsSync(localDir) ? readdirSync(localDir) : []).toEqual([]);
  });

  it('cuts a structure kept in the heap at the barrier: changes made while the snapshot is written are not in it', async () => {
    const entries = new Map<string, number>();
    const structure: KeyGroupedStructure = {
      get size() {
        return entries.size;
      },
      *snapshotKeyGroups() {
        // Live data, as operators hand it over (no copy).
        const byGroup = new Map<number, Map<string, number>>();
        for (const [k, v] of entries) {
          const kg = keyGroupOf(hashValue(k));
          if (!byGroup.has(kg)) byGroup.set(kg, new Map());
          byGroup.get(kg)!.set(k, v);
        }
        yield* byGroup;
      },
      restoreKeyGroup(_kg, data) {
        for (const [k, v] of data as Map<string, number>) entries.set(k, v);
      },
    };
    const b = await rocks();
    b.registerStructure('windows', structure);
    for (let i = 0; i < 100; i++) entries.set(`w${i}`, i);
    const pending = b.snapshot();
    for (const k of [...entries.keys()]) entries.set(k, -1);
    entries.set('late', 1);
    const snap = await pending;
    await b.dispose();
    entries.clear();
    const again = await rocks(chained([snap]));
    again.registerStructure('windows', structure);
    expect(entries.size).toBe(100);
    expect([...entries.values()].every((v) => v >= 0)).toBe(true);
    await again.dispose();
  });

  it('cuts a large whole snapshot into sections in a spool file: structures and every state restore into both backends', async () => {
    const saved = { ...snapshotLimits };
    snapshotLimits.spoolBytes = 4096;
    snapshotLimits.sectionEntries = 3;
    try {
      const entries = new Map<string, number>();
      const structure: KeyGroupedStructure = {
        get size() {
          return entries.size;
        },
        *snapshotKeyGroups() {
          for (const [k, v] of entries) yield [keyGroupOf(hashValue(k)), [k, v]];
        },
        restoreKeyGroup(_kg, data) {
          const [k, v] = data as [string, number];
          entries.set(k, v);
        },
      };
      const b = await rocks();
      b.registerStructure('windows', structure);
      for (let i = 0; i < 40; i++) entries.set(`w${i}`, i);
      const expected = { a: new Map<string, unknown>(), b: new Map<string, unknown>() };
      for (const name of ['a', 'b'] as const) {
        const s = b.valueState<string, unknown>(name);
        const keys = Array.from({ length: name === 'a' ? 2000 : 700 }, (_, i) => `${name}${i}`);
        await batch(b, s, keys, () => {
          for (const k of keys) {
            s.put(k, hashValue(k), [k.length, k]);
            expected[name].set(k, [k.length, k]);
          }
        });
      }
      const snap = await b.snapshot();
      await b.dispose();
      expect(snap.sections).toEqual([]);
      const spooled = snap.spooled!;
      const kgs = spooled.sections.map(([kg]) => kg);
      expect(kgs).toEqual([...kgs].sort((x, y) => x - y));
      expect(new Set(kgs).size).toBeLessThan(kgs.length);
      const structures = new Map(entries);
      entries.clear();
      const again = await rocks(chained([snap]));
      again.registerStructure('windows', structure);
      expect(entries).toEqual(structures);
      expect(await contents(again, 'a')).toEqual(expected.a);
      expect(await contents(again, 'b')).toEqual(expected.b);
      await again.dispose();
      entries.clear();
      const heap = new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: chained([snap]), label: 'heap' });
      heap.registerStructure('windows', structure);
      expect(entries).toEqual(structures);
      expect(await contents(heap, 'a')).toEqual(expected.a);
      expect(await contents(heap, 'b')).toEqual(expected.b);
      await rm(spooled.path);
    } finally {
      Object.assign(snapshotLimits, saved);
    }
  });

  it('an aborted snapshot stops reading, deletes its spool file, and the next snapshot is whole and complete', async () => {
    const saved = { ...snapshotLimits };
    snapshotLimits.spoolBytes = 1024;
    snapshotLimits.sectionEntries = 4;
    const localDir = join(tempDir('rocks-abort-'), 'local');
    try {
      const b = await rocks([], { localDir });
      const s = b.valueState<string, unknown>('rows');
      const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
      await batch(b, s, keys, () => {
        for (const k of keys) s.put(k, hashValue(k), [k, k.length]);
      });
      const abort = new AbortController();
      let added = 0;
      const add = SectionSpool.prototype.add;
      const spy = vi.spyOn(SectionSpool.prototype, 'add').mockImplementation(async function (this: SectionSpool, kg, bytes) {
        if (++added === 3) abort.abort(new Error('checkpoint 7 was aborted'));
        return add.call(this, kg, bytes);
      });
      await expect(b.snapshot({ signal: abort.signal })).rejects.toThrow('checkpoint 7 was aborted');
      spy.mockRestore();
      // it stopped at the next section, and its file is gone
      expect(added).toBeLessThan(10);
      expect(readdirSync(spoolDir(localDir))).toEqual([]);
      const snap = await b.snapshot();
      expect(snap.incremental).toBe(false);
      await b.dispose();
      const again = await rocks(chained([snap]));
      expect((await contents(again, 'rows')).size).toBe(keys.length);
      await again.dispose();
      await rm(snap.spooled!.path);
    } finally {
      Object.assign(snapshotLimits, saved);
    }
  });

  it('says which key a state used without prefetching it', async () => {
    const b = await rocks();
    const s = b.valueState<string, unknown>('rows');
    expect(() => s.get('nope', hashValue('nope'))).toThrow(/state 'rows' used a key that was not prefetched/);
    await b.dispose();
  });
});
