import { BatchBuilder, type ChangeBatch, RowKind, isAccumulate } from '../../../src/model/changelog.js';
import type { Operator, OperatorContext, SnapshotResult } from '../../../src/runtime/operator.js';
import { hashValue } from '../../../src/model/partition.js';
import type { ValueState } from '../../../src/state/state-backend.js';
import { deserializeState, serializeState } from '../../../src/state/serde.js';
import { type Schema, type as sqlType } from '../../../src/model/types.js';

export function passThrough(): Operator {
  let ctx!: OperatorContext;
  return {
    async open(c) {
      ctx = c;
    },
    process(batch) {
      ctx.output.emit(batch);
    },
    onWatermark() {},
    snapshotState() {
      return {};
    },
    async notifyCheckpointComplete() {},
    async close() {},
  };
}

export const SUM_SCHEMA: Schema = {
  fields: [
    { name: 'k', type: sqlType('INT', false) },
    { name: 's', type: sqlType('BIGINT', false) },
  ],
};

/** SUM(v) GROUP BY k with keyed state from the state layer; emits +I / -U,+U per changed key and batch. */
export function keyedSum(keyCol = 1, valueCol = 2): Operator {
  let ctx!: OperatorContext;
  let state!: ValueState<number, number>;
  const sums = {
    get: (k: number) => state.get(k, hashValue(k)),
    set: (k: number, v: number) => state.put(k, hashValue(k), v),
  };
  const out = new BatchBuilder(2);
  return {
    async open(c) {
      ctx = c;
      state = c.state.valueState<number, number>('sums');
    },
    process(batch: ChangeBatch) {
      const changed = new Map<number, number | undefined>();
      const keys = batch.columns[keyCol];
      const vals = batch.columns[valueCol];
      for (let i = 0; i < batch.size; i++) {
        const k = keys[i] as number;
        const old = sums.get(k);
        if (!changed.has(k)) changed.set(k, old);
        const v = vals[i] as number;
        sums.set(k, (old ?? 0) + (isAccumulate(batch.kinds[i]) ? v : -v));
      }
      for (const [k, before] of changed) {
        if (before !== undefined) out.addRow(RowKind.UPDATE_BEFORE, [k, before]);
        out.addRow(before === undefined ? RowKind.INSERT : RowKind.UPDATE_AFTER, [k, sums.get(k)]);
      }
      const b = out.take();
      if (b) ctx.output.emit(b);
    },
    onWatermark() {},
    snapshotState(): SnapshotResult {
      return {};
    },
    async notifyCheckpointComplete() {},
    async close() {},
  };
}

/** Counts rows; state = the count. Records every snapshot in `snapshots` (checkpoint id -> count). */
export function counter(snapshots?: Map<number, number>): Operator {
  let ctx!: OperatorContext;
  let count = 0;
  return {
    async open(c) {
      ctx = c;
      for (const s of c.restoredState) count += deserializeState<number>(s);
    },
    process(batch) {
      count += batch.size;
      ctx.output.emit(batch);
    },
    onWatermark() {},
    snapshotState(id) {
      snapshots?.set(id, count);
      return { state: serializeState(count) };
    },
    async notifyCheckpointComplete() {},
    async close() {},
  };
}

/** Throws from process() on the n-th batch it sees (counted across instances through `state`). */
export function failingOperator(state: { batches: number; failAt: number; error: Error }): Operator {
  let ctx!: OperatorContext;
  return {
    async open(c) {
      ctx = c;
    },
    process(batch) {
      if (++state.batches === state.failAt) throw state.error;
      ctx.output.emit(batch);
    },
    onWatermark() {},
    snapshotState() {
      return {};
    },
    async notifyCheckpointComplete() {},
    async close() {},
  };
}
