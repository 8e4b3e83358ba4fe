import { describe, expect, it } from 'vitest';
import { keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { type as sqlType } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';
import { RowKind, insertBatch } from '../../src/model/changelog.js';
import type { JsonValue, OperatorContext } from '../../src/runtime/operator.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import { deserializeState } from '../../src/state/serde.js';
import { SinkRecorder, testSink } from '../runtime/helpers/test-sink.js';

function context(over: Partial<OperatorContext> = {}): OperatorContext {
  return {
    jobName: 'j',
    operatorUid: 'sink',
    subtaskIndex: 0,
    parallelism: 1,
    restoredState: [],
    restoredCommittables: [],
    restoredCheckpointId: 0,
    state: new HeapKeyedStateBackend({ keyGroups: keyGroupRange(0, 1), ttlMs: 0, restored: [], label: 'test' }),
    output: { emit() {}, emitWatermark() {} },
    inputSchemas: [{ fields: [{ name: 'x', type: sqlType('INT') }] }],
    log: silentLogger,
    metrics: { inc() {} },
    ...over,
  };
}

const rows = (...xs: number[]) => insertBatch([xs], xs.length);

describe('sink operator (two-phase commit driver)', () => {
  it('pre-commits on snapshot, commits on completion, in checkpoint order', async () => {
    const rec = new SinkRecorder();
    const op = createSinkOperator(testSink(rec), []);
    await op.open(context({ firstCheckpointId: 1 }));
    await op.process(rows(1, 2), 0);
    const s1 = await op.snapshotState(1);
    expect(s1.committables).toHaveLength(1);
    expect(rec.committed).toEqual([]);
    await op.process(rows(3), 0);
    const s2 = await op.snapshotState(2);
    // both pending until a checkpoint completes; the state holds them too
    expect(s2.committables).toHaveLength(2);
    expect(deserializeState<{ checkpointId: number }[]>(s2.state!).map((p) => p.checkpointId)).toEqual([1, 2]);
    await op.notifyCheckpointComplete(1);
    expect(rec.committed).toEqual([
      [RowKind.INSERT, 1],
      [RowKind.INSERT, 2],
    ]);
    await op.notifyCheckpointComplete(2);
    expect(rec.committed.map((r) => r[1])).toEqual([1, 2, 3]);
    expect(rec.begins).toEqual([1, 2, 3]);
    const s3 = await op.snapshotState(3);
    expect(s3.committables).toHaveLength(1);
    await op.close();
  });

  it('keeps the transaction of an aborted checkpoint and commits it with the next one', async () => {
    const rec = new SinkRecorder();
    const op = createSinkOperator(testSink(rec), []);
    await op.open(context());
    await op.process(rows(1), 0);
    await op.snapshotState(1);
    await op.notifyCheckpointAborted!(1);
    await op.process(rows(2), 0);
    const s2 = await op.snapshotState(2);
    expect(s2.committables).toHaveLength(2);
    await op.notifyCheckpointComplete(2);
    expect(rec.committed.map((r) => r[1])).toEqual([1, 2]);
  });

  it('recovers restored committables and begins after the restored id', async () => {
    const rec = new SinkRecorder();
    const first = createSinkOperator(testSink(rec), []);
    await first.open(context());
    await first.process(rows(7), 0);
    const snap = await first.snapshotState(5);
    // crash before notifyCheckpointComplete(5): the committable is only in the checkpoint
    const second = createSinkOperator(testSink(rec), []);
    await second.open(context({ restoredCommittables: snap.committables as JsonValue[], restoredCheckpointId: 5 }));
    expect(rec.committed.map((r) => r[1])).toEqual([7]);
    expect(rec.recoverCalls.at(-1)!.restoredId).toBe(5);
    expect(rec.begins.at(-1)).toBe(6);
  });

  it('an append-only sink rejects updates with a user error', async () => {
    const rec = new SinkRecorder();
    const op = createSinkOperator(testSink(rec, false), []);
    await op.open(context());
    const batch = { size: 1, kinds: Uint8Array.of(RowKind.UPDATE_AFTER), columns: [[1]] };
    expect(() => op.process(batch, 0)).toThrow(/append-only/);
    const upserting = createSinkOperator(testSink(rec, true), [0]);
    await upserting.open(context());
    await upserting.process(batch, 0);
  });
});
