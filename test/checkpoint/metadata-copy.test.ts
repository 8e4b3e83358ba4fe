import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/checkpoint/checkpoint-list.js';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { resolveRestore } from '../../src/checkpoint/resolve-restore.js';
import { stateFileName } from '../../src/checkpoint/layout.js';
import { isWeirError } from '../../src/errors.js';
import { startJob } from '../../src/job/job.js';
import { jobOptions, sortedIds } from '../runtime/helpers/graph.js';
import { keyedJob, passJob, runningUntil, useTempDirs } from '../runtime/helpers/fixtures.js';
import { SinkRecorder } from '../runtime/helpers/test-sink.js';

/**
 * `_metadata` protects itself (a checksum over its canonical content) and has a second copy,
 * `_metadata.copy`, written the same atomic way: an edit that keeps the file valid JSON is
 * detected, and the copy restores the checkpoint exactly.
 */
const dir = useTempDirs();

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** sha256 of the JSON with sorted keys, computed here rather than trusting the code under test. */
function independentChecksum(raw: Record<string, Json>): string {
  const sortKeys = (v: Json): Json =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sortKeys(v[k])]),
          )
        : v;
  const { checksum: _c, ...rest } = raw;
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(sortKeys(rest)))
    .digest('hex')}`;
}

async function readJson(path: string): Promise<Record<string, Json>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, Json>;
}

/** Moves the first source position of a metadata file back by `by` rows, keeping it valid JSON. */
async function editPosition(path: string, by: number): Promise<void> {
  const raw = (await readJson(path)) as { sources: Record<string, { positions: { position: number }[] }> };
  const first = Object.values(raw.sources)[0].positions[0];
  first.position -= by;
  await writeFile(path, JSON.stringify(raw, null, 2));
}

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isWeirError(e)) throw new Error(`expected a WeirError, got ${String(e)}`);
  return e;
}

/** A finished pass-through job with checkpoints; returns the newest two checkpoint folders. */
async function finishedJob(d: string): Promise<{ last: string; prev: string; lastId: number; prevId: number }> {
  const rec = new SinkRecorder();
  const job = startJob(
    keyedJob('meta', rec, { splits: 1, rowsPerSplit: 2000, batchSize: 20, delayMs: 1 }, { source: 1, sum: 1, sink: 1 }),
    jobOptions(d, { intervalMs: 10, numRetained: 5 }),
  );
  expect((await job.done).state).toBe('FINISHED');
  const list = await listCheckpoints(d, 'meta');
  expect(list.length).toBeGreaterThanOrEqual(2);
  const [last, prev] = list;
  return { last: last.path, prev: prev.path, lastId: last.id!, prevId: prev.id! };
}

describe('_metadata checksum and copy', () => {
  it('both files are written, identical, with a checksum of the canonical content', async () => {
    const d = await dir();
    const { last } = await finishedJob(d);
    const text = await readFile(join(last, '_metadata'), 'utf8');
    expect(await readFile(join(last, '_metadata.copy'), 'utf8')).toBe(text);
    const raw = JSON.parse(text) as Record<string, Json>;
    expect(raw.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(raw.checksum).toBe(independentChecksum(raw));

    // re-indenting and re-ordering keys by hand is not damage
    const reordered = Object.fromEntries(
      Object.keys(raw)
        .reverse()
        .map((k) => [k, raw[k]]),
    );
    await writeFile(join(last, '_metadata'), JSON.stringify(reordered));
    await rm(join(last, '_metadata.copy'));
    const listed = (await listCheckpoints(d, 'meta'))[0];
    expect(listed.path).toBe(last);
    expect(listed).not.toHaveProperty('corrupt');
    expect(listed).not.toHaveProperty('note');
  });

  it('an edited position in _metadata (still valid JSON) is detected and the copy is restored', async () => {
    const d = await dir();
    const { last, lastId } = await finishedJob(d);
    const original = await readMetadata(last);
    await editPosition(join(last, '_metadata'), 5);

    const meta = await readMetadata(last);
    expect(meta).toEqual(original);
    const note = '_metadata does not match its checksum (edited or damaged); using its copy _metadata.copy';
    const listed = (await listCheckpoints(d, 'meta'))[0];
    expect(listed).toMatchObject({ id: lastId, note });
    expect(listed).not.toHaveProperty('corrupt');

    const latest = await resolveRestore(d, 'meta', 'latest');
    expect(latest!.path).toBe(last);
    expect(latest!.metadata).toEqual(original);
    expect(latest!.warnings).toEqual([`checkpoint chk-${lastId}: ${note}`]);

    const byPath = await resolveRestore(d, 'meta', join(last, '_metadata'));
    expect(byPath!.metadata).toEqual(original);
    expect(byPath!.warnings).toEqual([`checkpoint ${last}: ${note}`]);
    // the job resolving a PATH weir run already reported does not repeat the note
    expect((await resolveRestore(d, 'meta', last, { verify: false }))!.warnings).toEqual([]);

    // _metadata gone altogether: the copy still restores it
    await rm(join(last, '_metadata'));
    expect(await readMetadata(last)).toEqual(original);
    expect((await listCheckpoints(d, 'meta'))[0].note).toBe('_metadata is missing; using its copy _metadata.copy');
  });

  it('with both copies damaged: a clear error for a PATH, CORRUPT in the list, and latest falls back naming the sinks', async () => {
    const d = await dir();
    const { last, lastId, prevId } = await finishedJob(d);
    await editPosition(join(last, '_metadata'), 5);
    await editPosition(join(last, '_metadata.copy'), 5);

    const problem = '_metadata does not match its checksum (edited or damaged); _metadata.copy does not match its checksum (edited or damaged)';
    expect(await errorOf(readMetadata(last))).toMatchObject({ code: 'CHECKPOINT_CORRUPT', message: `checkpoint ${last} is corrupt: ${problem}` });
    expect(await errorOf(resolveRestore(d, 'meta', last))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
    const listed = (await listCheckpoints(d, 'meta'))[0];
    expect(listed).toMatchObject({ id: lastId, corrupt: problem, metadataWritten: true });

    const latest = await resolveRestore(d, 'meta', 'latest', { sinks: ['out_rows (duckdb)'] });
    expect(latest!.metadata.checkpointId).toBe(prevId);
    expect(latest!.warnings).toEqual([
      `checkpoint chk-${lastId} is corrupt (${problem}); falling back to checkpoint chk-${prevId}`,
      `checkpoint chk-${lastId} was skipped but had completed, so its sinks may already have committed it: sink out_rows (duckdb) may receive duplicate rows (rows committed after checkpoint chk-${prevId} are written again)`,
    ]);
  });

  it('metadata of an earlier weir (no checksum, no copy) still restores, with a note; its state files are still verified', async () => {
    const d = await dir();
    const { last, lastId } = await finishedJob(d);
    const raw = await readJson(join(last, '_metadata'));
    delete raw.checksum;
    await writeFile(join(last, '_metadata'), JSON.stringify(raw, null, 2));
    await rm(join(last, '_metadata.copy'));

    const note = '_metadata has no checksum (written by an earlier weir version), so it is not verified';
    const latest = await resolveRestore(d, 'meta', 'latest');
    expect(latest!.path).toBe(last);
    expect(latest!.warnings).toEqual([`checkpoint chk-${lastId}: ${note}`]);
    const listed = (await listCheckpoints(d, 'meta'))[0];
    expect(listed).toMatchObject({ note });
    expect(listed).not.toHaveProperty('corrupt');
    const stateFile = join(last, stateFileName('sum', 0));
    const bytes = await readFile(stateFile);
    bytes[0] ^= 0xff;
    await writeFile(stateFile, bytes);
    expect((await listCheckpoints(d, 'meta'))[0].corrupt).toMatch(`state file ${stateFileName('sum', 0)} sha256 mismatch (key group `);
    expect(await errorOf(resolveRestore(d, 'meta', last))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });

    // a checksum-less _metadata next to a copy was stripped by someone: the copy is the truth
    const { prev } = await finishedJob(await dir());
    const stripped = await readJson(join(prev, '_metadata'));
    delete stripped.checksum;
    await writeFile(join(prev, '_metadata'), JSON.stringify(stripped));
    await rm(join(prev, '_metadata.copy'));
    await writeFile(join(prev, '_metadata.copy'), '{');
    expect(await errorOf(readMetadata(prev))).toMatchObject({ code: 'CHECKPOINT_CORRUPT' });
  });

  it('the restart inside a running job restores from the copy when _metadata was edited: output exact', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 1, rowsPerSplit: Infinity, batchSize: 10, delayMs: 1 };
    const job = startJob(passJob('restart', rec, src, 1), jobOptions(d, {}, { restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 1 } }));
    await runningUntil(job, () => rec.writes >= 20);
    const sp = await job.triggerSavepoint('before-edit');
    // the savepoint is what the restart restores; move its position back by 50 rows
    await editPosition(join(sp.path, '_metadata'), 50);
    rec.failOnWrite = rec.writes + 1;
    await runningUntil(job, () => job.status().restarts === 1 && rec.recoverCalls.length === 2);
    expect(rec.recoverCalls[1].restoredId).toBe(sp.id);
    const committedBefore = rec.committed.length;
    await runningUntil(job, () => rec.writes > rec.failOnWrite + 20);
    const outcome = await job.stop({ savepoint: false });
    expect(outcome.state).toBe('STOPPED');
    const ids = sortedIds(rec.committed);
    expect(ids.length).toBeGreaterThan(committedBefore);
    // every id from 0 exactly once: the edited position (50 rows back) was not used
    expect(ids).toEqual(ids.map((_v, i) => i));
  });

  it('the restart inside a running job fails with a clear error when both copies are damaged', async () => {
    const d = await dir();
    const rec = new SinkRecorder();
    const src = { splits: 1, rowsPerSplit: Infinity, batchSize: 10, delayMs: 1 };
    const job = startJob(passJob('restart-bad', rec, src, 1), jobOptions(d, {}, { restartStrategy: { type: 'fixed-delay', attempts: 2, delayMs: 1 } }));
    await runningUntil(job, () => rec.writes >= 20);
    const sp = await job.triggerSavepoint('both-bad');
    await editPosition(join(sp.path, '_metadata'), 50);
    await editPosition(join(sp.path, '_metadata.copy'), 50);
    rec.failOnWrite = rec.writes + 1;
    expect(await errorOf(job.done)).toMatchObject({
      code: 'CHECKPOINT_CORRUPT',
      message: `checkpoint ${sp.path} is corrupt: _metadata does not match its checksum (edited or damaged); _metadata.copy does not match its checksum (edited or damaged)`,
    });
    // nothing after the savepoint was committed from the edited position
    const ids = sortedIds(rec.committed);
    expect(ids).toEqual(ids.map((_v, i) => i));
  });
});
