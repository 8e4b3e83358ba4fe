import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { isWeirError } from '../../src/errors.js';
import { startJob } from '../../src/job/job.js';
import { expectedSums, jobOptions, materialize, sortedIds } from './helpers/graph.js';
import { keyedJob, passJob, runningUntil, sumRows, useTempDirs, waitFor } from './helpers/fixtures.js';
import { allIds } from './helpers/sequence-source.js';
import { SinkRecorder } from './helpers/test-sink.js';

const dir = useTempDirs();

describe('checkpoint coordination', () => {
  it('retention keeps the newest numRetained checkpoints and never deletes savepoints', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    // The second half of the input waits for 5 completed checkpoints, so there are always more
    // checkpoints than retained, however fast or slow the machine.
    let job: ReturnType<typeof startJob> | undefined;
    const gate = (_split: number, offset: number) => offset < 2000 || (job?.status().checkpointsCompleted ?? 0) >= 5;
    const src = { splits: 2, rowsPerSplit: 4000, batchSize: 25, delayMs: 1, gate };
    job = startJob(passJob('ret', rec, src, 2), jobOptions(d, { intervalMs: 5, numRetained: 2 }));
    await runningUntil(job, () => job.status().checkpointsCompleted >= 1);
    const sp = await job.triggerSavepoint();
    expect(sp.kind).toBe('savepoint');
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().checkpointsCompleted).toBeGreaterThan(4);
    const chks = (await readdir(join(d, 'ret')))
      .filter((n) => n.startsWith('chk-'))
      .map((n) => Number(n.slice(4)))
      .sort((a, b) => a - b);
    const last = job.status().lastCheckpoint!.id;
    expect(chks).toEqual([chks[0], last]);
    expect(chks[0]).toBeLessThan(last);
    expect(await readdir(join(d, 'ret', 'savepoints'))).toEqual([`savepoint-${sp.id}-${sp.path.split('-').at(-1)}`]);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
  });

  it('a checkpoint whose sink pre-commit hangs times out, is aborted, and a later one commits', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    // Checkpoint 1's pre-commit hangs until the coordinator has aborted it (not for a fixed time),
    // so the timeout always fires first; 1 s is long enough that no other checkpoint times out
    // on a loaded machine (if one did, the assertions below still hold).
    let job: ReturnType<typeof startJob> | undefined;
    rec.onPreCommit = (txnId) => (txnId === 1 ? waitFor(() => (job?.status().checkpointsFailed ?? 0) >= 1) : undefined);
    const src = { splits: 2, rowsPerSplit: 2000, batchSize: 25, delayMs: 1 };
    job = startJob(passJob('timeout', rec, src, 2, 1), jobOptions(d, { intervalMs: 20, timeoutMs: 1000 }));
    expect((await job.done).state).toBe('FINISHED');
    const st = job.status();
    expect(st.checkpointsFailed).toBeGreaterThanOrEqual(1);
    expect(st.checkpointsCompleted).toBeGreaterThanOrEqual(1);
    // the aborted checkpoint's folder is gone
    expect((await readdir(join(d, 'timeout'))).includes('chk-1')).toBe(false);
    // txn 1 was pre-committed late, kept pending, and committed by a later checkpoint
    expect(rec.commitLog.some((c) => c.txnId === 1)).toBe(true);
    expect(sortedIds(rec.committed)).toEqual(allIds(src));
  });

  it('cancel stops at once without committing', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 1, rowsPerSplit: Infinity, batchSize: 100, delayMs: 1 };
    const job = startJob(passJob('cancel', rec, src, 1), jobOptions(d));
    await runningUntil(job, () => job.status().rowsOut > 300);
    await job.cancel();
    expect(await job.done).toEqual({ state: 'CANCELED' });
    expect(rec.committed).toEqual([]);
    await expect(job.triggerSavepoint()).rejects.toThrow(/canceled/);
  });

  it('unmapped state fails with STATE_NOT_MAPPED unless allowNonRestoredState', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 2, rowsPerSplit: 2000, batchSize: 50, delayMs: 1 };
    const first = startJob(keyedJob('map', rec, src, { source: 1, sum: 1, sink: 1 }), jobOptions(d));
    await runningUntil(first, () => first.status().rowsIn > 500);
    const sp = (await first.stop({ savepoint: true })).lastCheckpoint!;
    const renamed = keyedJob('map', rec, src, { source: 1, sum: 1, sink: 1 }, 'sum-v2');
    const failing = startJob(renamed, jobOptions(d, {}, { restore: { path: sp.path, allowNonRestoredState: false } }));
    const err = await failing.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isWeirError(err) && err.code).toBe('STATE_NOT_MAPPED');
    expect((err as Error).message).toContain('checkpoint state of operator sum ');
    expect((err as Error).message).toContain('--allow-non-restored-state');
    expect(failing.status().state).toBe('FAILED');

    const before = rec.committed.length;
    const allowed = startJob(
      keyedJob('map', rec, src, { source: 1, sum: 1, sink: 1 }, 'sum-v2'),
      jobOptions(d, {}, { restore: { path: sp.path, allowNonRestoredState: true } }),
    );
    expect((await allowed.done).state).toBe('FINISHED');
    // sources resume at the savepoint; the renamed SUM starts empty and sums only the rest
    const meta = await readMetadata(sp.path);
    const rest = meta.sources.src.positions.flatMap((p) => {
      const split = Number(p.split.id.slice(1));
      return allIds(src).slice(split * 2000 + (p.position as number), (split + 1) * 2000);
    });
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.length).toBeLessThan(4000);
    expect(materialize(sumRows(rec).slice(before))).toEqual(expectedSums(rest));
  });
});
