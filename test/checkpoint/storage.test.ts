import { mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../../src/checkpoint/metadata.js';
import { applyRetention } from '../../src/checkpoint/retention.js';
import { listCheckpoints, maxUsedCheckpointId } from '../../src/checkpoint/checkpoint-list.js';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { resolveRestore } from '../../src/checkpoint/resolve-restore.js';
import { stateFileName } from '../../src/checkpoint/layout.js';
import { isWeirError } from '../../src/errors.js';
import { startJob } from '../../src/job/job.js';
import { jobOptions } from '../runtime/helpers/graph.js';
import { keyedJob, useTempDirs } from '../runtime/helpers/fixtures.js';
import { SinkRecorder } from '../runtime/helpers/test-sink.js';

const dir = useTempDirs();

/** Runs a keyed job that leaves several completed checkpoints with keyed state. */
async function jobWithCheckpoints(d: string, name = 'store', rec = new SinkRecorder()): Promise<number[]> {
  // The second half of the input waits for 3 completed checkpoints, so there are at least 3
  // however slow the machine (on a loaded one the whole input used to fit between two).
  let job: ReturnType<typeof startJob> | undefined;
  const gate = (_split: number, offset: number) => offset < 1500 || (job?.status().checkpointsCompleted ?? 0) >= 3;
  const src = { splits: 2, rowsPerSplit: 3000, batchSize: 25, delayMs: 1, gate };
  job = startJob(keyedJob(name, rec, src, { source: 2, sum: 2, sink: 1 }), jobOptions(d, { intervalMs: 10, numRetained: 20 }));
  expect((await job.done).state).toBe('FINISHED');
  const ids = (await readdir(join(d, name))).map((n) => Number(n.slice(4))).sort((a, b) => a - b);
  expect(ids.length).toBeGreaterThanOrEqual(3);
  return ids;
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isWeirError(e)) throw new Error(`expected a WeirError, got ${String(e)}`);
  return e;
}

