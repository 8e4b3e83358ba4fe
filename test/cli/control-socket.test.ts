import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { WEIR_BIN } from '../support/weir-process.js';
import { expectUserError, lines, runOk, runWeir, tempDir, waitFor, writeFile, type WeirRun } from './cli-helpers.js';
import { createLocalUser, isRoot, runAs, spawnAs, type LocalUser } from './second-user.js';

/**
 * The control socket of a running job (`weir savepoint` / `weir stop`) is private to its owner:
 * 0600 inside a 0700 folder whatever the umask, its fallback folder is the user's own (never a
 * path another user prepared), and clients talk only to a control.json and socket of their own.
 * The second-user part creates a real local user and acts as that user.
 */

const ME = process.getuid!();

/**
 * One shared "temp dir" for the file (1777, like /tmp; TMPDIR of every weir process here, so
 * squatting it touches nothing shared and tsx's compile cache in it stays warm). The fallback
 * folder <tmp>/weir-<uid> is removed after each test.
 */
let root: string;
let tmp: string;
let other: LocalUser | undefined;
beforeAll(() => {
  root = tempDir('ctl');
  tmp = join(root, 'tmp');
  mkdirSync(tmp);
  chmodSync(tmp, 0o1777);
  if (isRoot) other = createLocalUser();
});
afterAll(() => {
  other?.remove();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => rmSync(join(tmp, `weir-${ME}`), { recursive: true, force: true }));

const JOB = `SET 'execution.checkpointing.interval' = '200ms';
CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000000');
CREATE TABLE out_rows (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out_rows SELECT id FROM src;
`;

const running: WeirRun[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await r.exit;
  }
});

/** `weir run` under `umask`, with `env` (TMPDIR, XDG_RUNTIME_DIR) replacing the test's own. */
function runUnderUmask(umask: string, args: readonly string[], env: Record<string, string | undefined>): WeirRun {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  const child = spawn('/bin/sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, WEIR_BIN, 'run', ...args], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const run = { child, stdout: () => out, stderr: () => err, exit };
  running.push(run);
  return run;
}

interface Setup {
  dir: string;
  chk: string;
  jobDir: string;
  file: string;
  tmp: string;
}

/** A job file; `longName` makes `<chk>/<job>/control/sock` too long for a Unix socket. */
function setup(name: string, opts: { longName?: boolean } = {}): Setup {
  const dir = join(root, name);
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const chk = join(dir, opts.longName ? 'checkpoints-'.padEnd(120, 'x') : 'chk');
  const file = writeFile(dir, 'ticker.sql', JOB);
  return { dir, chk, jobDir: join(chk, 'ticker'), file, tmp };
}

function controlInfo(jobDir: string): { pid: number; socket: string } {
  return JSON.parse(readFileSync(join(jobDir, 'control.json'), 'utf8')) as { pid: number; socket: string };
}

async function startJob(s: Setup, umask: string, env: Record<string, string | undefined> = {}): Promise<{ run: WeirRun; socket: string }> {
  const run = runUnderUmask(umask, [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined, ...env });
  await waitFor(
    'control.json',
    () => {
      try {
        return controlInfo(s.jobDir);
      } catch {
        return undefined;
      }
    },
    HANG_GUARD_MS,
    run,
  );
  return { run, socket: controlInfo(s.jobDir).socket };
}

function mode(path: string): number {
  return lstatSync(path).mode & 0o7777;
}

/** The socket, its folder and control.json are the owner's and closed to everyone else. */
function expectPrivate(s: Setup, socket: string): void {
  const sock = lstatSync(socket);
  expect(sock.isSocket()).toBe(true);
  expect(sock.uid).toBe(ME);
  expect(mode(socket)).toBe(0o600);
  const folder = lstatSync(dirname(socket));
  expect(folder.isDirectory() && !folder.isSymbolicLink()).toBe(true);
  expect(folder.uid).toBe(ME);
  expect(mode(dirname(socket))).toBe(0o700);
  const info = join(s.jobDir, 'control.json');
  expect(lstatSync(info).uid).toBe(ME);
  expect(mode(info)).toBe(0o600);
}

async function stopAsOwner(s: Setup, run: WeirRun): Promise<void> {
  const stop = await runOk(['stop', 'ticker', '--checkpoint-dir', s.chk]);
  expect(stop.stdout).toMatch(/^job 'ticker' stopped; checkpoint \d+ at /);
  expect((await run.exit).code, run.stderr()).toBe(0);
}

/** What the other user's processes get: a minimal environment of their own. */
const envOf = (dir: string): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir, HOME: dir });

