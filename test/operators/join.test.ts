import { describe, expect, it } from 'vitest';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema } from '../../src/model/types.js';
import { JoinOperator } from '../../src/runtime/operators/join.js';
import { hashValue, subtaskOfHash } from '../../src/model/partition.js';
import { batch, harness, opened } from './harness.js';

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
  extra: { residual?: BoundExpr; stateTtlMs?: number; now?: () => number; restoredState?: Uint8Array[]; subtaskIndex?: number; parallelism?: number } = {},
) {
  const h = harness([L, R], extra);
  const op = await opened(new JoinOperator({ joinType, leftKeys: [0], rightKeys: [0], ...extra }), h);
  return { h, op };
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

  it('table.exec.state.ttl drops idle keys without output', async () => {
    let now = 1000;
    const { h, op } = await join('inner', { stateTtlMs: 5000, now: () => now });
    op.process(batch(['+I', 1, 'x']), 0);
    now = 3000;
    op.process(batch(['+I', 2, 'y']), 0);
    now = 6500; // key 1 idle for 5.5 s, key 2 for 3.5 s
    op.process(batch(['+I', 3, 'z']), 0);
    expect(op.keyCounts).toEqual([2, 0]);
    op.process(batch(['+I', 1, 10], ['+I', 2, 20]), 1);
    expect(h.take()).toEqual(['+I[2, y, 2, 20]']);
    expect(h.counters.get('state-keys-expired')).toBe(1);
  });

  it('restores its state, keeping only the keys of the subtask with another parallelism', async () => {
    const { op } = await join('left');
    op.process(batch(['+I', 1, 'a'], ['+I', 2, 'b'], ['+I', 3, 'c'], ['+I', 4, 'd']), 0);
    op.process(batch(['+I', 1, 10]), 1);
    const snap = op.snapshotState().state!;
    const owned = [1, 2, 3, 4].filter((k) => subtaskOfHash(hashValue(k), 2) === 0);
    const { h, op: restored } = await join('left', { restoredState: [snap], subtaskIndex: 0, parallelism: 2 });
    expect(restored.keyCounts[0]).toBe(owned.length);
    // A match for a restored padded row retracts the padding; the restored association counts.
    const k = owned.find((x) => x !== 1) ?? owned[0]!;
    restored.process(batch(['+I', k, 7]), 1);
    const out = h.take();
    expect(out[0]).toMatch(/^-D\[/);
    expect(out[1]).toMatch(/^\+I\[/);
  });
});
