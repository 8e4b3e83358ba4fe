import { describe, expect, it } from 'vitest';
import { externalError, userError } from '../../src/errors.js';
import { startJob } from '../../src/job/job.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import { expectedSums, jobOptions, materialize, pipeline, sortedIds } from './helpers/graph.js';
import { keyedJob, passJob, sumRows, useTempDirs } from './helpers/fixtures.js';
import { SEQUENCE_SCHEMA, allIds, sequenceSource } from './helpers/sequence-source.js';
import { failingOperator } from './helpers/test-operators.js';
import { SinkRecorder, testSink } from './helpers/test-sink.js';

const dir = useTempDirs();
const restart = { restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 5 } } as const;

/** A source gate: rows from `offset` on wait until the sink committed `commits` transactions. */
const afterCommits = (rec: SinkRecorder, commits: number, offset: number) => (_split: number, at: number) => at < offset || rec.commitLog.length >= commits;

describe('exactly-once across failures', () => {
  it('a failing sink write restarts from the latest checkpoint without loss or duplicates (pass-through)', async () => {
    const rec = new SinkRecorder();
    rec.failOnWrite = 60;
    rec.failAfterCommits = 2;
    // The second half waits for the commits the failure needs, so it always happens mid-run.
    const src = { splits: 2, rowsPerSplit: 4000, batchSize: 50, delayMs: 1, gate: afterCommits(rec, 2, 2000) };
    const job = startJob(passJob('fail-pass', rec, src, 2), jobOptions(await dir(), { intervalMs: 10 }, restart));
    const outcome = await job.done;
    expect(outcome.state).toBe('FINISHED');
    expect(job.status().restarts).toBe(1);
    // the restart restored a real checkpoint, not a fresh start
    expect(rec.recoverCalls.some((c) => c.restoredId > 0)).toBe(true);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
  });

  it('a failing sink write restarts a keyed job with its keyed state (same result as uninterrupted)', async () => {
    const rec = new SinkRecorder();
    rec.failOnWrite = 100;
    rec.failAfterCommits = 2;
    const src = { splits: 3, rowsPerSplit: 3000, batchSize: 50, delayMs: 1, gate: afterCommits(rec, 2, 1500) };
    const job = startJob(keyedJob('fail-keyed', rec, src, { source: 3, sum: 2, sink: 2 }), jobOptions(await dir(), { intervalMs: 10 }, restart));
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().restarts).toBe(1);
    expect(rec.recoverCalls.some((c) => c.restoredId > 0)).toBe(true);
    expect(materialize(sumRows(rec))).toEqual(expectedSums(allIds(src)));
    // every transaction committed once
    expect(new Set(rec.commitLog.map((c) => c.key)).size).toBe(rec.commitLog.length);
  });

  it('a failure before any checkpoint restarts from scratch', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    rec.failOnWrite = 5;
    const src = { splits: 2, rowsPerSplit: 1000, batchSize: 50 };
    const job = startJob(passJob('fresh', rec, src, 2), jobOptions(d, {}, restart));
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().restarts).toBe(1);
    expect(rec.recoverCalls.map((c) => c.restoredId)).toEqual([0, 0, 0, 0]);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
  });

  it('an operator error is retried; when attempts run out done rejects with the original error', async () => {
    const rec = new SinkRecorder();
    const error = externalError('POSTGRES', 'operator exploded');
    const state = { batches: 0, failAt: 5, error };
    const graph = pipeline('fail-op', [
      { kind: 'source', uid: 'src', parallelism: 1, source: sequenceSource({ splits: 1, rowsPerSplit: 1000, batchSize: 10 }), schema: SEQUENCE_SCHEMA },
      // fails on the 5th batch of every attempt
      {
        kind: 'operator',
        uid: 'bad',
        parallelism: 1,
        create: () => {
          state.batches = 0;
          return failingOperator(state);
        },
        schema: SEQUENCE_SCHEMA,
        partitioning: { kind: 'forward' },
      },
      {
        kind: 'operator',
        uid: 'sink',
        parallelism: 1,
        create: () => createSinkOperator(testSink(rec), []),
        schema: SEQUENCE_SCHEMA,
        partitioning: { kind: 'forward' },
        isSink: true,
      },
    ]);
    const job = startJob(graph, jobOptions(await dir(), {}, { restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 1 } }));
    await expect(job.done).rejects.toBe(error);
    expect(job.status().restarts).toBe(2);
    expect(job.status().state).toBe('FAILED');
    expect(rec.committed).toEqual([]);
  });

  it('a user error fails the job at once, without restarts', async () => {
    const rec = new SinkRecorder();
    const error = userError('SQL_INVALID', 'you did something wrong');
    const graph = pipeline('fail-user', [
      { kind: 'source', uid: 'src', parallelism: 1, source: sequenceSource({ splits: 1, rowsPerSplit: 1000, batchSize: 10 }), schema: SEQUENCE_SCHEMA },
      {
        kind: 'operator',
        uid: 'bad',
        parallelism: 1,
        create: () => failingOperator({ batches: 0, failAt: 3, error }),
        schema: SEQUENCE_SCHEMA,
        partitioning: { kind: 'forward' },
      },
      {
        kind: 'operator',
        uid: 'sink',
        parallelism: 1,
        create: () => createSinkOperator(testSink(rec), []),
        schema: SEQUENCE_SCHEMA,
        partitioning: { kind: 'forward' },
        isSink: true,
      },
    ]);
    const job = startJob(graph, jobOptions(await dir(), {}, restart));
    await expect(job.done).rejects.toBe(error);
    expect(job.status().restarts).toBe(0);
  });
});

describe('AT_LEAST_ONCE', () => {
  it('runs without alignment and delivers every row', async () => {
    const rec = new SinkRecorder();
    // The second half waits for two completed checkpoints (the single sink commits once per checkpoint).
    const src = { splits: 2, rowsPerSplit: 2000, batchSize: 50, delayMs: 1, gate: afterCommits(rec, 2, 1000) };
    const job = startJob(keyedJob('alo', rec, src, { source: 2, sum: 2, sink: 1 }), jobOptions(await dir(), { intervalMs: 10, mode: 'AT_LEAST_ONCE' }));
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().checkpointsCompleted).toBeGreaterThan(1);
    expect(materialize(sumRows(rec))).toEqual(expectedSums(allIds(src)));
  });

  it('after a failure every row arrives at least once', async () => {
    const rec = new SinkRecorder();
    rec.failOnWrite = 50;
    rec.failAfterCommits = 2;
    const src = { splits: 2, rowsPerSplit: 3000, batchSize: 50, delayMs: 1, gate: afterCommits(rec, 2, 1500) };
    const job = startJob(passJob('alo-fail', rec, src, 2), jobOptions(await dir(), { intervalMs: 10, mode: 'AT_LEAST_ONCE' }, restart));
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().restarts).toBe(1);
    expect([...new Set(sortedIds(rec.committed))]).toEqual(allIds(src));
  });
});
