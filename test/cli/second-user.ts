import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A second local user for the tests that check what another user on the machine can do to a job
 * (connect to its control socket, squat its paths). Creating one needs root; outside CI a
 * non-root run skips those tests, under CI=true it fails (see control-socket.test.ts).
 */
export interface LocalUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  remove(): void;
}

export const isRoot = process.getuid?.() === 0;

/** useradd / userdel fail while another process holds /etc/passwd's lock (exit 10): try again. */
function withPasswdLock(cmd: string, args: string[]): void {
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status !== 10 || attempt >= 50) throw e;
      execFileSync('sleep', ['0.2']);
    }
  }
}

export function createLocalUser(): LocalUser {
  const name = `weirt${randomBytes(4).toString('hex')}`;
  withPasswdLock('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid,
    gid,
    remove: () => withPasswdLock('userdel', [name]),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `argv` as `user` (runuser: no password, no login shell), with exactly `env`. */
export function runAs(user: LocalUser, argv: readonly string[], opts: { cwd: string; env: Record<string, string> }): Promise<RunResult> {
  const child = spawn('runuser', ['-u', user.name, '--', ...argv], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((res) => child.on('exit', (code) => res({ code, stdout, stderr })));
}

/** A long-running process of `user` (e.g. a socket it listens on); `stop()` ends it. */
export function spawnAs(user: LocalUser, argv: readonly string[], opts: { cwd: string; env: Record<string, string> }) {
  const child = spawn('runuser', ['-u', user.name, '--', ...argv], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<void>((res) => child.on('exit', () => res()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exit;
    },
  };
}
