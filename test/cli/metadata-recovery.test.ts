import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  completedCheckpoints,
  escapeRe,
  expectContiguous,
  expectUserError,
  idStats,
  lines,
  runOk,
  runWeir,
  sequenceJobSql,
  startRunning,
  tempDir,
  writeFile,
} from './cli-helpers.js';

/**
 * A damaged `_metadata` as a user meets it with `weir run`: an edit that keeps the file valid JSON
 * (a source position moved back) must not be restored, the copy `_metadata.copy` restores the
 * checkpoint exactly, and when no copy verifies, `latest` falls back loudly, naming the sinks that
 * may receive rows twice. The fixture is one stopped run of a datagen sequence into DuckDB; each
 * test works on a copy of it, so its DuckDB output is exactly what the damaged checkpoint committed.
 */
const JOB = 'recoverable';
const END = 4000;
const DUPLICATES_WARNING = (skipped: number, fallback: number): string =>
  `warning: checkpoint chk-${skipped} was skipped but had completed, so its sinks may already have committed it: sink out_rows (duckdb) may receive duplicate rows (rows committed after checkpoint chk-${fallback} are written again)`;

let fixture: { dir: string; committed: number };

beforeAll(async () => {
  const dir = tempDir('cli-meta-fixture');
  const db = join(dir, 'out.duckdb');
  const file = writeFile(
    dir,
    'job.sql',
    sequenceJobSql({ pipelineName: JOB, db, end: END, rowsPerSecond: 1000, prelude: "SET 'state.checkpoints.num-retained' = '3';" }),
  );
  const chk = join(dir, 'chk');
  const run = await startRunning([file, '--checkpoint-dir', chk, '-q'], join(chk, JOB), 2);
  run.child.kill('SIGTERM');
  expect((await run.exit).code, run.stderr()).toBe(0);
  const { count } = await idStats(db);
  expect(count).toBeGreaterThan(0);
  expect(count).toBeLessThan(END);
  await expectContiguous(db, count);
  fixture = { dir, committed: count };
}, 600_000);

interface Copy {
  chk: string;
  jobDir: string;
  db: string;
  file: string;
  /** Newest and previous complete checkpoint ids. */
  last: number;
  prev: number;
}

function copy(prelude: (jobDir: string) => string = () => ''): Copy {
  const dir = tempDir('cli-meta-copy');
  cpSync(fixture.dir, dir, { recursive: true });
  const jobDir = join(dir, 'chk', JOB);
  const db = join(dir, 'out.duckdb');
  const file = writeFile(dir, 'job.sql', sequenceJobSql({ pipelineName: JOB, db, end: END, prelude: prelude(jobDir) }));
  const ids = completedCheckpoints(jobDir);
  expect(ids.length).toBeGreaterThanOrEqual(2);
  return { chk: join(dir, 'chk'), jobDir, db, file, last: ids.at(-1)!, prev: ids.at(-2)! };
}

/** Moves the source position recorded in a metadata file back (the file stays valid JSON); returns by how much. */
function movePositionBack(path: string): number {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { sources: Record<string, { positions: { position: number }[] }> };
  const pos = Object.values(raw.sources)[0].positions[0];
  const by = Math.max(1, Math.floor(pos.position / 2));
  pos.position -= by;
  writeFileSync(path, JSON.stringify(raw, null, 2));
  return by;
}

const NOTE = '_metadata does not match its checksum (edited or damaged); using its copy _metadata.copy';
const BOTH = '_metadata does not match its checksum (edited or damaged); _metadata.copy does not match its checksum (edited or damaged)';

/** The `checkpoints list` row of a folder. */
async function listRow(c: Copy, folder: string): Promise<string> {
  const out = lines((await runOk(['checkpoints', 'list', JOB, '--checkpoint-dir', c.chk])).stdout);
  const row = out.find((l) => l.includes(`| ${folder} |`));
  expect(row, out.join('\n')).toBeDefined();
  return row!;
}

