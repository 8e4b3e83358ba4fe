import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { JoinOperator } from '../../src/runtime/operators/join.js';
import { hashValue, subtaskOfHash } from '../../src/model/partition.js';
import { keyPart } from '../../src/state/key-part.js';
import { serializeState } from '../../src/state/serde.js';
import { type SubtaskSnapshot, batch, harness, opened } from './harness.js';

const L: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 'a', type: type('STRING') },
  ],
};
const R: Schema = {
  fields: [
    { name: 'k', type: type('INT') },
    { name: 'b', type: type('INT') },
  ],
};

async function join(
  joinType: 'inner' | 'left' | 'right' | 'full',
  extra: {
    residual?: BoundExpr;
    ttlMs?: number;
    restored?: SubtaskSnapshot[];
    restoredState?: Uint8Array[];
    subtaskIndex?: number;
    parallelism?: number;
  } = {},
) {
  const { residual, ...opts } = extra;
  const h = harness([L, R], opts);
  const op = await opened(new JoinOperator({ joinType, leftKeys: [0], rightKeys: [0], ...(residual ? { residual } : {}) }), h);
  return { h, op };
}

/** The subtask of `parallelism` a join key is routed to. */
const subtaskOf = (k: number, parallelism: number) => subtaskOfHash(hashValue(k), parallelism);

/** The join's state blob of checkpoints written before the state layer: per side, [key, hash, last access, [row id, row, count, assoc][]]. */
function legacyState(sides: [number, [unknown[], number, number][]][][]): Uint8Array {
  const rowId = (row: unknown[]) => row.map(keyPart).join('');
  return serializeState({
    v: 1,
    sides: sides.map((keys) => keys.map(([k, rows]) => [k, hashValue(k), 0, rows.map(([row, count, assoc]) => [rowId(row), row, count, assoc])])),
  });
}

