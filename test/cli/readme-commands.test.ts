/**
 * Every command of the README's ```sh blocks, run as written, in README order, in one shell
 * session (bash; `export` carries over) inside a copy of the project, against the services the
 * README names: an embedded PostgreSQL behind `$PG_URL` for `weir cdc`, and the Kafka broker the
 * README itself starts with scripts/kafka.sh. Each command's outcome is asserted (exit status and
 * its key output: the quickstart's table, 300 views for each of 1,000 users after a kill and a
 * restore, the tables a `public.*` sync mirrors). Commands that run until stopped are stopped the
 * way the README says (Ctrl-C: SIGINT to the process group; `pkill -9`: SIGKILL to it; SIGTERM).
 * `npm ci` (of `npm ci && npm run quickstart`) and `npm ci && npm test` are not run inside the
 * suite: they must be what .ci/run runs.
 * A command without a handler here is still run and must exit 0. ```text blocks are synopses.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { kafkaClient } from '../support/kafka.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { completedCheckpoints, readMetadata, waitFor } from './cli-helpers.js';
import { projectCopy, readmeCommands, ShellSession, type ReadmeCommand, type Started } from './readme-shell.js';

const PROJECT = resolve(import.meta.dirname, '../..');
const COMMANDS = readmeCommands(readFileSync(join(PROJECT, 'README.md'), 'utf8'));
const CI = process.env.CI === 'true';
/** Long enough for a loaded machine; only a guard against hangs. */
const GUARD_MS = 240_000;