/** Connects to `socket` as the other user and reports the outcome ('connected' or the errno code). */
async function tryConnect(user: LocalUser, socket: string): Promise<string> {
  const script = `const c = require('node:net').connect(process.argv[1]);
c.on('connect', () => { c.write(JSON.stringify({ cmd: 'stop', savepoint: false }) + '\\n'); console.log('connected'); c.destroy(); });
c.on('error', (e) => console.log(e.code));`;
  const r = await runAs(user, [process.execPath, '-e', script, socket], { cwd: tmp, env: envOf(tmp) });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The other user runs `weir stop`: refused, since control.json is not theirs; the job runs on. */
async function expectOtherCannotStop(user: LocalUser, s: Setup, run: WeirRun): Promise<void> {
  const stop = await runAs(user, [process.execPath, WEIR_BIN, 'stop', 'ticker', '--checkpoint-dir', s.chk], { cwd: tmp, env: envOf(tmp) });
  expect(stop.code).toBe(1);
  expect(lines(stop.stderr)).toEqual([`error: refusing to use ${join(s.jobDir, 'control.json')}: it is owned by uid ${ME}, not by you (uid ${user.uid})`]);
  expect(run.child.exitCode).toBeNull();
}

/**
 * The second-user checks need root (useradd); outside CI a non-root run skips them with a note,
 * under CI=true a non-root run fails.
 */
const ci = process.env.CI === 'true';
if (!isRoot && !ci) console.warn('control-socket.test.ts: not root (and not CI): the checks as a second local user are skipped');

describe('the control socket of a running job', () => {
  it.runIf(!isRoot && ci)('runs as root, so that a second local user can be created (CI requires the second-user checks)', () => {
    throw new Error('not root: cannot create a second local user with useradd; run the tests as root (CI runs them as root)');
  });

  it('umask 022: 0600 in a 0700 folder of the job folder; another user can neither connect nor stop it; a control.json others can write is refused', async () => {
    const s = setup('u022');
    const { run, socket } = await startJob(s, '022');
    expect(socket).toBe(join(s.jobDir, 'control', 'sock'));
    expectPrivate(s, socket);
    if (other) {
      // the other user can search the job folder (0755) but not the socket's folder
      expect(await tryConnect(other, socket)).toBe('EACCES');
      await expectOtherCannotStop(other, s, run);
    }
    const info = join(s.jobDir, 'control.json');
    chmodSync(info, 0o666);
    const r = await runWeir(['stop', 'ticker', '--checkpoint-dir', s.chk]);
    expectUserError(r, `error: refusing to use ${info}: its mode is 0666: others can write it`);
    expect(run.child.exitCode).toBeNull(); // the job did not get the request
    chmodSync(info, 0o600);
    await stopAsOwner(s, run);
  });

  it('umask 000: the world-writable job folder is not trusted, the socket goes to <tmp>/weir-<uid>, 0600 in 0700; another user can neither connect nor stop it', async () => {
    const s = setup('u000');
    const { run, socket } = await startJob(s, '000');
    expect(mode(s.jobDir) & 0o777).toBe(0o777); // what umask 000 gave the job folder
    expect(dirname(socket)).toBe(join(tmp, `weir-${ME}`));
    expectPrivate(s, socket);
    if (other) {
      expect(await tryConnect(other, socket)).toBe('EACCES');
      await expectOtherCannotStop(other, s, run);
    }
    await stopAsOwner(s, run);
  });

  it("too long a path for a Unix socket: the private runtime folder, $XDG_RUNTIME_DIR/weir when XDG_RUNTIME_DIR is the user's 0700 folder", async () => {
    const s = setup('xdg', { longName: true });
    const xdg = join(s.dir, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    const { run, socket } = await startJob(s, '000', { XDG_RUNTIME_DIR: xdg });
    expect(dirname(socket)).toBe(join(xdg, 'weir'));
    expectPrivate(s, socket);
    await stopAsOwner(s, run);
  });

  it('refuses a fallback folder that is not private (a looser mode, a symlink), naming it and what is wrong', async () => {
    const s = setup('loose', { longName: true });
    const fallback = join(tmp, `weir-${ME}`);
    mkdirSync(fallback);
    chmodSync(fallback, 0o755);
    const r1 = runUnderUmask('022', [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
    const e1 = await r1.exit;
    expectUserError(
      { ...e1, stdout: r1.stdout(), stderr: r1.stderr() },
      `error: control socket folder ${fallback} is not safe to use: its mode is 0755, not 0700; weir does not use it (remove it if it is yours, or point XDG_RUNTIME_DIR or TMPDIR to a private folder)`,
    );
    expect(mode(fallback)).toBe(0o755); // left as it was

    rmSync(fallback, { recursive: true });
    const elsewhere = join(s.dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, fallback);
    const r2 = runUnderUmask('022', [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
    const e2 = await r2.exit;
    expectUserError(
      { ...e2, stdout: r2.stdout(), stderr: r2.stderr() },
      new RegExp(`^error: control socket folder ${fallback} is not safe to use: it is a symbolic link;`),
    );
    expect(lstatSync(elsewhere).nlink).toBe(2); // nothing was created through the link
  });

  it.skipIf(!isRoot)(
    'as another user: squatting <tmp>/weir-<uid> first keeps the job from starting with a clear message, and nothing is created in it',
    async () => {
      const s = setup('squat', { longName: true });
      const fallback = join(tmp, `weir-${ME}`);
      const mk = await runAs(other!, ['mkdir', '-m', '0777', fallback], { cwd: tmp, env: envOf(tmp) });
      expect(mk.code, mk.stderr).toBe(0);
      const r = runUnderUmask('022', [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
      const e = await r.exit;
      expectUserError(
        { ...e, stdout: r.stdout(), stderr: r.stderr() },
        `error: control socket folder ${fallback} is not safe to use: it is owned by uid ${other!.uid}, not by you (uid ${ME}); weir does not use it (remove it if it is yours, or point XDG_RUNTIME_DIR or TMPDIR to a private folder)`,
      );
      expect(lstatSync(fallback).nlink).toBe(2); // still empty: never followed
    },
  );

  it.skipIf(!isRoot)('as another user: a symlink planted at <tmp>/weir-<uid> is not followed', async () => {
    const s = setup('squat-link', { longName: true });
    const fallback = join(tmp, `weir-${ME}`);
    const theirs = join(tmp, 'theirs');
    for (const argv of [
      ['mkdir', '-m', '0700', theirs],
      ['ln', '-s', theirs, fallback],
    ]) {
      const r = await runAs(other!, argv, { cwd: tmp, env: envOf(tmp) });
      expect(r.code, r.stderr).toBe(0);
    }
    const r = runUnderUmask('022', [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
    const e = await r.exit;
    expectUserError(
      { ...e, stdout: r.stdout(), stderr: r.stderr() },
      new RegExp(`^error: control socket folder ${fallback} is not safe to use: it is a symbolic link;`),
    );
    expect(lstatSync(theirs).nlink).toBe(2);
    rmSync(theirs, { recursive: true });
  });

  it.skipIf(!isRoot)("as another user: their XDG_RUNTIME_DIR is not used, the socket goes to the user's own <tmp>/weir-<uid>", async () => {
    const s = setup('xdg-other', { longName: true });
    const xdg = join(s.dir, 'xdg-other');
    mkdirSync(xdg, { mode: 0o700 });
    chownSync(xdg, other!.uid, other!.gid);
    const { run, socket } = await startJob(s, '022', { XDG_RUNTIME_DIR: xdg });
    expect(dirname(socket)).toBe(join(tmp, `weir-${ME}`));
    expectPrivate(s, socket);
    expect(await tryConnect(other!, socket)).toBe('EACCES');
    await stopAsOwner(s, run);
  });

  it.skipIf(!isRoot)('as another user: a job folder they own is refused', async () => {
    const s = setup('their-folder');
    mkdirSync(s.jobDir, { recursive: true });
    chownSync(s.jobDir, other!.uid, other!.gid);
    const r = runUnderUmask('022', [s.file, '--checkpoint-dir', s.chk, '-q'], { TMPDIR: tmp, XDG_RUNTIME_DIR: undefined });
    const e = await r.exit;
    expectUserError(
      { ...e, stdout: r.stdout(), stderr: r.stderr() },
      `error: job folder ${s.jobDir} is owned by uid ${other!.uid}, not by you (uid ${ME}); weir does not run a job in a folder another user controls (use your own --checkpoint-dir)`,
    );
  });

  it.skipIf(!isRoot)(
    'as another user: weir savepoint refuses a control.json they planted, and one naming their socket; their socket gets no connection',
    async () => {
      const s = setup('planted');
      // a shared checkpoint folder anyone can write (like a folder under /tmp)
      mkdirSync(s.chk);
      chmodSync(s.chk, 0o1777);
      const theirDir = join(tmp, 'their-sock');
      const theirSocket = join(theirDir, 'sock');
      const hits = join(theirDir, 'hits');
      const listener = spawnAs(
        other!,
        [
          process.execPath,
          '-e',
          `const fs = require('node:fs'); fs.mkdirSync(process.argv[1], { mode: 0o700 });
require('node:net').createServer((c) => { fs.appendFileSync(process.argv[3], 'hit\\n'); c.end(JSON.stringify({ ok: true, result: { id: 1, path: '/fake' } }) + '\\n'); })
  .listen(process.argv[2], () => console.log('listening'));`,
          theirDir,
          theirSocket,
          hits,
        ],
        { cwd: tmp, env: envOf(tmp) },
      );
      try {
        await waitFor('the other user listening', () => listener.stdout().includes('listening'));
        const plant = await runAs(
          other!,
          [
            process.execPath,
            '-e',
            `const fs = require('node:fs'); fs.mkdirSync(process.argv[1]); fs.writeFileSync(process.argv[1] + '/control.json', JSON.stringify({ pid: 1, socket: process.argv[2] }), { mode: 0o644 });`,
            s.jobDir,
            theirSocket,
          ],
          { cwd: tmp, env: envOf(tmp) },
        );
        expect(plant.code, plant.stderr).toBe(0);
        const info = join(s.jobDir, 'control.json');
        const r1 = await runWeir(['savepoint', 'ticker', '--checkpoint-dir', s.chk]);
        expectUserError(r1, `error: refusing to use ${info}: it is owned by uid ${other!.uid}, not by you (uid ${ME})`);

        // our own control.json, naming their socket: the socket's folder is not ours
        const ours = join(s.chk, 'ours');
        mkdirSync(ours);
        writeFileSync(join(ours, 'control.json'), JSON.stringify({ pid: 1, socket: theirSocket }), { mode: 0o600 });
        const r2 = await runWeir(['savepoint', 'ours', '--checkpoint-dir', s.chk]);
        expectUserError(r2, `error: refusing to use ${theirDir}: it is owned by uid ${other!.uid}, not by you (uid ${ME})`);
        expect(() => lstatSync(hits)).toThrow(); // their socket never got a connection
      } finally {
        await listener.stop();
        rmSync(theirDir, { recursive: true, force: true });
      }
    },
  );
});
