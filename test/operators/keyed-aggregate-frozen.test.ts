import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { KeyedAggregateOperator } from '../../src/runtime/operators/keyed-aggregate.js';
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
