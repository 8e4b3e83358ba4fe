import { describe, expect, it } from 'vitest';
import { hashValue, keyGroupOf, keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import type { KeyGroupedStructure, KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { seededRandom } from '../support/weir-process.js';

/**
 * Asynchronous snapshots of the heap backend: snapshot() only marks what it holds, a background
 * drain serializes it, and every write, delete, read (whose value the caller may change in place),
 * scan or expiry after the barrier keeps the snapshot what the state was at the barrier.
 */
type Row = { n: number; tags: string[] };

function backend(opts: { restored?: readonly Uint8Array[]; incremental?: boolean; ttlMs?: number; subtask?: number; parallelism?: number } = {}) {
  return new HeapKeyedStateBackend({
    keyGroups: keyGroupRange(opts.subtask ?? 0, opts.parallelism ?? 1),
    ttlMs: opts.ttlMs ?? 0,
    restored: opts.restored ?? [],
    label: 'test',
    incremental: opts.incremental ?? false,
  });
}

/** Sections of a chain (a whole snapshot, then change snapshots) in per-key-group checkpoint order. */
function chained(snapshots: readonly KeyedStateSnapshot[]): Uint8Array[] {
  const byGroup = new Map<number, Uint8Array[]>();
  for (const s of snapshots) {
    for (const sec of s.sections) {
      let list = byGroup.get(sec.keyGroup);
      if (list === undefined) byGroup.set(sec.keyGroup, (list = []));
      list.push(sec.bytes);
    }
  }
  return [...byGroup.keys()].sort((a, b) => a - b).flatMap((kg) => byGroup.get(kg)!);
}

/** A state's entries, sorted by key, deep-copied (what the state is now). */
function contents(b: HeapKeyedStateBackend, name: string, ttl = false): [string, unknown][] {
  const out: [string, unknown][] = [];
  b.valueState<string, unknown>(name, { ttl }).forEach((v, k) => out.push([k, structuredClone(v)]));
  return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** The snapshot as a promise (a backend with nothing to write gives a plain result). */
const snapshotOf = (b: HeapKeyedStateBackend, opts: { incremental?: boolean } = {}): Promise<KeyedStateSnapshot> => Promise.resolve(b.snapshot(opts));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const h = (k: string): number => hashValue(k);
const row = (i: number): Row => ({ n: i, tags: [`t${i % 7}`] });

/**
 * Random gets-and-changes-in-place, puts, deletes and inserts over keys k0..k(n-1) and beyond.
 * A value changed in place is put again only with `putBack` (the contract; incremental snapshots
 * see only puts), else one in three is not (a whole snapshot must not see that change either).
 */
function mutate(b: HeapKeyedStateBackend, random: () => number, n: number, times: number, putBack = false): void {
  const rows = b.valueState<string, Row>('rows');
  const count = b.valueState<string, number>('count');
  for (let i = 0; i < times; i++) {
    const k = `k${Math.floor(random() * n * 1.2)}`;
    const r = random();
    if (r < 0.3) {
      // read and changed in place, then put again (the contract) or not (the snapshot must not see it either way)
      const v = rows.get(k, h(k));
      if (v !== undefined) {
        v.n += 1000;
        v.tags.push('changed');
        if (putBack || r < 0.2) rows.put(k, h(k), v);
      }
    } else if (r < 0.55) {
      rows.put(k, h(k), row(-i));
      count.put(k, h(k), i);
    } else if (r < 0.75) {
      rows.delete(k, h(k));
      count.delete(k, h(k));
    } else if (r < 0.85) {
      rows.delete(k, h(k));
      rows.put(k, h(k), row(i)); // deleted and written again
    } else count.put(k, h(k), (count.get(k, h(k)) ?? 0) + 1);
  }
}

function fill(b: HeapKeyedStateBackend, n: number): void {
  const rows = b.valueState<string, Row>('rows');
  const count = b.valueState<string, number>('count');
  for (let i = 0; i < n; i++) {
    rows.put(`k${i}`, h(`k${i}`), row(i));
    count.put(`k${i}`, h(`k${i}`), i);
  }
}

/** Mutates the backend between drain steps until the snapshot is written; returns how many steps it took. */
async function mutateWhileDraining(b: HeapKeyedStateBackend, snap: Promise<unknown>, random: () => number, n: number, putBack = false): Promise<number> {
  let done = false;
  void snap.then(
    () => (done = true),
    () => (done = true),
  );
  let steps = 0;
  for (; !done; steps++) {
    mutate(b, random, n, 50, putBack);
    await tick();
  }
  return steps;
}

describe('heap backend, asynchronous snapshots', () => {
  it('a whole snapshot is the state at the barrier, whatever the task does while it is written', async () => {
    const random = seededRandom(11);
    const n = 20_000;
    const b = backend();
    fill(b, n);
    const atBarrier = { rows: contents(b, 'rows'), count: contents(b, 'count') };
    const snap = snapshotOf(b);
    mutate(b, random, n, 2000); // before any key group is written
    const steps = await mutateWhileDraining(b, snap, random, n);
    // written in several steps, with the task running between them
    expect(steps).toBeGreaterThan(1);
    const s = await snap;
    expect(s.incremental).toBe(false);
    expect(s.sections.map((x) => x.keyGroup)).toEqual([...s.sections.map((x) => x.keyGroup)].sort((x, y) => x - y));
    const restored = backend({ restored: s.sections.map((x) => x.bytes) });
    expect(contents(restored, 'rows')).toEqual(atBarrier.rows);
    expect(contents(restored, 'count')).toEqual(atBarrier.count);
    // the task's own changes are all there
    expect(contents(b, 'rows')).not.toEqual(atBarrier.rows);
  });

  it('snapshot() returns before the value states are serialized, and an untouched snapshot equals the synchronous one', async () => {
    const b = backend();
    fill(b, 20_000);
    let written = false;
    const raw = b.snapshot();
    expect(raw).toBeInstanceOf(Promise);
    const snap = raw as Promise<KeyedStateSnapshot>;
    void snap.then(() => (written = true));
    expect(written).toBe(false);
    const s = await snap;
    // a synchronous reader (sections read off the result) of the same state gets the same bytes
    const again = b.snapshot().sections;
    expect(again.map((x) => [x.keyGroup, Buffer.from(x.bytes).toString('base64')])).toEqual(
      s.sections.map((x) => [x.keyGroup, Buffer.from(x.bytes).toString('base64')]),
    );
  });

  it('incremental snapshots: the chain restores the state at the last barrier', async () => {
    const random = seededRandom(5);
    const n = 20_000;
    const b = backend({ incremental: true });
    fill(b, n);
    const snaps: KeyedStateSnapshot[] = [];
    const first = snapshotOf(b, { incremental: true });
    await mutateWhileDraining(b, first, random, n, true);
    snaps.push(await first);
    expect(snaps[0].incremental).toBe(false);
    let atBarrier = { rows: contents(b, 'rows'), count: contents(b, 'count') };
    for (let round = 0; round < 3; round++) {
      mutate(b, random, n, 300, true);
      atBarrier = { rows: contents(b, 'rows'), count: contents(b, 'count') };
      const snap = snapshotOf(b, { incremental: true });
      mutate(b, random, n, 500, true);
      await mutateWhileDraining(b, snap, random, n, true);
      const s = await snap;
      expect(s.incremental).toBe(true);
      snaps.push(s);
      const restored = backend({ restored: chained(snaps) });
      expect(contents(restored, 'rows')).toEqual(atBarrier.rows);
      expect(contents(restored, 'count')).toEqual(atBarrier.count);
    }
  });

  it('two snapshots back to back: the first is finished at the second barrier, each is the state at its own', async () => {
    const random = seededRandom(3);
    const n = 20_000;
    for (const incremental of [false, true]) {
      const b = backend({ incremental });
      fill(b, n);
      const base = snapshotOf(b);
      await base;
      mutate(b, random, n, 500, true);
      const atA = { rows: contents(b, 'rows'), count: contents(b, 'count') };
      const a = snapshotOf(b, { incremental });
      mutate(b, random, n, 500, true);
      const atB = { rows: contents(b, 'rows'), count: contents(b, 'count') };
      const c = snapshotOf(b, { incremental });
      mutate(b, random, n, 500, true);
      await mutateWhileDraining(b, c, random, n, true);
      const [sa, sc] = [await a, await c];
      expect([sa.incremental, sc.incremental]).toEqual([incremental, incremental]);
      const chainA = incremental ? [await base, sa] : [sa];
      const ra = backend({ restored: chained(chainA) });
      expect(contents(ra, 'rows')).toEqual(atA.rows);
      expect(contents(ra, 'count')).toEqual(atA.count);
      const rc = backend({ restored: chained(incremental ? [...chainA, sc] : [sc]) });
      expect(contents(rc, 'rows')).toEqual(atB.rows);
      expect(contents(rc, 'count')).toEqual(atB.count);
    }
  });

  it('state TTL: keys that expire or are cleaned up while the snapshot is written stay in it, and restore with a fresh time to live', async () => {
    let t = 1_000_000;
    const b = backend({ ttlMs: 1000 });
    b.advanceTime(t);
    const s = b.valueState<string, Row>('rows', { ttl: true });
    for (let i = 0; i < 5000; i++) s.put(`k${i}`, h(`k${i}`), row(i));
    t += 500;
    b.advanceTime(t);
    for (let i = 0; i < 5000; i += 2) s.put(`k${i}`, h(`k${i}`), row(-i)); // even keys live 500 ms longer
    const atBarrier = contents(b, 'rows', true);
    expect(atBarrier.length).toBe(5000);
    const snap = snapshotOf(b);
    t += 600; // odd keys have expired
    b.advanceTime(t); // cleans some up
    expect(s.get('k1', h('k1'))).toBeUndefined();
    expect(s.get('k2', h('k2'))).toEqual(row(-2));
    let done = false;
    void snap.then(() => (done = true));
    while (!done) {
      b.advanceTime(++t);
      await tick();
    }
    const restored = backend({ restored: (await snap).sections.map((x) => x.bytes), ttlMs: 1000 });
    restored.advanceTime(Date.now());
    expect(contents(restored, 'rows', true)).toEqual(atBarrier);
    // the live state lost the odd keys
    expect(s.size).toBeLessThan(5000);
  });

  it('forEach while a snapshot is written: values changed in place during the scan stay out of the snapshot', async () => {
    const b = backend();
    fill(b, 5000);
    const atBarrier = contents(b, 'rows');
    const snap = snapshotOf(b);
    b.valueState<string, Row>('rows').forEach((v, k) => {
      v.n = -1;
      if (k.endsWith('3')) b.valueState<string, Row>('rows').delete(k, h(k));
    });
    const restored = backend({ restored: (await snap).sections.map((x) => x.bytes) });
    expect(contents(restored, 'rows')).toEqual(atBarrier);
  });

  it('a structure changed in place after the barrier, in key groups shared with value states, is as of the barrier', async () => {
    class Lists implements KeyGroupedStructure {
      readonly byGroup = new Map<number, string[]>();
      get size(): number {
        return this.byGroup.size;
      }
      snapshotKeyGroups(): Iterable<readonly [number, unknown]> {
        return this.byGroup; // live arrays, as a structure that hands out its own data
      }
      restoreKeyGroup(kg: number, data: unknown): void {
        this.byGroup.set(kg, data as string[]);
      }
    }
    const b = backend();
    const lists = new Lists();
    b.registerStructure('lists', lists);
    fill(b, 3000);
    for (let i = 0; i < 3000; i++) {
      const kg = keyGroupOf(h(`k${i}`));
      lists.byGroup.set(kg, [...(lists.byGroup.get(kg) ?? []), `k${i}`]);
    }
    const before = new Map([...lists.byGroup].map(([kg, l]) => [kg, [...l]]));
    const atBarrier = contents(b, 'rows');
    const snap = snapshotOf(b);
    for (const l of lists.byGroup.values()) l.push('later');
    fill(b, 10);
    b.valueState<string, Row>('rows').put('new', h('new'), row(1));
    const restored = backend({ restored: (await snap).sections.map((x) => x.bytes) });
    const lists2 = new Lists();
    restored.registerStructure('lists', lists2);
    expect(lists2.byGroup).toEqual(before);
    expect(contents(restored, 'rows')).toEqual(atBarrier);
  });

  it('a backend whose value states hold nothing gives a plain result at once', () => {
    const b = backend();
    b.valueState<string, number>('empty');
    const s = b.snapshot();
    expect(s).not.toBeInstanceOf(Promise);
    expect(s.sections).toEqual([]);
  });

  it('restores into another parallelism', async () => {
    const random = seededRandom(9);
    const b = backend();
    fill(b, 10_000);
    const atBarrier = contents(b, 'rows');
    const snap = snapshotOf(b);
    await mutateWhileDraining(b, snap, random, 10_000);
    const sections = (await snap).sections;
    const parts = [0, 1, 2].map((subtask) => {
      const r = keyGroupRange(subtask, 3);
      return backend({ restored: sections.filter((x) => x.keyGroup >= r.start && x.keyGroup <= r.end).map((x) => x.bytes), subtask, parallelism: 3 });
    });
    const merged = parts.flatMap((p) => contents(p, 'rows')).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    expect(merged).toEqual(atBarrier);
  });

  it('a value that cannot be serialized rejects the snapshot; dispose waits for it; the next snapshot succeeds', async () => {
    const b = backend();
    fill(b, 2000);
    const s = b.valueState<string, unknown>('odd');
    s.put('f', h('f'), { f: () => 1 });
    const raw = snapshotOf(b);
    expect(raw).toBeInstanceOf(Promise);
    const snap = raw as Promise<KeyedStateSnapshot> & KeyedStateSnapshot;
    let settled = false;
    void snap.then(
      () => (settled = true),
      () => (settled = true),
    );
    await b.dispose();
    expect(settled).toBe(true);
    await expect(snap).rejects.toThrow();
    expect(() => snap.sections).toThrow();
    s.delete('f', h('f'));
    const atBarrier = contents(b, 'rows');
    const ok = await snapshotOf(b);
    expect(contents(backend({ restored: ok.sections.map((x) => x.bytes) }), 'rows')).toEqual(atBarrier);
  });
});
