import { describe, expect, it } from 'vitest';
import { hashValue, keyGroupOf, keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import type { KeyGroupedStructure, KeyGroupSection, KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { seededRandom } from '../support/weir-process.js';

/**
 * Incremental snapshots of the heap backend: a whole snapshot, then change snapshots; a backend
 * restored from each key group's chain (whole, then changes in order: what a checkpoint's
 * metadata names) holds exactly what the original held at the last snapshot.
 */
function backend(restored: readonly Uint8Array[] = [], incremental = true, subtask = 0, parallelism = 1) {
  return new HeapKeyedStateBackend({ keyGroups: keyGroupRange(subtask, parallelism), ttlMs: 0, restored, label: 'test', incremental });
}

/** Sections in chain order per key group, as restore.forOperator hands them to a backend. */
function chained(snapshots: readonly KeyedStateSnapshot[]): Uint8Array[] {
  const byGroup = new Map<number, Uint8Array[]>();
  let since = 0;
  snapshots.forEach((s, i) => {
    if (!s.incremental) since = i;
  });
  for (const s of snapshots.slice(since)) {
    for (const sec of s.sections) {
      let list = byGroup.get(sec.keyGroup);
      if (list === undefined) byGroup.set(sec.keyGroup, (list = []));
      list.push(sec.bytes);
    }
  }
  return [...byGroup.keys()].sort((a, b) => a - b).flatMap((kg) => byGroup.get(kg)!);
}

function contents(b: HeapKeyedStateBackend, name: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  b.valueState<string, unknown>(name).forEach((v, k) => out.push([k, v]));
  return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** A structure without change tracking: a Map of key -> value, snapshotted whole per key group. */
class WholeStructure implements KeyGroupedStructure {
  readonly entries = new Map<string, number>();
  get size(): number {
    return this.entries.size;
  }
  *snapshotKeyGroups(): Iterable<readonly [number, unknown]> {
    const byGroup = new Map<number, [string, number][]>();
    for (const [k, v] of this.entries) {
      const kg = keyGroupOf(hashValue(k));
      let list = byGroup.get(kg);
      if (list === undefined) byGroup.set(kg, (list = []));
      list.push([k, v]);
    }
    yield* byGroup;
  }
  restoreKeyGroup(_kg: number, data: unknown): void {
    for (const [k, v] of data as [string, number][]) this.entries.set(k, v);
  }
}

describe('heap backend, incremental snapshots', () => {
  it('change snapshots hold only changed keys; the chain restores exactly the last state (puts, deletes, re-puts, undeclared states)', () => {
    const random = seededRandom(7);
    const b = backend();
    const sum = b.valueState<string, number>('sum');
    const tag = b.valueState<string, string>('tag');
    const put = (k: string) => {
      sum.put(k, hashValue(k), Math.floor(random() * 1000));
      tag.put(k, hashValue(k), `t${Math.floor(random() * 10)}`);
    };
    for (let i = 0; i < 20_000; i++) put(`k${i}`);
    const snaps: KeyedStateSnapshot[] = [b.snapshot({ incremental: true })];
    // The first snapshot of a backend is whole: nothing was recorded before it.
    expect(snaps[0].incremental).toBe(false);
    const whole = snaps[0].sections.reduce((n, s) => n + s.bytes.length, 0);
    for (let round = 0; round < 4; round++) {
      for (let j = 0; j < 200; j++) {
        const k = `k${Math.floor(random() * 25_000)}`;
        if (random() < 0.3) {
          sum.delete(k, hashValue(k));
          tag.delete(k, hashValue(k));
          if (random() < 0.5) put(k); // deleted and written again in the same interval
        } else put(k);
      }
      const s = b.snapshot({ incremental: true });
      expect(s.incremental).toBe(true);
      const bytes = s.sections.reduce((n, x) => n + x.bytes.length, 0);
      // ~1% of the keys changed: the change snapshot is a small fraction of a whole one
      expect(bytes).toBeLessThan(whole * 0.1);
      snaps.push(s);
    }
    const restored = backend(chained(snaps));
    expect(contents(restored, 'sum')).toEqual(contents(b, 'sum'));
    expect(contents(restored, 'tag')).toEqual(contents(b, 'tag'));
    expect(restored.keyCount()).toBe(b.keyCount());

    // A state restored but not declared again stays in later snapshots, whole ones included.
    const partial = backend(chained(snaps));
    const s2 = partial.valueState<string, number>('sum');
    s2.put('new', hashValue('new'), 1);
    const next = [partial.snapshot({ incremental: true })];
    const again = backend(chained(next));
    expect(contents(again, 'tag')).toEqual(contents(b, 'tag'));
    expect(again.valueState<string, number>('sum').get('new', hashValue('new'))).toBe(1);
  });

  it('a backend without the option, or a caller not asking, always snapshots whole', () => {
    const off = backend([], false);
    off.valueState<string, number>('s').put('a', hashValue('a'), 1);
    off.snapshot({ incremental: true });
    off.valueState<string, number>('s').put('b', hashValue('b'), 2);
    expect(off.snapshot({ incremental: true }).incremental).toBe(false);
    const on = backend();
    on.valueState<string, number>('s').put('a', hashValue('a'), 1);
    on.snapshot();
    on.valueState<string, number>('s').put('b', hashValue('b'), 2);
    const whole = on.snapshot({ incremental: false });
    expect(whole.incremental).toBe(false);
    // a whole snapshot starts the next change set: only 'c' is new after it
    on.valueState<string, number>('s').put('c', hashValue('c'), 3);
    const changes = on.snapshot({ incremental: true });
    expect(changes.incremental).toBe(true);
    expect(changes.sections.map((s) => s.keyGroup)).toEqual([keyGroupOf(hashValue('c'))]);
  });

  it('takes a whole snapshot once the changes since the last add up to its size', () => {
    const b = backend();
    const s = b.valueState<string, number>('s');
    for (let i = 0; i < 100; i++) s.put(`k${i}`, hashValue(`k${i}`), i);
    b.snapshot();
    const kinds: boolean[] = [];
    for (let round = 0; round < 6; round++) {
      // every key rewritten each round: each change set is as big as the whole state
      for (let i = 0; i < 100; i++) s.put(`k${i}`, hashValue(`k${i}`), i + round);
      kinds.push(b.snapshot({ incremental: true }).incremental);
    }
    expect(kinds).toContain(false);
    expect(kinds).toContain(true);
  });

  it('a structure without change tracking is written whole in change snapshots, and a key group it emptied is marked so', () => {
    const b = backend();
    const st = new WholeStructure();
    b.registerStructure('w', st);
    const a = 'a';
    // a second key in another key group
    let other = 'b';
    for (let i = 0; keyGroupOf(hashValue(other)) === keyGroupOf(hashValue(a)); i++) other = `b${i}`;
    st.entries.set(a, 1);
    st.entries.set(other, 2);
    b.valueState<string, number>('v').put('x', hashValue('x'), 1);
    const snaps = [b.snapshot()];
    st.entries.delete(a);
    st.entries.set(other, 3);
    b.valueState<string, number>('v').put('y', hashValue('y'), 2);
    snaps.push(b.snapshot({ incremental: true }));
    expect(snaps[1].incremental).toBe(true);
    const restored = backend(chained(snaps));
    const st2 = new WholeStructure();
    restored.registerStructure('w', st2);
    expect([...st2.entries]).toEqual([[other, 3]]);
    expect(contents(restored, 'v')).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
  });

  it('restores a chain into another parallelism: each subtask folds only its key groups', () => {
    const b = backend();
    const s = b.valueState<string, number>('s');
    for (let i = 0; i < 2000; i++) s.put(`k${i}`, hashValue(`k${i}`), i);
    const snaps = [b.snapshot()];
    for (let i = 0; i < 2000; i += 7) s.delete(`k${i}`, hashValue(`k${i}`));
    for (let i = 0; i < 2000; i += 11) s.put(`k${i}`, hashValue(`k${i}`), -i);
    snaps.push(b.snapshot({ incremental: true }));
    // each section with its key group, in checkpoint order (what the metadata records)
    const sections: KeyGroupSection[] = snaps.flatMap((snap) => snap.sections);
    const parts = [0, 1, 2].map((t) => {
      const r = keyGroupRange(t, 3);
      const mine = [...new Set(sections.map((x) => x.keyGroup))]
        .filter((kg) => kg >= r.start && kg <= r.end)
        .sort((x, y) => x - y)
        .flatMap((kg) => sections.filter((x) => x.keyGroup === kg).map((x) => x.bytes));
      return backend(mine, true, t, 3);
    });
    const merged = parts.flatMap((p) => contents(p, 's')).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    expect(merged).toEqual(contents(b, 's'));
  });
});
