import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { runWeir, spawnWeir, type WeirRun } from '../support/weir-process.js';

/**
 * Shared pieces of the CLI tests: job files written into temp folders, polling on the files a
 * running job writes (control.json, chk-<n>/_metadata) instead of fixed sleeps, and reading what
 * the job produced.
 */

export { runWeir, spawnWeir, tempDir } from '../support/weir-process.js';
export type { WeirRun } from '../support/weir-process.js';

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface SequenceJob {
  /** `SET 'pipeline.name'`; absent: the file's base name names the job. */
  pipelineName?: string;
  /** DuckDB file the job appends (id, v) rows to, table `out_rows`. */
  db: string;
  /** Last id of the sequence (the source ends after it). */
  end: number;
  rowsPerSecond?: number;
  interval?: string;
  /** Extra SET lines or statements placed before the CREATE TABLEs. */
  prelude?: string;
}

/** A datagen sequence 1..end appended into a DuckDB table: output ids must be 1..n, each once. */
export function sequenceJobSql(j: SequenceJob): string {
  return `${j.pipelineName ? `SET 'pipeline.name' = '${j.pipelineName}';\n` : ''}SET 'execution.checkpointing.interval' = '${j.interval ?? '100ms'}';
${j.prelude ?? ''}
CREATE TABLE src (id BIGINT, v INT) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '${j.rowsPerSecond ?? 100000}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${j.end}',
  'fields.v.min' = '1', 'fields.v.max' = '9'
);
CREATE TABLE out_rows (id BIGINT, v INT) WITH ('connector' = 'duckdb', 'path' = '${j.db}', 'table-name' = 'out_rows');
INSERT INTO out_rows SELECT id, v FROM src;
`;
}

export interface IdStats {
  count: number;
  distinct: number;
  min: number | null;
  max: number | null;
}

export async function idStats(db: string, table = 'out_rows'): Promise<IdStats> {
  const [[count, distinct, min, max]] = await queryDuckDb(db, `SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ${table}`);
  return { count: count as number, distinct: distinct as number, min: min as number | null, max: max as number | null };
}

/** Every id from 1 to `n` exactly once. */
export async function expectContiguous(db: string, n: number, table = 'out_rows'): Promise<void> {
  expect(await idStats(db, table)).toEqual({ count: n, distinct: n, min: n === 0 ? null : 1, max: n === 0 ? null : n });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = HANG_GUARD_MS, run?: WeirRun): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (run && run.child.exitCode !== null) {
      throw new Error(`weir exited (${run.child.exitCode}) while waiting for ${what}; stderr:\n${run.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${run ? `; stderr:\n${run.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ids of the chk-<n> folders of a job that have a `_metadata` (complete), ascending. */
export function completedCheckpoints(jobDir: string): number[] {
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir)
    .map((n) => /^chk-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(jobDir, m[0], '_metadata')))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export function savepointFolders(jobDir: string): string[] {
  const dir = join(jobDir, 'savepoints');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export interface Metadata {
  jobName: string;
  checkpointId: number;
  kind: 'checkpoint' | 'savepoint';
  final: boolean;
  operators: Record<string, { name: string; parallelism: number; subtasks: { stateFile: string | null }[] }>;
  sources: Record<string, { name: string; positions: { split: { id: string }; position: unknown; finished?: boolean }[] }>;
}

export function readMetadata(folder: string): Metadata {
  return JSON.parse(readFileSync(join(folder, '_metadata'), 'utf8')) as Metadata;
}

/** Starts `weir run`, then waits until its control socket is up and `checkpoints` checkpoints completed. */
export async function startRunning(args: readonly string[], jobDir: string, checkpoints = 1, opts: { cwd?: string } = {}): Promise<WeirRun> {
  const run = spawnWeir(['run', ...args], opts);
  await waitFor('the control socket', () => existsSync(join(jobDir, 'control.json')), HANG_GUARD_MS, run);
  await waitFor(`${checkpoints} completed checkpoint(s)`, () => completedCheckpoints(jobDir).length >= checkpoints, HANG_GUARD_MS, run);
  return run;
}

/** The lines of stderr, without the status lines a job prints. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/**
 * A user error: exactly one stderr line equal to `expected` (or matching it), exit code 1,
 * nothing on stdout and no stack frames.
 */
export function expectUserError(r: { code: number | null; stdout: string; stderr: string }, expected: string | RegExp): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/"level":/);
  const ls = lines(r.stderr);
  expect(ls, r.stderr).toHaveLength(1);
  if (typeof expected === 'string') expect(ls[0]).toBe(expected);
  else expect(ls[0]).toMatch(expected);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
}

export async function runOk(args: readonly string[], opts: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await runWeir(args, opts);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

export function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