describe('regular join operator', () => {
  it('inner: matches both ways, duplicates multiply, retractions emit -D, NULL keys never match', async () => {
    const { h, op } = await join('inner');
    op.process(batch(['+I', 1, 'x'], ['+I', 1, 'x'], ['+I', null, 'n']), 0);
    expect(h.take()).toEqual([]);
    op.process(batch(['+I', 1, 10], ['+I', null, 99]), 1);
    expect(h.take()).toEqual(['+I[1, x, 1, 10]', '+I[1, x, 1, 10]']);
    op.process(batch(['-U', 1, 'x'], ['+U', 1, 'y']), 0);
    expect(h.take()).toEqual(['-D[1, x, 1, 10]', '+I[1, y, 1, 10]']);
    op.process(batch(['-D', 1, 10]), 1);
    expect(h.take()).toEqual(['-D[1, x, 1, 10]', '-D[1, y, 1, 10]']);
    op.process(batch(['-D', 7, 'zz']), 0);
    expect(h.counters.get('retractions-of-unknown-rows')).toBe(1);
  });

  it('left outer: pads, retracts the padding when a match arrives, pads again when it leaves', async () => {
    const { h, op } = await join('left');
    op.process(batch(['+I', 1, 'x']), 0);
    expect(h.take()).toEqual(['+I[1, x, null, null]']);
    op.process(batch(['+I', 1, 10], ['+I', 1, 20]), 1);
    expect(h.take()).toEqual(['-D[1, x, null, null]', '+I[1, x, 1, 10]', '+I[1, x, 1, 20]']);
    op.process(batch(['-D', 1, 10]), 1);
    expect(h.take()).toEqual(['-D[1, x, 1, 10]']);
    op.process(batch(['-D', 1, 20]), 1);
    expect(h.take()).toEqual(['-D[1, x, 1, 20]', '+I[1, x, null, null]']);
    op.process(batch(['-D', 1, 'x']), 0);
    expect(h.take()).toEqual(['-D[1, x, null, null]']);
    expect(op.keyCounts).toEqual([0, 0]);
  });

  it('full outer with a residual: a pair failing the residual is no match', async () => {
    // ON l.k = r.k AND r.b > 5 (columns: 0 k, 1 a, 2 k, 3 b)
    const residual: BoundExpr = {
      kind: 'call',
      fn: '>',
      args: [
        { kind: 'input', index: 3, type: type('INT') },
        { kind: 'literal', value: 5, type: type('INT') },
      ],
      type: type('BOOLEAN'),
    };
    const { h, op } = await join('full', { residual });
    op.process(batch(['+I', 1, 3]), 1);
    expect(h.take()).toEqual(['+I[null, null, 1, 3]']);
    op.process(batch(['+I', 1, 'x']), 0);
    expect(h.take()).toEqual(['+I[1, x, null, null]']);
    op.process(batch(['+I', 1, 8]), 1);
    expect(h.take()).toEqual(['-D[1, x, null, null]', '+I[1, x, 1, 8]']);
    op.process(batch(['-D', 1, 'x']), 0);
    expect(h.take()).toEqual(['-D[1, x, 1, 8]', '+I[null, null, 1, 8]']);
  });

  it('right outer mirrors left outer', async () => {
    const { h, op } = await join('right');
    op.process(batch(['+I', 2, 5]), 1);
    op.process(batch(['+I', 2, 'p']), 0);
    expect(h.take()).toEqual(['+I[null, null, 2, 5]', '-D[null, null, 2, 5]', '+I[2, p, 2, 5]']);
  });

  it('table.exec.state.ttl drops keys not written for the TTL, without output', async () => {
    const { h, op } = await join('inner', { ttlMs: 5000 });
    h.backend.advanceTime(1000);
    op.process(batch(['+I', 1, 'x']), 0);
    h.backend.advanceTime(3000);
    op.process(batch(['+I', 2, 'y']), 0);
    h.backend.advanceTime(6500); // key 1 unwritten for 5.5 s, key 2 for 3.5 s
    op.process(batch(['+I', 3, 'z']), 0);
    expect(op.keyCounts).toEqual([2, 0]);
    op.process(batch(['+I', 1, 10], ['+I', 2, 20]), 1);
    expect(h.take()).toEqual(['+I[2, y, 2, 20]']);
    expect(h.counters.get('state-keys-expired')).toBe(1);
  });

  it('state TTL as Flink (OnCreateAndWrite): a key only read by probes expires; a preserved row whose matches change is written', async () => {
    // Inner join: the left key is only read by the right side's rows, so its TTL runs from its
    // insert (the join before the state layer also refreshed a key on read and kept it).
    const inner = await join('inner', { ttlMs: 5000 });
    inner.h.backend.advanceTime(1000);
    inner.op.process(batch(['+I', 1, 'x']), 0);
    inner.h.backend.advanceTime(4000);
    inner.op.process(batch(['+I', 1, 10]), 1);
    expect(inner.h.take()).toEqual(['+I[1, x, 1, 10]']);
    inner.h.backend.advanceTime(7000);
    inner.op.process(batch(['+I', 1, 20]), 1);
    expect(inner.h.take()).toEqual([]);
    inner.op.process(batch(['-D', 1, 'x']), 0);
    expect(inner.h.counters.get('retractions-of-unknown-rows')).toBe(1);

    // Left join: a right row changes the left row's count of matches, a write of the left key.
    const left = await join('left', { ttlMs: 5000 });
    left.h.backend.advanceTime(1000);
    left.op.process(batch(['+I', 1, 'x']), 0);
    left.h.backend.advanceTime(4000);
    left.op.process(batch(['+I', 1, 10]), 1);
    left.h.backend.advanceTime(7000);
    left.op.process(batch(['+I', 1, 20]), 1);
    expect(left.h.take()).toEqual(['+I[1, x, null, null]', '-D[1, x, null, null]', '+I[1, x, 1, 10]', '+I[1, x, 1, 20]']);
    left.h.backend.advanceTime(12500); // left key last written at 7 s, the right key at 7 s: both gone
    left.op.process(batch(['-D', 1, 20]), 1);
    expect(left.h.take()).toEqual([]);
    expect(left.op.keyCounts).toEqual([0, 0]);
  });

  it('snapshots only keyed state and restores it with another parallelism', async () => {
    const { h: h0, op } = await join('left');
    op.process(batch(['+I', 1, 'a'], ['+I', 2, 'b'], ['+I', 3, 'c'], ['+I', 4, 'd']), 0);
    op.process(batch(['+I', 1, 10]), 1);
    const snap = await h0.snapshot(op);
    expect(snap.state).toBeUndefined();
    const owned = [1, 2, 3, 4].filter((k) => subtaskOf(k, 2) === 0);
    const { h, op: restored } = await join('left', { restored: [snap], subtaskIndex: 0, parallelism: 2 });
    expect(restored.keyCounts[0]).toBe(owned.length);
    // A match for a restored padded row retracts the padding; the restored association counts.
    const k = owned.find((x) => x !== 1) ?? owned[0]!;
    restored.process(batch(['+I', k, 7]), 1);
    const out = h.take();
    expect(out[0]).toMatch(/^-D\[/);
    expect(out[1]).toMatch(/^\+I\[/);
  });

  it('rescales 2 subtasks into 3: every key lands in exactly one subtask and the output continues exactly', async () => {
    const keys = Array.from({ length: 24 }, (_, i) => i + 1);
    const old = await Promise.all([0, 1].map((i) => join('full', { subtaskIndex: i, parallelism: 2 })));
    for (const k of keys) {
      const { op } = old[subtaskOf(k, 2)]!;
      op.process(batch(['+I', k, `a${k}`], ['+I', k, `a${k}`]), 0);
      if (k % 2 === 0) op.process(batch(['+I', k, k * 10]), 1);
      if (k % 3 === 0) old[subtaskOf(-k, 2)]!.op.process(batch(['+I', -k, k]), 1); // a right row without a match
    }
    for (const { h } of old) h.take();
    const snaps = await Promise.all(old.map(({ h, op }) => h.snapshot(op)));
    const next = await Promise.all([0, 1, 2].map((i) => join('full', { restored: snaps, subtaskIndex: i, parallelism: 3 })));
    const ownedBy = (i: number, ks: number[]) => ks.filter((k) => subtaskOf(k, 3) === i);
    next.forEach(({ op }, i) => {
      const lefts = ownedBy(i, keys);
      const rights = ownedBy(
        i,
        keys.flatMap((k) => [...(k % 2 === 0 ? [k] : []), ...(k % 3 === 0 ? [-k] : [])]),
      );
      expect(op.keyCounts).toEqual([lefts.length, rights.length]);
    });
    expect(next.reduce((n, { op }) => n + op.keyCounts[0], 0)).toBe(keys.length);
    for (const k of keys) {
      const { op, h } = next[subtaskOf(k, 3)]!;
      op.process(batch(['+I', k, 1]), 1);
      const joined = [`+I[${k}, a${k}, ${k}, 1]`, `+I[${k}, a${k}, ${k}, 1]`];
      expect(h.take()).toEqual(k % 2 === 0 ? joined : [`-D[${k}, a${k}, null, null]`, `-D[${k}, a${k}, null, null]`, ...joined]);
      op.process(batch(['-D', k, `a${k}`]), 0);
      const gone = [`-D[${k}, a${k}, ${k}, ${k * 10}]`, `-D[${k}, a${k}, ${k}, 1]`];
      expect(h.take()).toEqual(k % 2 === 0 ? gone : gone.slice(1));
      if (k % 3 === 0) {
        const o = next[subtaskOf(-k, 3)]!;
        o.op.process(batch(['-D', -k, k]), 1);
        expect(o.h.take()).toEqual([`-D[null, null, ${-k}, ${k}]`]);
      }
    }
    for (const { h } of next) expect(h.counters.get('retractions-of-unknown-rows')).toBeUndefined();
  });

  it('restores the state blob of a checkpoint written before the state layer, keeping the keys of its subtask', async () => {
    // Left join, before the layer: key k has left row (k, 'l<k>') with one match, right row (k, 7).
    const keys = [1, 2, 3, 4, 5, 6, 7, 8];
    const blob = legacyState([keys.map((k) => [k, [[[k, `l${k}`], 1, 1]]]), keys.map((k) => [k, [[[k, 7], 1, 0]]])]);
    const owned = keys.filter((k) => subtaskOf(k, 2) === 1);
    expect(owned.length).toBeGreaterThan(0);
    const { h, op } = await join('left', { restoredState: [blob], subtaskIndex: 1, parallelism: 2 });
    expect(op.keyCounts).toEqual([owned.length, owned.length]);
    const k = owned[0]!;
    op.process(batch(['-D', k, 7]), 1);
    expect(h.take()).toEqual([`-D[${k}, l${k}, ${k}, 7]`, `+I[${k}, l${k}, null, null]`]);
    // What it restored is keyed state now: a new checkpoint holds it, by key group.
    const snap = await h.snapshot(op);
    expect(snap.state).toBeUndefined();
    const again = await join('left', { restored: [snap], subtaskIndex: 1, parallelism: 2 });
    expect(again.op.keyCounts).toEqual([owned.length, owned.length - 1]);
    again.op.process(batch(['-D', k, `l${k}`]), 0);
    expect(again.h.take()).toEqual([`-D[${k}, l${k}, null, null]`]);
  });
});