describe('an edited _metadata (still valid JSON)', () => {
  it("'latest' restores the checkpoint from its copy: the output is exact", async () => {
    const c = copy();
    const folder = join(c.jobDir, `chk-${c.last}`);
    expect(movePositionBack(join(folder, '_metadata'))).toBeGreaterThan(0);
    // checkpoints list shows it as restorable, with what happened
    expect(await listRow(c, folder)).toMatch(new RegExp(`\\| +${c.last} \\| \\S+Z \\(${escapeRe(NOTE)}\\) \\|`));

    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([`warning: checkpoint chk-${c.last}: ${NOTE}`, `restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it('--from-checkpoint PATH restores from the copy: the output is exact', async () => {
    const c = copy();
    const folder = join(c.jobDir, `chk-${c.last}`);
    movePositionBack(join(folder, '_metadata'));
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', join(folder, '_metadata'), '-q']);
    expect(lines(r.stderr)).toEqual([`warning: checkpoint ${folder}: ${NOTE}`, `restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it("SET 'execution.savepoint.path' restores from the copy: the output is exact", async () => {
    const c = copy((jobDir) => `SET 'execution.savepoint.path' = '${join(jobDir, `chk-${completedCheckpoints(jobDir).at(-1)}`)}';`);
    const folder = join(c.jobDir, `chk-${c.last}`);
    movePositionBack(join(folder, '_metadata'));
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '-q']);
    expect(lines(r.stderr)).toEqual([`warning: checkpoint ${folder}: ${NOTE}`, `restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it('metadata written by an earlier weir (no checksum, no copy) still restores, with a note', async () => {
    const c = copy();
    const folder = join(c.jobDir, `chk-${c.last}`);
    const raw = JSON.parse(readFileSync(join(folder, '_metadata'), 'utf8')) as Record<string, unknown>;
    delete raw.checksum;
    writeFileSync(join(folder, '_metadata'), JSON.stringify(raw, null, 2));
    rmSync(join(folder, '_metadata.copy'));
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([
      `warning: checkpoint chk-${c.last}: _metadata has no checksum (written by an earlier weir version), so it is not verified`,
      `restoring job '${JOB}' from ${folder}`,
    ]);
    await expectContiguous(c.db, END);
  });
});

describe('both metadata copies damaged', () => {
  it('a PATH is a clear error, checkpoints list marks it CORRUPT, and latest falls back warning about duplicates in out_rows', async () => {
    const c = copy();
    const folder = join(c.jobDir, `chk-${c.last}`);
    movePositionBack(join(folder, '_metadata'));
    movePositionBack(join(folder, '_metadata.copy'));

    expectUserError(await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', folder]), `error: checkpoint ${folder} is corrupt: ${BOTH}`);
    expect(await listRow(c, folder)).toMatch(new RegExp(`\\| +${c.last} \\| CORRUPT: ${escapeRe(BOTH)} \\|`));
    expect(await listRow(c, join(c.jobDir, `chk-${c.prev}`))).not.toMatch(/CORRUPT/);
    // nothing ran
    expect((await idStats(c.db)).count).toBe(fixture.committed);

    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([
      `warning: checkpoint chk-${c.last} is corrupt (${BOTH}); falling back to checkpoint chk-${c.prev}`,
      DUPLICATES_WARNING(c.last, c.prev),
      `restoring job '${JOB}' from ${join(c.jobDir, `chk-${c.prev}`)}`,
    ]);
    // what the warning says: every id is there, those committed after chk-prev possibly twice
    const stats = await idStats(c.db);
    expect(stats).toMatchObject({ distinct: END, min: 1, max: END });
  });

  it('when no checkpoint is left to fall back to, latest says the job starts fresh and names the sinks', async () => {
    const c = copy();
    for (const id of completedCheckpoints(c.jobDir)) {
      movePositionBack(join(c.jobDir, `chk-${id}`, '_metadata'));
      writeFileSync(join(c.jobDir, `chk-${id}`, '_metadata.copy'), '{');
    }
    const ids = completedCheckpoints(c.jobDir);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    const ls = lines(r.stderr);
    expect(ls.slice(0, ids.length).every((l) => /^warning: checkpoint chk-\d+ is corrupt \(.*\); not restoring it$/.test(l))).toBe(true);
    expect(ls.slice(ids.length)).toEqual([
      `warning: ${[...ids]
        .reverse()
        .map((id) => `checkpoint chk-${id}`)
        .join(
          ', ',
        )} were skipped but had completed, so their sinks may already have committed them: sink out_rows (duckdb) may receive duplicate rows (the job starts fresh and writes every row again)`,
      `no completed checkpoint of job '${JOB}' in ${c.chk}; starting fresh`,
    ]);
    expect(await idStats(c.db)).toEqual({ count: END + fixture.committed, distinct: END, min: 1, max: END });
  });
});