function hasJavaAndMaven(): boolean {
  try {
    execFileSync('bash', ['-c', 'command -v java && command -v mvn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const KAFKA_TOOLS = hasJavaAndMaven();

let copy: string;
let session: ShellSession;
/** Started with the first command (it takes a while), used by the README's `weir cdc` command. */
let pgStarting: Promise<TestPostgres> | undefined;
let pg: TestPostgres | undefined;
/** What each command showed, printed at the end. */
const report: string[] = [];

beforeAll(() => {
  copy = projectCopy(PROJECT);
  if (COMMANDS.some((c) => c.command.startsWith('npx weir cdc '))) {
    pgStarting = startPostgres();
    pgStarting.catch(() => undefined); // reported by the cdc command's test
  }
  // A user's shell: none of the test run's own service settings.
  session = new ShellSession(copy, {
    ...process.env,
    KAFKA_BOOTSTRAP: undefined,
    KAFKA_PORT: undefined,
    WEIR_KAFKA_STATE_DIR: undefined,
    WEIR_KAFKA_DATA_DIR: undefined,
    PG_URL: undefined,
    PGPASSWORD: undefined,
  });
});

afterAll(async () => {
  await session?.killAll();
  // a broker the walkthrough left running when a command failed
  if (copy && existsSync(join(copy, '.weir/kafka/broker.env'))) {
    try {
      execFileSync(join(copy, 'scripts/kafka.sh'), ['stop'], { cwd: copy, stdio: 'ignore', env: session.env });
    } catch {
      // already stopped
    }
  }
  await (pg ?? (await pgStarting?.catch(() => undefined)))?.stop();
  if (copy) rmSync(copy, { recursive: true, force: true });
  process.stdout.write(`\nREADME commands (${COMMANDS.length}):\n${report.map((r) => `  ${r}`).join('\n')}\n`);
});

/** What .ci/run runs (its command lines, without set/cd). */
function ciCommands(): string[] {
  return readFileSync(join(PROJECT, '.ci/run'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !/^(set|cd) /.test(l));
}

function needKafka(ctx: { skip: (note?: string) => void }): void {
  if (KAFKA_TOOLS) return;
  if (CI) throw new Error("Java and Maven are needed to run the README's Kafka commands (CI=true: not skipped)");
  process.stderr.write('\n*** SKIPPING README Kafka command: Java/Maven not found (with CI=true this fails)\n');
  ctx.skip();
}

function bootstrapOf(stdout: string): string {
  const m = /^KAFKA_BOOTSTRAP=(127\.0\.0\.1:\d+)\n$/.exec(stdout);
  expect(m, `scripts/kafka.sh printed ${JSON.stringify(stdout)}`).not.toBeNull();
  return m![1];
}

/** The broker at `bootstrap` answers a metadata request. */
async function expectBrokerAnswers(bootstrap: string): Promise<void> {
  const admin = kafkaClient(bootstrap, 'weir-readme').admin();
  await admin.connect();
  try {
    await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/** Rows of a table as weir prints it (`| a | b |` lines below the header). */
function printedRows(stdout: string, title: RegExp): string[][] {
  const at = stdout.search(title);
  expect(at, stdout).toBeGreaterThanOrEqual(0);
  const lines = stdout
    .slice(at)
    .split('\n')
    .filter((l) => l.startsWith('|'));
  return lines.slice(1).map((l) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()),
  );
}

/** Polls an async condition (a hang guard, not a timing assumption). */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let bootstrap: string | undefined;
let producer: Started | undefined;

type Handler = (c: ReadmeCommand, ctx: { skip: (note?: string) => void }) => Promise<string>;

const HANDLERS: Record<string, Handler> = {
  // The install half is what .ci/run runs before the tests (and would replace the suite's own
  // node_modules); the quickstart half runs here as written.
  'npm ci && npm run quickstart': async (c) => {
    expect(ciCommands()[0]?.split(' && ')[0]).toBe('npm ci');
    const r = await session.run({ ...c, line: c.line.replace(/^npm ci && /, ''), command: c.command.replace(/^npm ci && /, '') });
    expect(r.code, r.stderr).toBe(0);
    const rows = printedRows(r.stdout, /^revenue_per_customer \(10 rows\):$/m);
    expect(rows.map((x) => Number(x[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // the printed table is what the DuckDB file holds
    const db = await queryDuckDb(
      join(copy, '.weir/quickstart.duckdb'),
      'SELECT customer_id, orders, revenue::VARCHAR, biggest::VARCHAR FROM revenue_per_customer ORDER BY 1',
    );
    expect(db.map((x) => x.map(String))).toEqual(rows);
    // 300,000 generated orders, amounts 1..500, those over 10 counted
    const orders = rows.reduce((s, x) => s + Number(x[1]), 0);
    expect(orders).toBeGreaterThan(290_000);
    expect(orders).toBeLessThan(300_000);
    expect(r.stderr).toMatch(/job 'quickstart' finished; last checkpoint \d+ at /);
    return `exit 0; printed revenue_per_customer, 10 rows, ${orders} orders, equal to .weir/quickstart.duckdb`;
  },

  'npm ci && npm test': async () => {
    expect(ciCommands()).toEqual(['npm ci && npm test']);
    return 'checked, not run in the suite: exactly what .ci/run runs';
  },

  // biome-ignore lint/complexity/useLiteralKeys: the command holds both quote characters
  [`npx weir cdc --source "$PG_URL" --tables 'public.*' --sink duckdb:warehouse.duckdb`]: async (c, ctx) => {
    try {
      pg = await (pgStarting ?? startPostgres());
    } catch (e) {
      if (CI) throw e;
      process.stderr.write(`\n*** SKIPPING README cdc command: no embedded PostgreSQL: ${(e as Error).message}\n`);
      ctx.skip();
    }
    const server = pg!;
    await server.createDatabase('shop');
    await server.query('CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL)', [], 'shop');
    await server.query('INSERT INTO orders SELECT g, g * 1.25 FROM generate_series(1, 200) g', [], 'shop');
    await server.query('CREATE TABLE customers (id int PRIMARY KEY, name text)', [], 'shop');
    await server.query("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g", [], 'shop');
    // another schema's table (same name as one of public's): not part of 'public.*'
    await server.query('CREATE SCHEMA archive', [], 'shop');
    await server.query('CREATE TABLE archive.orders (id int PRIMARY KEY)', [], 'shop');
    await server.query('INSERT INTO archive.orders SELECT g FROM generate_series(1, 7) g', [], 'shop');
    // what the README tells the user to set
    session.env.PG_URL = `postgres://${server.user}@${server.host}:${server.port}/shop`;
    session.env.PGPASSWORD = server.password;

    const s = session.start(c);
    const checkpoints = join(copy, '.weir/checkpoints');
    // the snapshot is complete in a completed checkpoint: every table's rows are committed
    await waitFor(
      'a checkpoint after the snapshot',
      () => {
        if (s.isClosed()) throw new Error(`weir cdc ended: ${s.stderr()}`);
        if (!existsSync(checkpoints)) return false;
        return readdirSync(checkpoints).some((job) => {
          const ids = completedCheckpoints(join(checkpoints, job));
          if (ids.length === 0) return false;
          const meta = readMetadata(join(checkpoints, job, `chk-${ids[ids.length - 1]}`));
          const positions = Object.values(meta.sources).flatMap((src) => src.positions);
          return positions.length > 0 && positions.every((p) => (p.position as { snapshot?: { done?: boolean } }).snapshot?.done === true);
        });
      },
      GUARD_MS,
    );
    s.signal('SIGTERM'); // the README: SIGTERM stops with a final checkpoint
    const out = await s.closed;
    expect(out.stderr).toContain(`weir cdc 'cdc': 2 tables from ${server.host}/shop into DuckDB warehouse.duckdb`);
    expect(out.stderr).toContain('  public.customers -> customers');
    expect(out.stderr).toContain('  public.orders -> orders');
    expect(out.stderr).toMatch(/stopped; last checkpoint \d+ at /);
    expect(out.stderr).not.toContain(server.password);
    const db = join(copy, 'warehouse.duckdb');
    expect(await queryDuckDb(db, 'SELECT count(*), sum(id), sum(amount)::VARCHAR FROM orders')).toEqual([[200, 20100, '25125.00']]);
    expect(await queryDuckDb(db, "SELECT count(*), count(*) FILTER (WHERE name = 'c' || id) FROM customers")).toEqual([[50, 50]]);
    expect(await queryDuckDb(db, "SELECT table_name FROM information_schema.tables WHERE table_name NOT LIKE '\\_weir%' ESCAPE '\\' ORDER BY 1")).toEqual([
      ['customers'],
      ['orders'],
    ]);
    return 'stopped with SIGTERM after its snapshot checkpoint; warehouse.duckdb holds public.orders (200 rows) and public.customers (50), not archive.orders';
  },

  'scripts/kafka.sh start': async (c, ctx) => {
    needKafka(ctx);
    const r = await session.run(c);
    expect(r.code, r.stderr).toBe(0);
    bootstrap = bootstrapOf(r.stdout);
    await expectBrokerAnswers(bootstrap);
    return `exit 0; printed KAFKA_BOOTSTRAP=${bootstrap}; the broker answers`;
  },

  'scripts/kafka.sh status': async (c, ctx) => {
    needKafka(ctx);
    const r = await session.run(c);
    expect(r.code, r.stderr).toBe(0);
    expect(bootstrapOf(r.stdout)).toBe(bootstrap);
    return `exit 0; printed KAFKA_BOOTSTRAP=${bootstrap}`;
  },

  'scripts/kafka.sh stop': async (c, ctx) => {
    needKafka(ctx);
    const r = await session.run(c);
    expect(r.code, r.stderr).toBe(0);
    const status = await session.run({ ...c, line: 'scripts/kafka.sh status', command: 'scripts/kafka.sh status' });
    expect(status.code).toBe(3);
    return 'exit 0; status afterwards: not running (exit 3)';
  },

  'export "$(scripts/kafka.sh start)"': async (c, ctx) => {
    needKafka(ctx);
    const r = await session.run(c);
    expect(r.code, r.stderr).toBe(0);
    bootstrap = session.env.KAFKA_BOOTSTRAP;
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    await expectBrokerAnswers(bootstrap!);
    return `exit 0; KAFKA_BOOTSTRAP=${bootstrap} exported; the broker answers`;
  },

  'node scripts/kafka/produce-pageviews.mjs --count 300000 --rate 20000': async (c, ctx) => {
    needKafka(ctx);
    expect(c.background).toBe(true);
    producer = session.start(c);
    return 'started in the background (its end is checked with the restore below)';
  },

  'npx weir run sql/examples/kafka_pageviews.sql': async (c, ctx) => {
    needKafka(ctx);
    const s = session.start(c);
    const jobDir = join(copy, '.weir/checkpoints/kafka_pageviews');
    // "Once the status line shows a checkpoint (chk 3 ...)"
    await waitFor(
      'checkpoint 3',
      () => {
        if (s.isClosed()) throw new Error(`the job ended: ${s.stderr()}`);
        return completedCheckpoints(jobDir).some((id) => id >= 3);
      },
      GUARD_MS,
    );
    const producing = !producer?.isClosed();
    s.signal('SIGKILL'); // pkill -9 -f kafka_pageviews.sql
    const out = await s.closed;
    expect(out.signal ?? out.code).toBe('SIGKILL');
    return `killed with SIGKILL after checkpoint ${Math.max(...completedCheckpoints(jobDir))}${producing ? ', the producer still writing' : ''}`;
  },

  'npx weir checkpoints list kafka_pageviews': async (c, ctx) => {
    needKafka(ctx);
    const r = await session.run(c);
    expect(r.code, r.stderr).toBe(0);
    const jobDir = join(copy, '.weir/checkpoints/kafka_pageviews');
    const latest = Math.max(...completedCheckpoints(jobDir));
    const row = r.stdout.split('\n').find((l) => l.includes(join(jobDir, `chk-${latest}`)));
    expect(row, r.stdout).toBeDefined();
    expect(
      row!
        .split(/\s*\|\s*|\s{2,}/)
        .filter((x) => x !== '')
        .slice(0, 3),
    ).toEqual(['kafka_pageviews', 'checkpoint', String(latest)]);
    return `exit 0; lists checkpoint ${latest}`;
  },

  'npx weir run sql/examples/kafka_pageviews.sql --from-checkpoint latest --show-result': async (c, ctx) => {
    needKafka(ctx);
    const s = session.start(c);
    // "When the producer is done ..."
    const produced = await producer!.closed;
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toContain('wrote 300000 page views to pageviews');
    // ... and the job has read it all: the offsets it commits after each checkpoint
    const admin = kafkaClient(bootstrap!, 'weir-readme').admin();
    await admin.connect();
    try {
      await until('offsets 300000 committed', async () => {
        if (s.isClosed()) throw new Error(`the job ended: ${s.stderr()}`);
        const [t] = await admin.fetchOffsets({ groupId: 'weir-pageviews', topics: ['pageviews'] });
        return t.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === 300_000;
      });
    } finally {
      await admin.disconnect();
    }
    s.signal('SIGINT'); // Ctrl-C
    const out = await s.closed;
    expect(out.stderr).toMatch(/^restoring job 'kafka_pageviews' from .*\/chk-\d+$/m);
    expect(out.stderr).toMatch(/job 'kafka_pageviews' stopped; last checkpoint \d+ at /);
    const rows = printedRows(out.stdout, /^views_per_user \(1000 rows, first 20 shown\):$/m);
    expect(rows).toHaveLength(20);
    for (const r of rows) expect(r[1]).toBe('300');
    expect(await queryDuckDb(join(copy, '.weir/pageviews.duckdb'), 'SELECT count(*), sum(views), min(views), max(views) FROM views_per_user')).toEqual([
      [1000, 300_000, 300, 300],
    ]);
    return 'stopped with Ctrl-C after the producer ended; 1,000 users with exactly 300 views each (printed and in .weir/pageviews.duckdb)';
  },
};

describe('the README commands, run as written', () => {
  it('finds the commands of the README (```sh blocks)', () => {
    expect(COMMANDS.length).toBeGreaterThan(10);
  });

  for (const c of COMMANDS) {
    it(`README.md:${c.lineNo}: ${c.line}`, { timeout: GUARD_MS * 2 }, async (ctx) => {
      const handler = HANDLERS[c.command];
      let what: string;
      if (handler) what = await handler(c, ctx);
      else {
        // A command this test has no special knowledge of: run it, it must succeed.
        const r = await session.run(c);
        expect(r.code, `${c.line}\n${r.stderr}`).toBe(0);
        what = 'exit 0 (no handler: exit status only)';
      }
      report.push(`${c.line}  ->  ${what}`);
    });
  }
});
