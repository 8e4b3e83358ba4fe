import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { keyGroupOf } from '../../src/model/partition.js';
import { KeyedAggregateOperator } from '../../src/runtime/operators/keyed-aggregate.js';
import { CHANGE_BITS } from '../../src/runtime/operators/keyed-aggregate-changes.js';
import { FrozenGroups } from '../../src/runtime/operators/keyed-aggregate-frozen.js';
import { type GroupsV2, type GroupTable, unpackGroups } from '../../src/runtime/operators/keyed-aggregate-state.js';
import type { KeyedStateSnapshot } from '../../src/state/state-backend.js';
import { seededRandom } from '../support/weir-process.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

/**
 * Asynchronous snapshots of the slot table on the hashmap backend: the snapshot is packed key
 * group by key group after the barrier while batches go on changing, dropping and reusing the
 * slots it covers; restored, it must hold exactly the groups as of the barrier.
 */
const schema: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 'v', type: type('INT') },
  ],
};
const col: BoundExpr = { kind: 'input', index: 1, type: type('INT') };
const agg = (name: string, arg?: BoundExpr) => ({
  fn: resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable: true }),
  args: arg ? [arg] : [],
});
const make = () => new KeyedAggregateOperator({ groupKeys: [0], aggs: [agg('COUNT'), agg('SUM', col), agg('MAX', col)] });

/** Random inserts and retractions of earlier rows over `keys` keys. */
function changelog(random: () => number, live: [number, number][], batches: number, keys: number) {
  return Array.from({ length: batches }, () => {
    const rows: unknown[][] = [];
    for (let i = 0; i < 300; i++) {
      if (live.length > 0 && random() < 0.4) {
        const [k, v] = live.splice(Math.floor(random() * live.length), 1)[0]!;
        rows.push(['-D', k, v]);
      } else {
        const row: [number, number] = [Math.floor(random() * keys), Math.floor(random() * 1000)];
        live.push(row);
        rows.push(['+I', ...row]);
      }
    }
    return batch(...rows);
  });
}

/** The groups a snapshot holds, as the output of a restored operator touching every key once. */
async function contents(snapshots: readonly SubtaskSnapshot[], keys: number): Promise<string[]> {
  const h = harness([schema], { restored: snapshots });
  const op = await opened(make(), h);
  op.process(batch(...Array.from({ length: keys }, (_, k) => ['+I', k, -1])), 0);
  return h.take().filter((r) => r.startsWith('-U'));
}

describe('keyed aggregate: asynchronous snapshots of the slot table', () => {
  for (const incremental of [false, true]) {
    it(`${incremental ? 'incremental' : 'whole'} snapshots hold the groups as of the barrier while batches change them`, async () => {
      const keys = 3000;
      const random = seededRandom(incremental ? 2 : 1);
      const live: [number, number][] = [];
      const input = changelog(random, live, 90, keys);
      const h = harness([schema], { incremental });
      const op = await opened(make(), h);
      const twin = harness([schema]);
      const ref = await opened(make(), twin);
      const chain: KeyedStateSnapshot[] = [];
      let asserted = 0;
      for (let i = 0; i < input.length; i++) {
        op.process(input[i]!, 0);
        ref.process(input[i]!, 0);
        if (i % 30 !== 29) continue;
        // The barrier: an asynchronous snapshot, and the reference's state copied synchronously.
        const snap = h.backend.snapshot({ incremental: incremental && chain.length > 0 }) as Promise<KeyedStateSnapshot>;
        const expected = await contents([{ keyed: (twin.backend.snapshot() as KeyedStateSnapshot).sections }], keys);
        // Batches change the frozen slots before the drain packs them, some with a drain step between.
        for (const b of changelog(random, live, 6, keys)) {
          op.process(b, 0);
          ref.process(b, 0);
          if (random() < 0.5) await new Promise((r) => setImmediate(r));
        }
        const s = await snap;
        chain.push(s);
        const sections = chainSections(chain);
        expect(await contents([{ keyed: sections }], keys)).toEqual(expected);
        asserted++;
      }
      expect(asserted).toBe(3);
      if (incremental) expect(chain.slice(1).some((s) => s.incremental)).toBe(true);
    });
  }
});

