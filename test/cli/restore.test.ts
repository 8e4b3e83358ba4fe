import { cpSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import {
  completedCheckpoints,
  escapeRe,
  expectContiguous,
  expectUserError,
  idStats,
  lines,
  readMetadata,
  runOk,
  runWeir,
  savepointFolders,
  sequenceJobSql,
  startRunning,
  tempDir,
  writeFile,
} from './cli-helpers.js';

/**
 * `--from-checkpoint` and `execution.savepoint.path`: what can be named, what happens when it is
 * missing or damaged, and restoring onto a changed query. Two stopped runs are the fixtures (one
 * ended with a checkpoint, one with a savepoint); each test restores a copy of one, so that its
 * DuckDB output is exactly what that checkpoint committed.
 */
const JOB = 'restorable';
const END = 4000;

interface Fixture {
  dir: string;
  /** Rows committed when the run stopped. */
  committed: number;
}

/** Starts the throttled sequence job, waits for two checkpoints, stops it with `signal`. */
async function stoppedRun(prefix: string, signal: NodeJS.Signals, extraArgs: string[]): Promise<Fixture> {
  const dir = tempDir(prefix);
  const db = join(dir, 'out.duckdb');
  const file = writeFile(
    dir,
    'job.sql',
    sequenceJobSql({ pipelineName: JOB, db, end: END, rowsPerSecond: 1000, prelude: "SET 'state.checkpoints.num-retained' = '3';" }),
  );
  const chk = join(dir, 'chk');
  const run = await startRunning([file, '--checkpoint-dir', chk, ...extraArgs], join(chk, JOB), 2);
  run.child.kill(signal);
  const { code } = await run.exit;
  expect(code, run.stderr()).toBe(0);
  const stats = await idStats(db);
  // stopped in the middle, and what was committed is exactly 1..n
  expect(stats.count).toBeGreaterThan(0);
  expect(stats.count).toBeLessThan(END);
  await expectContiguous(db, stats.count);
  return { dir, committed: stats.count };
}

interface Copy {
  dir: string;
  chk: string;
  jobDir: string;
  db: string;
  /** The job file of the copy: same job, unthrottled so that a restored run ends at once. */
  file: string;
}

function copyOf(f: Fixture, prelude: (jobDir: string) => string = () => ''): Copy {
  const dir = tempDir('cli-restore-copy');
  cpSync(f.dir, dir, { recursive: true });
  const db = join(dir, 'out.duckdb');
  const file = writeFile(dir, 'job.sql', sequenceJobSql({ pipelineName: JOB, db, end: END, prelude: prelude(join(dir, 'chk', JOB)) }));
  return { dir, chk: join(dir, 'chk'), jobDir: join(dir, 'chk', JOB), db, file };
}

const newest = (c: Copy): number => Math.max(...completedCheckpoints(c.jobDir));

/** The state file of a checkpoint folder (the DuckDB sink's pre-committed transaction). */
function stateFile(folder: string): string {
  const meta = readMetadata(folder);
  const files = Object.values(meta.operators).flatMap((o) => o.subtasks.map((s) => s.stateFile).filter((s): s is string => s !== null));
  expect(files.length).toBeGreaterThan(0);
  return files[0];
}

function damage(path: string): void {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(path, bytes);
}

let byCheckpoint: Fixture;
let bySavepoint: Fixture;

beforeAll(async () => {
  [byCheckpoint, bySavepoint] = await Promise.all([
    stoppedRun('cli-restore-chk', 'SIGTERM', ['-q']),
    stoppedRun('cli-restore-sp', 'SIGINT', ['-q', '--savepoint-on-stop']),
  ]);
}, 600_000);

describe('restoring with --from-checkpoint', () => {
  it("'latest' with no checkpoint starts fresh and says so", async () => {
    const dir = tempDir('cli-fresh');
    const db = join(dir, 'out.duckdb');
    const file = writeFile(dir, 'fresh.sql', sequenceJobSql({ db, end: 50 }));
    const r = await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([`no completed checkpoint of job 'fresh' in ${join(dir, 'chk')}; starting fresh`]);
    await expectContiguous(db, 50);
  });

  it("'latest' restores the newest checkpoint: the restored run continues where the stop left off", async () => {
    const c = copyOf(byCheckpoint);
    const n = newest(c);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([`restoring job '${JOB}' from ${join(c.jobDir, `chk-${n}`)}`]);
    await expectContiguous(c.db, END);
  });

  it('restores from a chk-<n> folder', async () => {
    const c = copyOf(byCheckpoint);
    const folder = join(c.jobDir, `chk-${newest(c)}`);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', folder, '-q']);
    expect(lines(r.stderr)).toEqual([`restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it('restores from a _metadata file', async () => {
    const c = copyOf(byCheckpoint);
    const folder = join(c.jobDir, `chk-${newest(c)}`);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', join(folder, '_metadata'), '-q']);
    expect(lines(r.stderr)).toEqual([`restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it('restores from a savepoint folder (written by --savepoint-on-stop)', async () => {
    const c = copyOf(bySavepoint);
    const [name] = savepointFolders(c.jobDir);
    const folder = join(c.jobDir, 'savepoints', name);
    const meta = readMetadata(folder);
    expect(meta.kind).toBe('savepoint');
    expect(meta.final).toBe(true);
    // the savepoint is the newest: no checkpoint completed after it
    expect(completedCheckpoints(c.jobDir).every((id) => id < meta.checkpointId)).toBe(true);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', folder, '-q']);
    expect(lines(r.stderr)).toEqual([`restoring job '${JOB}' from ${folder}`]);
    await expectContiguous(c.db, END);
  });

  it("restores from SET 'execution.savepoint.path'", async () => {
    const folderIn = (jobDir: string): string => join(jobDir, 'savepoints', savepointFolders(jobDir)[0]);
    const c = copyOf(bySavepoint, (jobDir) => `SET 'execution.savepoint.path' = '${folderIn(jobDir)}';`);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '-q']);
    expect(lines(r.stderr)).toEqual([`restoring job '${JOB}' from ${folderIn(c.jobDir)}`]);
    await expectContiguous(c.db, END);
  });

  it('a missing PATH is a clear error', async () => {
    const c = copyOf(byCheckpoint);
    const missing = join(c.jobDir, 'chk-999');
    expectUserError(await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', missing]), `error: checkpoint not found: ${missing}`);
    const nothing = join(c.dir, 'no-such-folder', '_metadata');
    expectUserError(
      await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', nothing]),
      `error: checkpoint not found: ${join(c.dir, 'no-such-folder')}`,
    );
    // nothing was run
    expect(await idStats(c.db)).toEqual({ count: byCheckpoint.committed, distinct: byCheckpoint.committed, min: 1, max: byCheckpoint.committed });
  });
});

describe('damaged checkpoints', () => {
  it('a corrupt PATH is a clear error; latest skips the corrupt newest checkpoint and says so', async () => {
    const c = copyOf(byCheckpoint);
    const ids = completedCheckpoints(c.jobDir);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const [prev, last] = ids.slice(-2);
    const folder = join(c.jobDir, `chk-${last}`);
    const file = stateFile(folder);
    damage(join(folder, file));

    expectUserError(
      await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', folder]),
      `error: checkpoint ${folder} is corrupt: state file ${file} sha256 mismatch`,
    );
    // checkpoints list flags it
    const list = lines((await runOk(['checkpoints', 'list', JOB, '--checkpoint-dir', c.chk])).stdout);
    expect(list.find((l) => l.includes(`| ${folder} |`))).toMatch(new RegExp(`\\| +${last} \\| CORRUPT: state file ${escapeRe(file)} sha256 mismatch \\|`));
    expect(list.find((l) => l.includes(`| ${join(c.jobDir, `chk-${prev}`)} |`))).not.toMatch(/CORRUPT/);

    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([
      `warning: checkpoint chk-${last} is corrupt (state file ${file} sha256 mismatch); falling back to checkpoint chk-${prev}`,
      // chk-last had completed: its commit may have happened, so the fallback may duplicate rows
      `warning: checkpoint chk-${last} was skipped but had completed, so its sinks may already have committed it: sink out_rows (duckdb) may receive duplicate rows (rows committed after checkpoint chk-${prev} are written again)`,
      `restoring job '${JOB}' from ${join(c.jobDir, `chk-${prev}`)}`,
    ]);
    // the older checkpoint's position is replayed: every id is there (those committed after it twice)
    const stats = await idStats(c.db);
    expect(stats.distinct).toBe(END);
    expect(stats.max).toBe(END);
  });

  it('a truncated _metadata is never restored: latest restores the checkpoint from its copy, exactly', async () => {
    const c = copyOf(byCheckpoint);
    const last = newest(c);
    truncateSync(join(c.jobDir, `chk-${last}`, '_metadata'), 40);
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    const ls = lines(r.stderr);
    expect(ls).toHaveLength(2);
    expect(ls[0]).toMatch(new RegExp(`^warning: checkpoint chk-${last}: _metadata is not valid JSON .*; using its copy _metadata.copy$`));
    expect(ls[1]).toBe(`restoring job '${JOB}' from ${join(c.jobDir, `chk-${last}`)}`);
    await expectContiguous(c.db, END);
  });

  it('a half-written checkpoint (no _metadata) is skipped by latest, which restores the last complete one exactly once', async () => {
    const c = copyOf(byCheckpoint);
    const last = newest(c);
    const half = join(c.jobDir, `chk-${last + 1}`);
    mkdirSync(half);
    writeFileSync(join(half, stateFile(join(c.jobDir, `chk-${last}`))), 'partial');

    expectUserError(
      await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', half]),
      `error: checkpoint ${half} is incomplete or corrupt: it has no _metadata (name a chk-<n> or savepoint folder)`,
    );
    const r = await runOk(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([
      `warning: checkpoint chk-${last + 1} is corrupt (no _metadata (incomplete checkpoint)); falling back to checkpoint chk-${last}`,
      `restoring job '${JOB}' from ${join(c.jobDir, `chk-${last}`)}`,
    ]);
    await expectContiguous(c.db, END);
  });

  it('when every checkpoint is damaged, latest names them and starts fresh', async () => {
    const dir = tempDir('cli-all-corrupt');
    const db = join(dir, 'out.duckdb');
    const file = writeFile(dir, 'broken.sql', sequenceJobSql({ db, end: 30 }));
    mkdirSync(join(dir, 'chk', 'broken', 'chk-1'), { recursive: true });
    const r = await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q']);
    expect(lines(r.stderr)).toEqual([
      'warning: checkpoint chk-1 is corrupt (no _metadata (incomplete checkpoint)); not restoring it',
      `no completed checkpoint of job 'broken' in ${join(dir, 'chk')}; starting fresh`,
    ]);
    await expectContiguous(db, 30);
  });
});

describe('restoring onto a changed query', () => {
  it('fails naming the state it cannot map, and runs with --allow-non-restored-state', async () => {
    const c = copyOf(byCheckpoint);
    const agg = join(c.dir, 'agg.duckdb');
    const changed = writeFile(
      c.dir,
      'changed.sql',
      `SET 'pipeline.name' = '${JOB}';
CREATE TABLE src (id BIGINT, v INT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '100000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${END}',
  'fields.v.min' = '1', 'fields.v.max' = '9');
CREATE TABLE per_v (v INT, n BIGINT, PRIMARY KEY (v) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${agg}', 'table-name' = 'per_v');
INSERT INTO per_v SELECT v, COUNT(*) FROM src GROUP BY v;
`,
    );
    const n = newest(c);
    const sinkUid = Object.keys(readMetadata(join(c.jobDir, `chk-${n}`)).operators).find((u) => u.startsWith('sink-'))!;
    const fail = await runWeir(['run', changed, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '-q']);
    expect(fail.code).toBe(1);
    const failLines = lines(fail.stderr);
    expect(failLines).toHaveLength(2);
    expect(failLines[0]).toBe(`restoring job '${JOB}' from ${join(c.jobDir, `chk-${n}`)}`);
    expect(failLines[1]).toMatch(
      new RegExp(
        `^error: checkpoint state of operator ${escapeRe(sinkUid)} \\(Sink: out_rows\\) cannot be mapped to the new job \\(operators: .*\\); use --allow-non-restored-state to skip it$`,
      ),
    );
    expect(fail.stderr).not.toMatch(/^\s+at /m);

    const ok = await runOk(['run', changed, '--checkpoint-dir', c.chk, '--from-checkpoint', 'latest', '--allow-non-restored-state', '-q']);
    expect(lines(ok.stderr)).toEqual([
      `restoring job '${JOB}' from ${join(c.jobDir, `chk-${n}`)}`,
      `warning: skipping the checkpoint state of ${sinkUid} (Sink: out_rows): it maps to no operator of this job`,
    ]);
    // the source's position was restored: only the rows after the checkpoint were counted
    const [[total]] = await queryDuckDb(agg, 'SELECT sum(n) FROM per_v');
    expect(total).toBe(END - byCheckpoint.committed);
  });
});