describe('checkpoint storage', () => {
  it('writes valid metadata with sha256 per state file and lists checkpoints newest first', async () => {
    const d = await dir();
    const ids = await jobWithCheckpoints(d);
    const list = await listCheckpoints(d, 'store');
    expect(list.map((c) => c.id)).toEqual([...ids].reverse());
    expect(list.every((c) => c.corrupt === undefined && c.kind === 'checkpoint')).toBe(true);
    const newest = list[0];
    const meta = parseMetadata(await readFile(join(newest.path, '_metadata'), 'utf8'));
    expect(meta.jobName).toBe('store');
    expect(meta.operators.sum.parallelism).toBe(2);
    const st = meta.operators.sum.subtasks[0];
    expect(st.stateFile).toBe(stateFileName('sum', 0));
    // Cut into sections (here only key groups: the keyed sum has no operator state), each with its
    // sha256, covering the file; subtask 0 of 2 owns key groups 0-63.
    let offset = 0;
    for (const [kg, at, length, sha] of st.sections!) {
      expect(kg >= 0 && kg < 64 && at === offset).toBe(true);
      expect(sha).toMatch(/^[0-9a-f]{64}$/);
      offset += length;
    }
    expect(offset).toBe(st.bytes);
    expect(newest.sizeBytes).toBe(meta.stateSize);
    expect(newest.sourcesSummary).toContain('s0@3000(done)');
    expect(await listCheckpoints(d)).toHaveLength(list.length);
    expect(await maxUsedCheckpointId(d, 'store')).toBe(ids.at(-1));
  });

  it('latest skips a corrupt state file and half-written metadata with warnings', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const ids = await jobWithCheckpoints(d, 'store', rec);
    const [n3, n2, n1] = ids.slice(-3).reverse();
    // flip a byte of the newest checkpoint's state
    const file = join(d, 'store', `chk-${n3}`, stateFileName('sum', 0));
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    let r = await resolveRestore(d, 'store', 'latest');
    expect(r!.metadata.checkpointId).toBe(n2);
    const lastKeyGroup = (await readMetadata(join(d, 'store', `chk-${n3}`))).operators.sum.subtasks[0].sections!.at(-1)![0];
    expect(r!.warnings).toEqual([
      `checkpoint chk-${n3} is corrupt (state file ${stateFileName('sum', 0)} sha256 mismatch (key group ${lastKeyGroup})); falling back to checkpoint chk-${n2}`,
      // chk-n3 had completed: its sinks may have committed it, so falling back may duplicate rows
      `checkpoint chk-${n3} was skipped but had completed, so its sinks may already have committed it: the sinks may receive duplicate rows (rows committed after checkpoint chk-${n2} are written again)`,
    ]);

    // damaged metadata of the next one: both copies (one alone is recovered from the other)
    const metaFile = join(d, 'store', `chk-${n2}`, '_metadata');
    await truncate(metaFile, 40);
    await truncate(join(d, 'store', `chk-${n2}`, '_metadata.copy'), 40);
    r = await resolveRestore(d, 'store', 'latest', { sinks: ['out (test)'] });
    expect(r!.metadata.checkpointId).toBe(n1);
    expect(r!.warnings).toHaveLength(3);
    expect(r!.warnings[1]).toMatch(new RegExp(`checkpoint chk-${n2} is corrupt \\(_metadata is not valid JSON .*; _metadata.copy is not valid JSON`));
    expect(r!.warnings[2]).toBe(
      `checkpoint chk-${n3}, checkpoint chk-${n2} were skipped but had completed, so their sinks may already have committed them: sink out (test) may receive duplicate rows (rows committed after checkpoint chk-${n1} are written again)`,
    );

    const list = await listCheckpoints(d, 'store');
    expect(
      list
        .filter((c) => c.corrupt !== undefined)
        .map((c) => c.id)
        .sort(),
    ).toEqual([n2, n3].sort());

    expect(await errorOf(resolveRestore(d, 'store', join(d, 'store', `chk-${n3}`)))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    expect(await errorOf(resolveRestore(d, 'store', metaFile))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    const missing = await errorOf(resolveRestore(d, 'store', join(d, 'store', 'chk-999')));
    expect(missing.code).toBe('CHECKPOINT_NOT_FOUND');
    expect(missing.message).toContain('chk-999');
    // relative to the job folder and via the _metadata file
    expect((await resolveRestore(d, 'store', `chk-${n1}`))!.metadata.checkpointId).toBe(n1);
    expect((await resolveRestore(d, 'store', join(d, 'store', `chk-${n1}`, '_metadata')))!.path).toBe(join(d, 'store', `chk-${n1}`));

    // a job restored from `latest` uses the fallback checkpoint
    const begins = rec.begins.length;
    const job = startJob(
      keyedJob('store', rec, { splits: 2, rowsPerSplit: 3000, batchSize: 25 }, { source: 2, sum: 2, sink: 1 }),
      jobOptions(d, {}, { restore: { path: 'latest', allowNonRestoredState: false } }),
    );
    expect((await job.done).state).toBe('FINISHED');
    expect(job.status().lastCheckpoint!.id).toBe(ids.at(-1)! + 1);
    // the sink's first transaction takes the first new id, never an id whose commit may exist
    expect(rec.begins[begins]).toBe(ids.at(-1)! + 1);
    expect(rec.recoverCalls.at(-1)!.restoredId).toBe(n1);
  });

  it('a missing state file, or a folder without _metadata, is reported', async () => {
    const d = await dir();
    const ids = await jobWithCheckpoints(d);
    const last = ids.at(-1)!;
    const folder = join(d, 'store', `chk-${last}`);
    const { rm } = await import('node:fs/promises');
    await rm(join(folder, stateFileName('sum', 1)));
    await mkdir(join(d, 'store', `chk-${last + 1}`));
    const list = await listCheckpoints(d, 'store');
    expect(list.find((c) => c.id === last)!.corrupt).toBe(`state file ${stateFileName('sum', 1)} is missing`);
    expect(list.find((c) => c.id === last + 1)!.corrupt).toContain('no _metadata');
    expect(await errorOf(readMetadata(join(d, 'store', `chk-${last + 1}`)))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    const r = await resolveRestore(d, 'store', 'latest');
    expect(r!.metadata.checkpointId).toBe(ids.at(-2));
    expect(await resolveRestore(d, 'nothing-here', 'latest')).toBeUndefined();
  });

  it('retention deletes only chk folders older than the retained ones', async () => {
    const d = await dir();
    const ids = await jobWithCheckpoints(d);
    await mkdir(join(d, 'store', 'savepoints', 'keep'), { recursive: true });
    const deleted = await applyRetention(d, 'store', 2);
    expect(deleted).toHaveLength(ids.length - 2);
    expect((await readdir(join(d, 'store'))).sort()).toEqual([...ids.slice(-2).map((i) => `chk-${i}`), 'savepoints'].sort());
  });

  it('state file names are safe for any uid', () => {
    expect(stateFileName('sum', 3)).toBe('sum-3.state');
    const odd = stateFileName('Sink: out/../x', 0);
    expect(odd).toMatch(/^[A-Za-z0-9._-]+-0\.state$/);
    expect(odd).not.toBe(stateFileName('Sink: out/../y', 0));
  });
});
