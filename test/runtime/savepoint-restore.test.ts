import { mkdirSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRestore } from '../../src/checkpoint/resolve-restore.js';
import { stateFileName } from '../../src/checkpoint/layout.js';
import { isWeirError } from '../../src/errors.js';
import { startJob } from '../../src/job/job.js';
import { expectedSums, jobOptions, materialize, sortedIds } from './helpers/graph.js';
import { keyedJob, passJob, runningUntil, sumRows, useTempDirs, waitFor } from './helpers/fixtures.js';
import { allIds, prefixCounts } from './helpers/sequence-source.js';
import { SinkRecorder } from './helpers/test-sink.js';

const dir = useTempDirs();

describe('stop, savepoints and restore', () => {
  it('stop with a savepoint, then restore from it, continues exactly', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 2, rowsPerSplit: 3000, batchSize: 50, delayMs: 1 };
    const job = startJob(passJob('sp', rec, src, 2), jobOptions(d, { intervalMs: 20 }));
    await runningUntil(job, () => job.status().rowsOut > 500);
    const outcome = await job.stop({ savepoint: true });
    expect(outcome.state).toBe('STOPPED');
    expect(job.status().state).toBe('STOPPED');
    const sp = outcome.lastCheckpoint!;
    expect(sp.kind).toBe('savepoint');
    expect(sp.path).toBe(join(d, 'sp', 'savepoints', `${(await readdir(join(d, 'sp', 'savepoints')))[0]}`));
    const firstRun = rec.committed.length;
    expect(firstRun).toBeGreaterThan(0);
    expect(firstRun).toBeLessThan(6000);

    const again = startJob(passJob('sp', rec, src, 2), jobOptions(d, { intervalMs: 20 }, { restore: { path: sp.path, allowNonRestoredState: false } }));
    expect((await again.done).state).toBe('FINISHED');
    expect(rec.recoverCalls.at(-1)!.restoredId).toBe(sp.id);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
    // ids continue after the savepoint's id
    expect(again.status().lastCheckpoint!.id).toBeGreaterThan(sp.id);
  });

  it('stop without a savepoint takes a final checkpoint that `latest` resumes from', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 2, rowsPerSplit: 2000, batchSize: 50, delayMs: 1 };
    const job = startJob(keyedJob('stop', rec, src, { source: 2, sum: 2, sink: 2 }), jobOptions(d));
    await runningUntil(job, () => job.status().rowsIn > 400);
    const outcome = await job.stop({ savepoint: false });
    expect(outcome.lastCheckpoint!.kind).toBe('checkpoint');
    const latest = await resolveRestore(d, 'stop', 'latest');
    expect(latest!.metadata.checkpointId).toBe(outcome.lastCheckpoint!.id);
    expect(latest!.metadata.final).toBe(true);
    const again = startJob(
      keyedJob('stop', rec, src, { source: 2, sum: 2, sink: 2 }),
      jobOptions(d, {}, { restore: { path: 'latest', allowNonRestoredState: false } }),
    );
    expect((await again.done).state).toBe('FINISHED');
    expect(materialize(sumRows(rec))).toEqual(expectedSums(allIds(src)));
  });

  it('restoring with a different parallelism keeps keyed state and sink committables', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 4, rowsPerSplit: 1500, batchSize: 50, delayMs: 1 };
    // no periodic checkpoints: the savepoint is the only commit point of the first run
    const job = startJob(keyedJob('rescale', rec, src, { source: 2, sum: 2, sink: 3 }), jobOptions(d));
    await runningUntil(job, () => job.status().rowsIn > 1500);
    const sp = await job.triggerSavepoint('half');
    expect(sp.path).toBe(join(d, 'rescale', 'savepoints', 'half'));
    await job.cancel();
    expect((await job.done).state).toBe('CANCELED');
    expect(rec.commitLog.every((c) => c.txnId <= sp.id)).toBe(true);
    const partial = materialize(sumRows(rec));
    expect(partial.size).toBe(10);
    expect(partial).not.toEqual(expectedSums(allIds(src)));

    const recoverFrom = rec.recoverCalls.length;
    const again = startJob(
      keyedJob('rescale', rec, src, { source: 3, sum: 3, sink: 2 }),
      jobOptions(d, { intervalMs: 15 }, { restore: { path: sp.path, allowNonRestoredState: false } }),
    );
    expect((await again.done).state).toBe('FINISHED');
    expect(materialize(sumRows(rec))).toEqual(expectedSums(allIds(src)));
    // committables of the 3 old sink subtasks went to the 2 new ones (old j -> new j % 2)
    const calls = rec.recoverCalls.slice(recoverFrom).sort((a, b) => a.subtask - b.subtask);
    expect(calls.map((c) => c.restored.map((x) => x.subtask).sort())).toEqual([[0, 2], [1]]);
    expect(calls.every((c) => c.restoredId === sp.id)).toBe(true);
  });

  it('a savepoint name that exists is refused and the job runs on', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 2, rowsPerSplit: 3000, batchSize: 50, delayMs: 1 };
    const job = startJob(passJob('spname', rec, src, 2), jobOptions(d));
    await runningUntil(job, () => job.status().rowsOut > 200);
    await job.triggerSavepoint('v1');
    const err = await job.triggerSavepoint('v1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isWeirError(err) && err.code).toBe('SAVEPOINT_EXISTS');
    await expect(job.triggerSavepoint('../x')).rejects.toThrow(/invalid savepoint name/);
    expect((await job.done).state).toBe('FINISHED');
    expect(await readdir(join(d, 'spname', 'savepoints'))).toEqual(['v1']);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
  });

  it('when the final checkpoint of a stop fails, stop rejects and the job keeps running', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    // The stop's savepoint fails for certain, not by a timeout: when the sink pre-commits at its
    // barrier (transaction 1: no periodic checkpoints before), a folder takes the place of the sink's
    // state file, so writing the state fails and the coordinator aborts the checkpoint.
    rec.onPreCommit = (txnId) => {
      if (txnId !== 1) return;
      const savepoints = join(d, 'stopfail', 'savepoints');
      const [name] = readdirSync(savepoints);
      mkdirSync(join(savepoints, name, stateFileName('sink', 0)));
    };
    // Unbounded: the job ends only when a stop succeeds.
    const src = { splits: 2, rowsPerSplit: Infinity, batchSize: 50, delayMs: 1 };
    const job = startJob(passJob('stopfail', rec, src, 2, 1), jobOptions(d));
    await runningUntil(job, () => job.status().rowsOut > 200);
    const err = await job.stop({ savepoint: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isWeirError(err) && err.code).toBe('CHECKPOINT_ABORTED');
    expect(job.status().state).toBe('RUNNING');
    expect(job.status().checkpointsFailed).toBe(1);
    // The aborted savepoint's folder is removed (asynchronously, after its writes settled).
    await waitFor(() => readdirSync(join(d, 'stopfail', 'savepoints')).length === 0);
    // The sources resumed: rows flow again, then a second stop succeeds.
    const before = job.status().rowsOut;
    await runningUntil(job, () => job.status().rowsOut > before + 200);
    const outcome = await job.stop({ savepoint: false });
    expect(outcome.state).toBe('STOPPED');
    expect(job.status().checkpointsFailed).toBe(1);
    // Transaction 1, pre-committed at the failed savepoint, was committed by the final checkpoint;
    // every row up to the final barrier was committed once.
    expect(rec.commitLog.map((c) => c.txnId)).toContain(1);
    const perSplit = prefixCounts(src, sortedIds(rec.committed));
    expect(perSplit.reduce((a, n) => a + n, 0)).toBe(rec.committed.length);
    expect(rec.committed.length).toBeGreaterThan(before);
  });
});