/** The chain from the last whole snapshot on, as restore hands it over (key group by key group). */
function chainSections(chain: readonly KeyedStateSnapshot[]) {
  let since = 0;
  chain.forEach((s, i) => {
    if (!s.incremental) since = i;
  });
  return chain
    .slice(since)
    .flatMap((s) => s.sections)
    .sort((a, b) => a.keyGroup - b.keyGroup);
}

describe('FrozenGroups: a whole snapshot bucketed in slices while slots change', () => {
  it('packs every slot live at the barrier as it was, whatever changed between the slices', () => {
    const random = seededRandom(7);
    const slots = 300_000; // several prepare chunks
    let hashes = new Uint32Array(slots);
    let meta = new Float64Array(2 * slots);
    const data: unknown[] = [];
    const expected = new Map<number, string>(); // key -> what the snapshot must hold for it
    let nextKey = slots;
    for (let s = 0; s < slots; s++) {
      hashes[s] = Math.floor(random() * 2 ** 32);
      data.push(s, { sum: s * 10 });
      if (s % 5 !== 0) {
        meta[2 * s] = 1 + (s % 3);
        meta[2 * s + 1] = CHANGE_BITS[0];
        expected.set(s, `${hashes[s]}/${1 + (s % 3)}/${s * 10}`);
      }
    }
    let slotCount = slots;
    const table = (): GroupTable => ({ hashes, meta, data, width: 2, keyCount: 1, retractable: [true] });
    let finished = 0;
    const frozen = new FrozenGroups({ bit: CHANGE_BITS[0], lists: null, deletes: new Map() }, slots, table, { start: 0, end: 127 }, false, () => finished++);
    /** What the operator does to a slot after the barrier: keep it, then change, drop or reuse it. */
    const touch = (s: number) => {
      frozen.keep(s);
      if (meta[2 * s] > 0 && random() < 0.3) {
        meta[2 * s] = 0;
        meta[2 * s + 1] = 0;
        data[2 * s + 1] = null;
      } else if (meta[2 * s] > 0) {
        meta[2 * s]++;
        (data[2 * s + 1] as { sum: number }).sum += 1; // in place: the snapshot must hold a copy
      } else {
        hashes[s] = Math.floor(random() * 2 ** 32);
        data[2 * s] = nextKey++;
        data[2 * s + 1] = { sum: -1 };
        meta[2 * s] = 1;
      }
    };
    let slices = 0;
    while (!frozen.prepare(Number.NEGATIVE_INFINITY)) {
      slices++;
      for (let i = 0; i < 2000; i++) touch(Math.floor(random() * slotCount));
      if (slices === 2) {
        // The table grows: new arrays; slots past the barrier's are not the snapshot's.
        const h = new Uint32Array(2 * slots);
        h.set(hashes);
        hashes = h;
        const m = new Float64Array(4 * slots);
        m.set(meta);
        meta = m;
        for (let s = slotCount; s < slotCount + 1000; s++) {
          frozen.keep(s);
          hashes[s] = Math.floor(random() * 2 ** 32);
          data.push(nextKey++, { sum: -2 });
          meta[2 * s] = 1;
        }
        slotCount += 1000;
      }
    }
    expect(slices).toBeGreaterThan(2);
    const got = new Map<number, string>();
    let misplaced = 0;
    const keyGroups = [...frozen.keyGroups];
    expect(keyGroups.map(([kg]) => kg)).toEqual(Array.from({ length: 128 }, (_, kg) => kg));
    let yields = 0;
    for (const [kg, pack, step] of keyGroups) {
      for (let i = 0; i < 500; i++) touch(Math.floor(random() * slotCount));
      // Gathered a chunk at a time, the slots already gathered changing in place in between.
      while (!step(Number.NEGATIVE_INFINITY)) {
        yields++;
        for (let i = 0; i < 500; i++) touch(Math.floor(random() * slotCount));
      }
      const packed = pack() as GroupsV2 | undefined;
      if (packed === undefined) continue;
      const g = unpackGroups(packed, 1, 1);
      for (let i = 0; i < g.n; i++) {
        if (keyGroupOf(g.hashes[i]!) !== kg) misplaced++;
        got.set(g.keys[0]![i] as number, `${g.hashes[i]}/${g.counts[i]}/${(g.accs[0]![i] as { sum: number }).sum}`);
      }
    }
    expect(finished).toBe(1);
    expect(yields).toBeGreaterThan(100);
    expect(misplaced).toBe(0);
    expect(got.size).toBe(expected.size);
    expect(got).toEqual(expected);
  });
});
