import { spawn } from 'node:child_process';
import { closeSync, cpSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WEIR_BIN } from '../support/weir-process.js';
import { runOk, tempDir, writeFile } from './cli-helpers.js';

/**
 * Nothing a command printed is lost when its standard output is a pipe read more slowly than
 * weir writes (`weir sql < script.sql | (sleep 5; cat)` once delivered 538 of 2,000 results, exit
 * code 0). Each test starts a real weir whose stdout is a pipe the test does not read until the
 * process has exited or has said (debug log) that it waits for its output to be read: every
 * line must then arrive. Without the flush the process exits with the output still queued.
 */

/** How long a run may take before the test gives up (a hang guard on a loaded machine, not a timing assertion). */
const HANG_GUARD_MS = 240_000;
const WAITING = 'waiting for the output to be read before exiting';
/** Per test: each starts one or two weir processes, slow on a loaded machine. */
const TEST_TIMEOUT_MS = HANG_GUARD_MS + 120_000;

interface SlowRead {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weir <args>`, leaving its stdout unread until it exited or waits for a reader, then reads it all. */
async function runWithSlowReader(args: readonly string[], stdinFile?: string): Promise<SlowRead> {
  const stdin = stdinFile === undefined ? 'ignore' : openSync(stdinFile, 'r');
  const child = spawn(process.execPath, [WEIR_BIN, ...args], {
    env: { ...process.env, WEIR_LOG_LEVEL: 'debug' },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  if (typeof stdin === 'number') closeSync(stdin);
  const out = child.stdout!;
  const err = child.stderr!;
  try {
    let stderr = '';
    err.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // stdout is paused at once: the pipe (and the stream's small buffer) fill up and stay full.
    // The listener is there from the start because Node resumes a dead child's stdio itself.
    let stdout = '';
    const ended = new Promise<void>((res) => out.once('end', () => res()));
    out.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    out.pause();
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    let hasExited = false;
    void exited.then(() => (hasExited = true));
    const deadline = Date.now() + HANG_GUARD_MS;
    while (!hasExited && !stderr.includes(WAITING)) {
      if (Date.now() > deadline) throw new Error(`weir neither exited nor waited for its reader; stderr:\n${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    out.resume();
    await ended;
    const code = await exited;
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('output through a slow pipe', () => {
  it(
    'weir sql: all 2,000 results of a piped script arrive',
    async () => {
      const dir = tempDir('flush-sql');
      // long keys make each answer ~250 bytes: ~500 KB, far more than a pipe holds
      const key = (i: number): string => `weir.test.flush.${'k'.repeat(120)}.${i}`;
      const script = writeFile(dir, 'script.sql', Array.from({ length: 2000 }, (_, i) => `SET '${key(i)}' = 'v';\n`).join(''));
      const r = await runWithSlowReader(['sql', '--checkpoint-dir', join(dir, 'chk')], script);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const out = r.stdout.split('\n');
      expect(out.filter((l) => l === '[INFO] Session property has been set.')).toHaveLength(2000);
      const keys = out.filter((l) => l.startsWith('[WARNING] unknown configuration key')).map((l) => /'([^']+)'/.exec(l)![1]);
      expect(keys).toEqual(Array.from({ length: 2000 }, (_, i) => key(i)));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'weir run --show-result: the whole result table arrives',
    async () => {
      const dir = tempDir('flush-run');
      const wide = (i: number): string => `row-${i}-${'x'.repeat(20_000)}`;
      const input = writeFile(dir, 'in.json', Array.from({ length: 20 }, (_, i) => `${JSON.stringify({ id: i, s: wide(i) })}\n`).join(''));
      const job = writeFile(
        dir,
        'wide.sql',
        `CREATE TABLE src (id BIGINT, s STRING) WITH ('connector' = 'filesystem', 'path' = '${input}', 'format' = 'json');
CREATE TABLE out (id BIGINT, s STRING) WITH ('connector' = 'filesystem', 'path' = '${join(dir, 'out')}', 'format' = 'json');
INSERT INTO out SELECT id, s FROM src;
`,
      );
      const r = await runWithSlowReader(['run', job, '--checkpoint-dir', join(dir, 'chk'), '--show-result', '-q']);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(400_000);
      const out = r.stdout.split('\n');
      expect(out).toContain('out (20 rows):');
      const rows = out.filter((l) => /^\| +\d+ \| row-/.test(l));
      expect(rows.map((l) => /^\| +(\d+) \| (\S+)/.exec(l)!.slice(1))).toEqual(
        Array.from({ length: 20 }, (_, i) => [String(i), wide(i)]).sort((a, b) => Number(a[0]) - Number(b[0])),
      );
      // the closing border of the table is the last line
      expect(out.filter((l) => l !== '').at(-1)).toMatch(/^\+-+\+-+\+$/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'weir checkpoints list: every row of a long listing arrives',
    async () => {
      const dir = tempDir('flush-list');
      const chk = join(dir, 'chk');
      const job = writeFile(
        dir,
        'tiny.sql',
        `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT id FROM src;
`,
      );
      await runOk(['run', job, '--checkpoint-dir', chk, '-q']);
      const jobDir = join(chk, 'tiny');
      const [done] = readdirSync(jobDir).filter((n) => /^chk-\d+$/.test(n));
      expect(done).toBeDefined();
      // 2,500 checkpoints of ~200 bytes each in the listing
      const copies = Array.from({ length: 2500 }, (_, i) => join(jobDir, 'savepoints', `copy-${i}`));
      for (const c of copies) cpSync(join(jobDir, done), c, { recursive: true });
      const r = await runWithSlowReader(['checkpoints', 'list', 'tiny', '--checkpoint-dir', chk]);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const listed = new Set(
        r.stdout
          .split('\n')
          .map((l) => /\| (\S+) +\|$/.exec(l)?.[1])
          .filter((p): p is string => p !== undefined),
      );
      expect(copies.filter((c) => !listed.has(c))).toEqual([]);
      expect(listed.has(join(jobDir, done))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
