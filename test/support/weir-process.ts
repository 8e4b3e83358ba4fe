import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { CHK_RE, METADATA_FILE } from '../../src/checkpoint/layout.js';

// Folders made here are removed after the calling test file (see temp-dirs.ts).
export { registerTempDir, tempDir } from './temp-dirs.js';

export const WEIR_BIN = resolve(import.meta.dirname, '../../bin/weir.mjs');

export interface WeirRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/**
 * Kills (SIGKILL) every weir child of this test file still running: a test that failed before
 * stopping its job leaves none behind. test/support/cleanup-setup.ts calls it after each file.
 */
export async function killLiveChildren(): Promise<void> {
  const running = [...live].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    running.map(
      (c) =>
        new Promise<void>((res) => {
          c.once('exit', () => res());
          if (!c.kill('SIGKILL')) res();
        }),
    ),
  );
  live.clear();
}

/** Starts `weir <args>` as a real child process. */
export function spawnWeir(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): WeirRun {
  const child = spawn(process.execPath, [WEIR_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Runs `weir <args>` to completion. */
export async function runWeir(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const run = spawnWeir(args, opts);
  const { code, signal } = await run.exit;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

/** A small deterministic PRNG (mulberry32) so random kill moments can be replayed from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How often the loop looks for a run's new checkpoint. */
const POLL_MS = 25;
/** Arbitrary kills land in [ARBITRARY_MIN_MS, ARBITRARY_MAX_MS) after spawn: mostly during startup or restore. */
const ARBITRARY_MIN_MS = 300;
const ARBITRARY_MAX_MS = 3500;
/** Kills after a checkpoint land a further [0, EXTRA_MAX_MS): about two 250 ms checkpoint intervals. */
const EXTRA_MAX_MS = 500;
/** The chance that a later kill lands at an arbitrary moment too (while those stay under half the series). */
const ARBITRARY_SHARE = 0.25;

/**
 * The crash-test loop: runs `weir <args>` again and again, killing runs with SIGKILL until `kills`
 * runs were killed, then lets the next run finish. Every run that ends by itself must exit 0 with
 * no error on stderr. Returns the number of runs killed (fewer than `kills` when the job finished
 * before a kill landed: the caller asserts it).
 *
 * Where a kill lands is drawn from `random` (the caller's seeded PRNG):
 * - the first kill, and now and then a later one (never half the series), at an arbitrary moment
 *   after spawn, so crashes during startup and during restore stay covered;
 * - the others once the run has completed a checkpoint of its own (a `chk-<n>/_metadata` under
 *   the `--checkpoint-dir` of `args` that was not there when it started), plus a random delay of
 *   up to two checkpoint intervals, so they land anywhere between checkpoints: while processing,
 *   while a checkpoint is written, while sinks commit. Without the wait most kills would land
 *   before the first checkpoint (startup alone takes seconds), and the test would mostly restart
 *   from scratch instead of restoring.
 * The wait is on the condition, never on a deadline: a run that finishes first is not killed. So
 * the job must complete checkpoints while it runs, not only at its end, or the later kills find it
 * done: the callers keep their input rates where that holds.
 */
export async function runWithKills(
  args: readonly string[],
  opts: { kills: number; random: () => number; label: string /** Called after each kill with the kills so far. */; onKill?: (kills: number) => void },
): Promise<number> {
  const root = checkpointDirOf(args);
  let kills = 0;
  let arbitraryKills = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    const arbitrary = kills === 0 || (arbitraryKills + 1 < opts.kills / 2 && opts.random() < ARBITRARY_SHARE);
    const before = completedCheckpoints(root);
    const run = spawnWeir(args);
    if (kills < opts.kills) {
      if (arbitrary) await sleepUnlessExited(run, ARBITRARY_MIN_MS + opts.random() * (ARBITRARY_MAX_MS - ARBITRARY_MIN_MS));
      else {
        while (!exited(run) && !hasNewCheckpoint(root, before)) await sleepUnlessExited(run, POLL_MS);
        await sleepUnlessExited(run, opts.random() * EXTRA_MAX_MS);
      }
      if (!exited(run)) run.child.kill('SIGKILL');
    }
    const { code, signal } = await run.exit;
    if (signal === 'SIGKILL') {
      kills++;
      if (arbitrary) arbitraryKills++;
      opts.onKill?.(kills);
      continue;
    }
    expect(run.stderr(), `run ${attempt} failed (${opts.label})`).not.toMatch(/error/i);
    expect(code).toBe(0);
    break;
  }
  return kills;
}

function checkpointDirOf(args: readonly string[]): string {
  const i = args.indexOf('--checkpoint-dir');
  if (i < 0 || i + 1 >= args.length) throw new Error('runWithKills needs --checkpoint-dir <dir> in args: it watches that folder for new checkpoints');
  return args[i + 1];
}

function exited(run: WeirRun): boolean {
  return run.child.exitCode !== null || run.child.signalCode !== null;
}

/** Waits `ms`, or less when the run exits first. */
async function sleepUnlessExited(run: WeirRun, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((res) => (timer = setTimeout(res, ms))), run.exit]);
  clearTimeout(timer);
}

/** The job folders' checkpoints (`<job>/chk-<n>`) whose metadata, their commit point, is in place. */
function completedCheckpoints(root: string): Set<string> {
  const done = new Set<string>();
  for (const job of listDir(root)) {
    for (const name of listDir(join(root, job))) {
      if (CHK_RE.test(name) && existsSync(join(root, job, name, METADATA_FILE))) done.add(`${job}/${name}`);
    }
  }
  return done;
}

function hasNewCheckpoint(root: string, before: ReadonlySet<string>): boolean {
  for (const c of completedCheckpoints(root)) if (!before.has(c)) return true;
  return false;
}

/** A folder's entries; none when it does not exist (yet) or is not a folder. */
function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
