import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';

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

/**
 * The crash-test loop: runs `weir <args>` again and again, killing each run with SIGKILL
 * `killAfterMs()` after its start until `kills` runs were killed, then lets the next run finish.
 * Every run that ends by itself must exit 0 with no error on stderr. Returns the number of runs
 * killed (fewer than `kills` when the job finished before a kill landed: the caller asserts it).
 */
export async function runWithKills(args: readonly string[], opts: { kills: number; killAfterMs: () => number; label: string }): Promise<number> {
  let kills = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    const run = spawnWeir(args);
    const timer = kills < opts.kills ? setTimeout(() => run.child.kill('SIGKILL'), opts.killAfterMs()) : undefined;
    const { code, signal } = await run.exit;
    clearTimeout(timer);
    if (signal === 'SIGKILL') {
      kills++;
      continue;
    }
    expect(run.stderr(), `run ${attempt} failed (${opts.label})`).not.toMatch(/error/i);
    expect(code).toBe(0);
    break;
  }
  return kills;
}
