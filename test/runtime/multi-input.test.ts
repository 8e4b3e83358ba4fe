import { describe, expect, it } from 'vitest';
import type { JobGraph } from '../../src/runtime/job-graph.js';
import { type RunningJob, startJob } from '../../src/job/job.js';
import type { Operator, OperatorContext } from '../../src/runtime/operator.js';
import { MAX_WATERMARK } from '../../src/runtime/watermark.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import { jobOptions } from './helpers/graph.js';
import { useTempDirs } from './helpers/fixtures.js';
import { SEQUENCE_SCHEMA, sequenceSource } from './helpers/sequence-source.js';
import { SinkRecorder, testSink } from './helpers/test-sink.js';

const dir = useTempDirs();

/** Emits each batch, then a watermark at the batch's largest id. */
function assigner(): Operator {
  let ctx!: OperatorContext;
  return {
    async open(c) {
      ctx = c;
    },
    process(batch) {
      ctx.output.emit(batch);
      ctx.output.emitWatermark(Math.max(...(batch.columns[0] as number[])));
    },
    onWatermark() {},
    snapshotState: () => ({}),
    async notifyCheckpointComplete() {},
    async close() {},
  };
}

interface UnionLog {
  rowsByInput: number[];
  events: string[];
}

function union(log: UnionLog): Operator {
  let ctx!: OperatorContext;
  return {
    async open(c) {
      ctx = c;
    },
    process(batch, input) {
      log.rowsByInput[input] += batch.size;
      ctx.output.emit(batch);
    },
    onWatermark(ts) {
      log.events.push(`${ctx.subtaskIndex}:wm:${ts === MAX_WATERMARK ? 'MAX' : ts}`);
    },
    snapshotState(id) {
      log.events.push(`${ctx.subtaskIndex}:snapshot:${id}`);
      return {};
    },
    async notifyCheckpointComplete() {},
    async close() {
      log.events.push(`${ctx.subtaskIndex}:close`);
    },
  };
}

describe('operators with several inputs', () => {
  it('feeds each input with its index, combines watermarks, and fires MAX before the final checkpoint', async () => {
    const rec = new SinkRecorder();
    const log: UnionLog = { rowsByInput: [0, 0], events: [] };
    const base = { kind: 'operator' as const, description: '', outputSchema: SEQUENCE_SCHEMA, changelogMode: 'insert-only' as const, isSink: false };
    const src = (id: number, delayMs: number) => ({
      kind: 'source' as const,
      id,
      uid: `src${id}`,
      name: `src${id}`,
      description: '',
      parallelism: 1,
      outputSchema: SEQUENCE_SCHEMA,
      changelogMode: 'insert-only' as const,
      source: sequenceSource({ splits: 1, rowsPerSplit: id === 0 ? 1000 : 600, batchSize: 50, delayMs }),
    });
    const graph: JobGraph = {
      jobName: 'union',
      fingerprint: 'u',
      vertices: [
        src(0, 0),
        src(1, 2),
        { ...base, id: 2, uid: 'wa', name: 'wa', parallelism: 1, createOperator: assigner },
        { ...base, id: 3, uid: 'wb', name: 'wb', parallelism: 1, createOperator: assigner },
        { ...base, id: 4, uid: 'union', name: 'union', parallelism: 2, createOperator: () => union(log) },
        { ...base, id: 5, uid: 'sink', name: 'sink', parallelism: 1, createOperator: () => createSinkOperator(testSink(rec), []), isSink: true },
      ],
      edges: [
        { source: 0, target: 2, targetInput: 0, partitioning: { kind: 'forward' } },
        { source: 1, target: 3, targetInput: 0, partitioning: { kind: 'forward' } },
        { source: 2, target: 4, targetInput: 0, partitioning: { kind: 'rebalance' } },
        { source: 3, target: 4, targetInput: 1, partitioning: { kind: 'rebalance' } },
        { source: 4, target: 5, targetInput: 0, partitioning: { kind: 'rebalance' } },
      ],
    };
    const job = startJob(graph, jobOptions(await dir(), { intervalMs: 10 }));
    const outcome = await job.done;
    expect(outcome.state).toBe('FINISHED');
    expect(log.rowsByInput).toEqual([1000, 600]);
    expect(rec.committed).toHaveLength(1600);
    const finalId = outcome.lastCheckpoint!.id;
    for (const s of [0, 1]) {
      const mine = log.events.filter((e) => e.startsWith(`${s}:`)).map((e) => e.slice(2));
      const wms = mine.filter((e) => e.startsWith('wm:')).map((e) => e.slice(3));
      const numeric = wms.filter((w) => w !== 'MAX').map(Number);
      // the slower input (max id 599) holds the combined watermark back
      expect(numeric.every((w, i) => w <= 599 && (i === 0 || w > numeric[i - 1]))).toBe(true);
      expect(wms.at(-1)).toBe('MAX');
      expect(mine.indexOf('wm:MAX')).toBeLessThan(mine.indexOf(`snapshot:${finalId}`));
      expect(mine.at(-1)).toBe('close');
    }
  });

  it('a diamond (one source feeding both inputs of an operator) aligns without deadlock', async () => {
    let job: RunningJob | undefined;
    const rec = new SinkRecorder();
    const log: UnionLog = { rowsByInput: [0, 0], events: [] };
    const op = (id: number, uid: string, parallelism: number, createOperator: () => Operator, isSink = false) => ({
      kind: 'operator' as const,
      id,
      uid,
      name: uid,
      description: '',
      parallelism,
      outputSchema: SEQUENCE_SCHEMA,
      changelogMode: 'insert-only' as const,
      isSink,
      createOperator,
    });
    const graph: JobGraph = {
      jobName: 'diamond',
      fingerprint: 'd',
      vertices: [
        {
          kind: 'source',
          id: 0,
          uid: 'src',
          name: 'src',
          description: '',
          parallelism: 2,
          outputSchema: SEQUENCE_SCHEMA,
          changelogMode: 'insert-only',
          // The second half waits for two completed checkpoints (however fast the first half ran).
          source: sequenceSource({
            splits: 2,
            rowsPerSplit: 20000,
            batchSize: 100,
            gate: (_s, offset) => offset < 10_000 || (job?.status().checkpointsCompleted ?? 0) >= 2,
          }),
        },
        op(1, 'a', 2, assigner),
        op(2, 'b', 1, assigner),
        op(3, 'join', 2, () => union(log)),
        op(4, 'sink', 2, () => createSinkOperator(testSink(rec), []), true),
      ],
      edges: [
        { source: 0, target: 1, targetInput: 0, partitioning: { kind: 'forward' } },
        { source: 0, target: 2, targetInput: 0, partitioning: { kind: 'rebalance' } },
        { source: 1, target: 3, targetInput: 0, partitioning: { kind: 'hash', keys: [1] } },
        { source: 2, target: 3, targetInput: 1, partitioning: { kind: 'hash', keys: [1] } },
        { source: 3, target: 4, targetInput: 0, partitioning: { kind: 'forward' } },
      ],
    };
    job = startJob(graph, jobOptions(await dir(), { intervalMs: 2 }));
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().checkpointsCompleted).toBeGreaterThan(1);
    expect(log.rowsByInput).toEqual([40000, 40000]);
    expect(rec.committed).toHaveLength(80000);
  });
});
