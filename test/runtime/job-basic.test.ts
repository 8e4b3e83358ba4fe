import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { startJob } from '../../src/job/job.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import { expectedSums, jobOptions, materialize, pipeline, sortedIds, tempDir } from './helpers/graph.js';
import { SEQUENCE_SCHEMA, allIds, sequenceSource } from './helpers/sequence-source.js';
import { SUM_SCHEMA, keyedSum, passThrough } from './helpers/test-operators.js';
import { SinkRecorder, testSink } from './helpers/test-sink.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function keyedJob(p: number, rec: SinkRecorder, src = { splits: 3, rowsPerSplit: 2000, batchSize: 100 }) {
  return pipeline('keyed', [
    { kind: 'source', uid: 'src', parallelism: p, source: sequenceSource(src), schema: SEQUENCE_SCHEMA },
    { kind: 'operator', uid: 'sum', parallelism: p, create: () => keyedSum(), schema: SUM_SCHEMA, partitioning: { kind: 'hash', keys: [1] } },
    {
      kind: 'operator',
      uid: 'sink',
      parallelism: p,
      create: () => createSinkOperator(testSink(rec), [0]),
      schema: SUM_SCHEMA,
      partitioning: { kind: 'hash', keys: [0] },
      isSink: true,
    },
  ]);
}

describe('bounded jobs', () => {
  it('a 2-stage keyed job gives the same output with parallelism 1 and 3', async () => {
    const src = { splits: 3, rowsPerSplit: 2000, batchSize: 100 };
    const results = [];
    for (const p of [1, 3]) {
      const rec = new SinkRecorder();
      const job = startJob(keyedJob(p, rec, src), jobOptions(await dir()));
      const outcome = await job.done;
      expect(outcome.state).toBe('FINISHED');
      results.push(materialize(rec.committed.map((r) => [r[0], r[1], r[2]])));
      expect(job.status().rowsIn).toBe(6000);
    }
    expect(results[0]).toEqual(expectedSums(allIds(src)));
    expect(results[1]).toEqual(results[0]);
  });

  it('takes a final checkpoint and commits everything only then (interval 0)', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 2, rowsPerSplit: 500, batchSize: 64 };
    const graph = pipeline('bounded', [
      { kind: 'source', uid: 'src', parallelism: 2, source: sequenceSource(src), schema: SEQUENCE_SCHEMA },
      { kind: 'operator', uid: 'pass', parallelism: 2, create: passThrough, schema: SEQUENCE_SCHEMA, partitioning: { kind: 'forward' } },
      {
        kind: 'operator',
        uid: 'sink',
        parallelism: 1,
        create: () => createSinkOperator(testSink(rec), []),
        schema: SEQUENCE_SCHEMA,
        partitioning: { kind: 'rebalance' },
        isSink: true,
      },
    ]);
    const job = startJob(graph, jobOptions(d));
    const outcome = await job.done;
    expect(outcome.state).toBe('FINISHED');
    expect(outcome.lastCheckpoint?.id).toBe(1);
    expect(rec.commitLog.map((c) => c.txnId)).toEqual([1]);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
    const meta = await readMetadata(outcome.lastCheckpoint!.path);
    expect(meta.final).toBe(true);
    expect(meta.sources.src.positions.every((p) => p.finished)).toBe(true);
    expect(meta.operators.sink.subtasks[0].committables).toHaveLength(1);
    expect(await readdir(join(d, 'bounded'))).toEqual(['chk-1']);
    expect(job.status().state).toBe('FINISHED');
    expect(job.status().rowsOut).toBe(1000);
  });
});
