/**
 * The job's restart loop under the exponential-delay strategy (in process, in-memory source and
 * sink): the status while a restart waits, a stop while restarting, and which failures end the job
 * although the strategy has no attempt limit.
 */
import { describe, expect, it } from 'vitest';
import { externalError } from '../../src/errors.js';
import type { RestartStrategy } from '../../src/config/restart-config.js';
import { INTERNAL_RESTART_LIMIT } from '../../src/job/restart-strategy.js';
import { startJob, type RunningJob } from '../../src/job/job.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import { jobOptions, pipeline } from '../runtime/helpers/graph.js';
import { useTempDirs } from '../runtime/helpers/fixtures.js';
import { SEQUENCE_SCHEMA, sequenceSource } from '../runtime/helpers/sequence-source.js';
import { failingOperator } from '../runtime/helpers/test-operators.js';
import { SinkRecorder, testSink } from '../runtime/helpers/test-sink.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';

const dir = useTempDirs();

const exponential = (backoffMs: number): RestartStrategy => ({
  type: 'exponential-delay',
  initialBackoffMs: backoffMs,
  maxBackoffMs: backoffMs,
  multiplier: 2,
  jitterFactor: 0,
  resetThresholdMs: 3_600_000,
  attemptsBeforeReset: Number.POSITIVE_INFINITY,
});

/** A job whose middle operator throws `error` on the 3rd batch of every attempt. */
async function failingJob(name: string, error: Error, strategy: RestartStrategy): Promise<RunningJob> {
  const rec = new SinkRecorder();
  const graph = pipeline(name, [
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
  return startJob(graph, jobOptions(await dir(), {}, { restartStrategy: strategy }));
}

async function until(cond: () => boolean): Promise<void> {
  const guard = Date.now() + HANG_GUARD_MS;
  while (!cond()) {
    if (Date.now() > guard) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the restart loop', () => {
  it('while a restart waits, status() says which attempt, when and why; a stop ends the job at once', async () => {
    // An hour's backoff: only the stop can end this wait.
    const job = await failingJob('waits', externalError('POSTGRES', 'PostgreSQL at h:5432/db: connect ECONNREFUSED'), exponential(3_600_000));
    await until(() => job.status().state === 'RESTARTING');
    const s = job.status();
    expect(s.restarts).toBe(1);
    expect(s.restart).toEqual({ attempt: 1, at: expect.any(Number), cause: 'PostgreSQL at h:5432/db: connect ECONNREFUSED' });
    expect(s.restart!.at! - Date.now()).toBeGreaterThan(3_000_000);
    const outcome = await job.stop({ savepoint: false });
    expect(outcome.state).toBe('STOPPED');
    expect(job.status().state).toBe('STOPPED');
    expect(job.status().restart).toBeUndefined();
  });

  it('retriable external errors restart without limit; the attempt count grows', async () => {
    const job = await failingJob('retries', externalError('KAFKA', 'Kafka: connection refused'), exponential(1));
    await until(() => job.status().restarts >= INTERNAL_RESTART_LIMIT + 3);
    await job.cancel();
    expect((await job.done).state).toBe('CANCELED');
  });

  it(`an internal error ends the job after ${INTERNAL_RESTART_LIMIT} restarts without a completed checkpoint`, async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const job = await failingJob('bug', bug, exponential(1));
    await expect(job.done).rejects.toBe(bug);
    expect(job.status().restarts).toBe(INTERNAL_RESTART_LIMIT);
    expect(job.status().state).toBe('FAILED');
  });

  it('a non-retriable external error ends the job at once', async () => {
    const lost = externalError('PG_COMMIT_LOST', 'rolled back outside weir', { retriable: false });
    const job = await failingJob('lost', lost, exponential(1));
    await expect(job.done).rejects.toBe(lost);
    expect(job.status().restarts).toBe(0);
  });
});
