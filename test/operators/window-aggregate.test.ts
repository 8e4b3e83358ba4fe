import { describe, expect, it } from 'vitest';
import { resolveAggregate } from '../../src/expr/aggregates.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { type, type Schema, type SqlType } from '../../src/model/types.js';
import type { AggregateSpec } from '../../src/runtime/operators/keyed-aggregate.js';
import { WindowAggregateOperator, type WindowAggregateConfig, type WindowShape } from '../../src/runtime/operators/window-aggregate.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { batch, harness, opened } from './harness.js';

const INT = type('INT');
const STR = type('STRING');
const TS = type('TIMESTAMP', false, 3);
const col = (index: number, t: SqlType = INT): BoundExpr => ({ kind: 'input', index, type: t });

function agg(name: string, arg?: BoundExpr): AggregateSpec {
  const fn = resolveAggregate({ name, distinct: false, star: arg === undefined }, arg ? [arg.type] : [], { retractable: false });
  return { fn, args: arg ? [arg] : [] };
}

/** Input (k STRING, v INT, ts TIMESTAMP(3)). */
const schema: Schema = {
  fields: [
    { name: 'k', type: STR },
    { name: 'v', type: INT },
    { name: 'ts', type: TS },
  ],
};

function config(window: WindowShape): WindowAggregateConfig {
  return {
    timeCol: 2,
    window,
    groups: [{ kind: 'key', index: 0 }, { kind: 'window_start' }, { kind: 'window_end' }, { kind: 'window_time' }],
    aggs: [agg('COUNT'), agg('SUM', col(1))],
  };
}

const TUMBLE_10: WindowShape = { kind: 'TUMBLE', size: 10, slide: 10 };

async function tumble(opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([schema], opts);
  const op = await opened(new WindowAggregateOperator(config(TUMBLE_10)), h);
  return { h, op };
}

describe('WindowAggregateOperator', () => {
  it('emits each tumbling window once, when the watermark reaches window_end - 1, then forwards the watermark', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 0], ['+I', 'a', 2, 9], ['+I', 'b', 5, 3], ['+I', 'a', 7, 10]), 0);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 8);
    expect(h.take()).toEqual([]);
    h.advanceWatermark(op, 9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 2, 3]', '+I[b, 0, 10, 9, 1, 5]']);
    expect(h.watermarks).toEqual([8, 9]);
    op.onWatermark(100);
    expect(h.take()).toEqual(['+I[a, 10, 20, 19, 1, 7]']);
    expect(op.pendingGroups).toBe(0);
  });

  it('drops and counts rows whose window has fired', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 5]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]']);
    op.process(batch(['+I', 'a', 2, 9], ['+I', 'a', 3, 0], ['+I', 'a', 4, 10]), 0);
    expect(h.counters.get('late-rows-dropped')).toBe(2);
    op.onWatermark(19);
    expect(h.take()).toEqual(['+I[a, 10, 20, 19, 1, 4]']);
  });

  it('HOP assigns a row to size / slide windows; late is decided by its first window', async () => {
    const h = harness([schema]);
    const op = await opened(new WindowAggregateOperator(config({ kind: 'HOP', size: 20, slide: 5 })), h);
    op.process(batch(['+I', 'a', 1, 12]), 0);
    op.onWatermark(1000);
    expect(h.take()).toEqual(['+I[a, -5, 15, 14, 1, 1]', '+I[a, 0, 20, 19, 1, 1]', '+I[a, 5, 25, 24, 1, 1]', '+I[a, 10, 30, 29, 1, 1]']);
    const h2 = harness([schema]);
    const op2 = await opened(new WindowAggregateOperator(config({ kind: 'HOP', size: 20, slide: 5 })), h2);
    op2.onWatermark(14);
    // Its first window [-5, 15) has fired: Flink drops the row from every window.
    op2.process(batch(['+I', 'a', 1, 12]), 0);
    expect(h2.counters.get('late-rows-dropped')).toBe(1);
    expect(op2.pendingGroups).toBe(0);
  });

  it('CUMULATE emits growing windows from the same start', async () => {
    const h = harness([schema]);
    const op = await opened(new WindowAggregateOperator(config({ kind: 'CUMULATE', size: 30, slide: 10 })), h);
    op.process(batch(['+I', 'a', 1, 5], ['+I', 'a', 2, 15], ['+I', 'a', 4, 31]), 0);
    op.onWatermark(29);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]', '+I[a, 0, 20, 19, 2, 3]', '+I[a, 0, 30, 29, 2, 3]']);
    op.onWatermark(39);
    expect(h.take()).toEqual(['+I[a, 30, 40, 39, 1, 4]']);
  });

  it('handles timestamps before 1970 and fails on a NULL time', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, -1], ['+I', 'a', 1, -10]), 0);
    op.onWatermark(0);
    expect(h.take()).toEqual(['+I[a, -10, 0, -1, 2, 2]']);
    expect(() => op.process(batch(['+I', 'a', 1, null]), 0)).toThrow(/NULL in the time column/);
  });

  it('restores pending windows and the watermark from a snapshot: nothing fires twice, late rows stay late', async () => {
    const { h, op } = await tumble();
    op.process(batch(['+I', 'a', 1, 1], ['+I', 'b', 2, 12]), 0);
    op.onWatermark(9);
    expect(h.take()).toEqual(['+I[a, 0, 10, 9, 1, 1]']);
    const snap = op.snapshotState(1).state!;
    op.process(batch(['+I', 'b', 3, 13]), 0); // after the snapshot: lost with the crash

    const r = await tumble({ restoredState: [snap] });
    r.op.process(batch(['+I', 'a', 5, 2]), 0); // window [0, 10) fired before the snapshot
    expect(r.h.counters.get('late-rows-dropped')).toBe(1);
    r.op.process(batch(['+I', 'b', 3, 13]), 0);
    r.op.onWatermark(19);
    expect(r.h.take()).toEqual(['+I[b, 10, 20, 19, 2, 5]']);
  });

  it('a restore with another parallelism keeps exactly the keys routed to the subtask', async () => {
    const { op } = await tumble();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    op.process(batch(...keys.map((k, i) => ['+I', k, i, 3])), 0);
    const snap = op.snapshotState(1).state!;
    const seen: string[] = [];
    for (let s = 0; s < 3; s++) {
      const r = await tumble({ restoredState: [snap], subtaskIndex: s, parallelism: 3 });
      r.op.onWatermark(100);
      for (const row of r.h.take()) {
        const k = /\+I\[(k\d+),/.exec(row)![1]!;
        expect(subtaskOfHash(hashRow([[k]], 0, [0]), 3)).toBe(s);
        seen.push(k);
      }
    }
    expect(seen.sort()).toEqual([...keys].sort());
  });

  it('rejects retractions (its input is insert-only by plan)', async () => {
    const { op } = await tumble();
    expect(() => op.process(batch(['-D', 'a', 1, 1]), 0)).toThrow(/retraction/);
  });
});
