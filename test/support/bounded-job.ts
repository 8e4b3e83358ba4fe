/**
 * The "run a bounded SQL job" block of the end-to-end tests in one place: plan the script's
 * INSERTs as one job, start it with exactly-once checkpointing (interval 0: only the final
 * checkpoint) and no restarts, wait for it to end and check that it FINISHED.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import '../../connectors/index.js';
import { type JobOutcome, startJob } from '../../src/job/job.js';
import type { JobStatus } from '../../src/job/job-status.js';
import { silentLogger } from '../../src/log.js';
import { planJob } from '../../src/plan/physical.js';
import { load } from '../plan/helpers.js';
import { tempDir } from './temp-dirs.js';

export interface BoundedJobOptions {
  /** The job's name (it names the checkpoint folder, and sinks use it in transaction ids). */
  readonly jobName: string;
  readonly parallelism: number;
  /** Where the job checkpoints; a fresh temp folder (removed after the test file) by default. */
  readonly checkpointDir?: string;
}

/**
 * Runs `sql` (CREATE TABLE / VIEW statements and the INSERTs to run, as one statement set) as a
 * bounded job to its end. Fails the test, with the outcome, unless the job FINISHED. Returns the
 * outcome and the job's final status (its counters, rows in and out).
 */
export async function runBoundedJob(sql: string, o: BoundedJobOptions): Promise<{ outcome: JobOutcome; status: JobStatus }> {
  const { catalog, inserts } = load(sql);
  const job = startJob(planJob(inserts, catalog, { jobName: o.jobName, parallelism: o.parallelism }), {
    checkpointDir: o.checkpointDir ?? join(tempDir('bounded-job'), 'chk'),
    checkpointing: { intervalMs: 0, mode: 'EXACTLY_ONCE', timeoutMs: 60_000, minPauseMs: 0, numRetained: 1 },
    restartStrategy: { type: 'none' },
    log: silentLogger,
  });
  const outcome = await job.done;
  expect(outcome.state, JSON.stringify(outcome)).toBe('FINISHED');
  return { outcome, status: job.status() };
}
