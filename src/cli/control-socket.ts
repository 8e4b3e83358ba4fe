import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { externalError, userError } from '../errors.js';
import type { RunningJob } from '../runtime/job.js';

/**
 * A running job listens on a local socket so that `weir savepoint` and `weir stop` can reach it.
 * The job's checkpoint folder holds `control.json` ({ pid, socket }); the socket itself is in that
 * folder too unless the path is too long for a Unix socket, then under the temp folder.
 * Protocol: one JSON request line, one JSON response line.
 */
export type ControlRequest = { cmd: 'savepoint'; name?: string } | { cmd: 'stop'; savepoint: boolean } | { cmd: 'status' };
export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string };
export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

const MAX_SOCKET_PATH = 100;

function socketPathFor(jobDir: string): string {
  const inDir = join(jobDir, 'control.sock');
  if (inDir.length <= MAX_SOCKET_PATH) return inDir;
  const h = createHash('sha256').update(resolve(jobDir)).digest('hex').slice(0, 16);
  return join(tmpdir(), `weir-${h}.sock`);
}

export interface ControlServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startControlServer(jobDir: string, handler: ControlHandler): Promise<ControlServer> {
  mkdirSync(jobDir, { recursive: true });
  const socketPath = socketPathFor(jobDir);
  const infoPath = join(jobDir, 'control.json');
  // A socket file left by a killed run would make listen() fail with EADDRINUSE.
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
        conn.end(JSON.stringify({ ok: false, error: 'malformed request' }) + '\n');
        return;
      }
      handler(req).then(
        (result) => conn.end(JSON.stringify({ ok: true, result }) + '\n'),
        (err: unknown) => conn.end(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }) + '\n'),
      );
    });
    conn.on('error', () => undefined);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(socketPath, () => res());
  });
  server.unref();
  writeFileSync(infoPath, JSON.stringify({ pid: process.pid, socket: socketPath }) + '\n');
  return {
    socketPath,
    close: () =>
      new Promise<void>((res) => {
        rmSync(infoPath, { force: true });
        server.close(() => res());
      }),
  };
}

/** Sends one request to the job whose checkpoint folder is `jobDir`. */
export async function sendControl(jobDir: string, jobName: string, req: ControlRequest, timeoutMs = 600_000): Promise<unknown> {
  let socketPath: string;
  try {
    socketPath = (JSON.parse(readFileSync(join(jobDir, 'control.json'), 'utf8')) as { socket: string }).socket;
  } catch {
    throw userError('JOB_NOT_RUNNING', `no running job '${jobName}' found in ${jobDir} (is it running with the same --checkpoint-dir?)`);
  }
  return new Promise((res, rej) => {
    const conn = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      rej(externalError('CONTROL_TIMEOUT', `job '${jobName}' did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
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
