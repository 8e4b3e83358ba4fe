import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { externalError, userError } from '../errors.js';
import type { RunningJob } from '../job/job.js';
import { currentUid, ensurePrivateDir, isTrustedPath, ownedFileProblem, privateDirProblem, runtimeDir } from './private-dir.js';

/**
 * A running job listens on a local socket so that `weir savepoint` and `weir stop` can reach it.
 * The job's checkpoint folder holds `control.json` ({ pid, socket }, 0600). The socket is private
 * to its owner (0600, inside a 0700 folder of the owner, whatever the umask): it lives in
 * `<job folder>/control/` when the job folder and every folder above it are out of other users'
 * reach; otherwise, or when that path is too long for a Unix socket, in the user's private runtime
 * folder (src/cli/private-dir.ts). Clients refuse a control.json or socket that is not the user's.
 * Protocol: one JSON request line, one JSON response line.
 */
export type ControlRequest = { cmd: 'savepoint'; name?: string } | { cmd: 'stop'; savepoint: boolean } | { cmd: 'status' };
export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string };
export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

/** sun_path holds 108 bytes on Linux and 104 on macOS, with the terminating NUL. */
const MAX_SOCKET_PATH = 100;

/** Where the job's socket goes; creates (or checks) the private folder that will hold it. */
export function socketPathFor(jobDir: string): string {
  const uid = currentUid();
  const st = statSync(jobDir);
  if (uid !== undefined && st.uid !== uid) {
    throw userError(
      'CONTROL_PATH_UNSAFE',
      `job folder ${jobDir} is owned by uid ${st.uid}, not by you (uid ${uid}); weir does not run a job in a folder another user controls (use your own --checkpoint-dir)`,
      {
        details: { path: jobDir },
      },
    );
  }
  const inJob = join(jobDir, 'control');
  const path = join(inJob, 'sock');
  if (path.length <= MAX_SOCKET_PATH && isTrustedPath(jobDir)) {
    ensurePrivateDir(inJob, 'control socket folder', 'remove it if it is yours');
    return path;
  }
  const h = createHash('sha256').update(resolve(jobDir)).digest('hex').slice(0, 16);
  const fallback = join(runtimeDir(), `${h}.sock`);
  if (fallback.length > MAX_SOCKET_PATH) {
    throw userError(
      'CONTROL_PATH_TOO_LONG',
      `control socket path ${fallback} is longer than ${MAX_SOCKET_PATH} characters; point XDG_RUNTIME_DIR or TMPDIR to a shorter private folder`,
    );
  }
  return fallback;
}

/** Writes control.json atomically as a 0600 file (a fresh file: an old one's mode is not inherited). */
function writeInfo(infoPath: string, info: { pid: number; socket: string }): void {
  const tmp = `${infoPath}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, infoPath);
}

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startControlServer(jobDir: string, handler: ControlHandler): Promise<ControlServer> {
  mkdirSync(jobDir, { recursive: true });
  const socketPath = socketPathFor(jobDir);
  const infoPath = join(jobDir, 'control.json');
  // A socket file left by a killed run would make listen() fail with EADDRINUSE; it is in our
  // private folder, so nothing but our own old socket can be there.
  rmSync(socketPath, { force: true });
  const server: Server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
      } catch {
        conn.end(`${JSON.stringify({ ok: false, error: 'malformed request' })}\n`);
        return;
      }
      handler(req).then(
        (result) => conn.end(`${JSON.stringify({ ok: true, result })}\n`),
        (err: unknown) => conn.end(`${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`),
      );
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(socketPath, () => res());
  });
  server.unref();
  // Unreachable for others already (0700 folder); 0600 as well, so it stays private if moved.
  chmodSync(socketPath, 0o600);
  writeInfo(infoPath, { pid: process.pid, socket: socketPath });
  return {
    socketPath,
    close: () =>
      new Promise<void>((res) => {
        rmSync(infoPath, { force: true });
        server.close(() => res());
      }),
  };
}

function refuse(path: string, problem: string): Error {
  return userError('CONTROL_PATH_UNSAFE', `refusing to use ${path}: ${problem}`, { details: { path } });
}

/**
 * The socket named by the job folder's control.json, after checking that control.json, the
 * socket's folder and the socket are the user's own (lstat, nothing followed): a job of another
 * user, or a file planted by one, is never talked to.
 */
function trustedSocketPath(jobDir: string, jobName: string): string {
  const infoPath = join(jobDir, 'control.json');
  const notRunning = (): Error =>
    userError('JOB_NOT_RUNNING', `no running job '${jobName}' found in ${jobDir} (is it running with the same --checkpoint-dir?)`);
  let st;
  try {
    st = lstatSync(infoPath);
  } catch {
    throw notRunning();
  }
  const infoProblem = ownedFileProblem(st, 'file');
  if (infoProblem !== undefined) throw refuse(infoPath, infoProblem);
  let socketPath: unknown;
  try {
    socketPath = (JSON.parse(readFileSync(infoPath, 'utf8')) as { socket?: unknown }).socket;
  } catch {
    throw notRunning();
  }
  if (typeof socketPath !== 'string' || !socketPath.startsWith('/')) throw refuse(infoPath, 'it names no socket path');
  const dir = dirname(socketPath);
  let dirSt;
  try {
    dirSt = lstatSync(dir);
  } catch {
    throw userError('JOB_NOT_RUNNING', `job '${jobName}' is not running (its control socket ${socketPath} does not exist)`);
  }
  const dirProblem = privateDirProblem(dirSt) ?? (isTrustedPath(dirname(dir)) ? undefined : 'a folder above it can be changed by another user');
  if (dirProblem !== undefined) throw refuse(dir, dirProblem);
  let sockSt;
  try {
    sockSt = lstatSync(socketPath);
  } catch {
    throw userError('JOB_NOT_RUNNING', `job '${jobName}' is not running (its control socket ${socketPath} does not exist)`);
  }
  const sockProblem = ownedFileProblem(sockSt, 'socket');
  if (sockProblem !== undefined) throw refuse(socketPath, sockProblem);
  return socketPath;
}

/** Sends one request to the job whose checkpoint folder is `jobDir`. */
export async function sendControl(jobDir: string, jobName: string, req: ControlRequest, timeoutMs = 600_000): Promise<unknown> {
  const socketPath = trustedSocketPath(jobDir, jobName);
  return new Promise((res, rej) => {
    const conn = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      rej(externalError('CONTROL_TIMEOUT', `job '${jobName}' did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (chunk: string) => (buf += chunk));
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        const resp = JSON.parse(buf) as ControlResponse;
        if (resp.ok) res(resp.result);
        else rej(externalError('CONTROL_FAILED', `job '${jobName}': ${resp.error}`, { retriable: false }));
      } catch {
        rej(externalError('CONTROL_FAILED', `job '${jobName}' closed the control connection without an answer`));
      }
    });
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        rej(userError('JOB_NOT_RUNNING', `job '${jobName}' is not running (its control socket ${socketPath} does not answer)`));
      } else rej(externalError('CONTROL_FAILED', `cannot reach job '${jobName}': ${e.message}`));
    });
  });
}

/** What a running job does for a control request (`weir stop`, `weir savepoint`, status). */
export async function handleControl(running: RunningJob, req: ControlRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'savepoint':
      return running.triggerSavepoint(req.name);
    case 'stop':
      return running.stop({ savepoint: req.savepoint });
    case 'status':
      return running.status();
  }
}
