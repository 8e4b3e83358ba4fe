/**
 * `node --import tsx bench/cdc-sync.ts [snapshot] [stream]`: `weir cdc` end to end (the generated
 * job run in this process) against an embedded PostgreSQL (fsync off), into DuckDB and into
 * PostgreSQL, next to PostgreSQL's own tools on the same server:
 * - snapshot: WEIR_BENCH_SYNC_ROWS (1,000,000) rows in 10 tables copied with
 *   'scan.startup.mode' = 'snapshot' (a bounded job: done when the last checkpoint committed),
 *   next to psql's `COPY ... TO STDOUT | COPY ... FROM STDIN` of the same tables into another
 *   database (pg_dump | psql's data path; pg_dump 15 cannot dump the embedded server 18);
 * - stream: WEIR_BENCH_SYNC_CHANGES (200,000) updates spread over the tables while the pipeline
 *   runs, timed from the first write until the target has all of them (for weir: a completed
 *   checkpoint after the sinks received every change), next to a native publication/subscription
 *   (until the subscriber's latest_end_lsn passes the last write).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPipelineJob } from '../src/cli/cdc/pipeline-job.js';
import { discoverTables } from '../src/cli/cdc/discover.js';
import { validatePipeline } from '../src/cli/cdc/pipeline.js';
import { planOptions } from '../src/config/job-config.js';
import { silentLogger } from '../src/log.js';
import { planJob } from '../src/plan/physical.js';
import { startJob, type RunningJob } from '../src/job/job.js';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import '../connectors/index.js';

const TABLES = 10;
const ROWS = Number(process.env.WEIR_BENCH_SYNC_ROWS ?? 1_000_000);
const CHANGES = Number(process.env.WEIR_BENCH_SYNC_CHANGES ?? 200_000);
const PER_TABLE = Math.floor(ROWS / TABLES);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

function pgEnv(s: TestPostgres): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: s.host, PGPORT: String(s.port), PGUSER: s.user, PGPASSWORD: s.password };
}

/**
 * The data path of `pg_dump | psql`: per table `COPY ... TO STDOUT` piped into `COPY ... FROM
 * STDIN` of the other database (tables created first). pg_dump itself refuses a newer server
 * (the machine's client tools are PostgreSQL 15, embedded-postgres runs 18). Seconds.
 */
async function copyPipe(s: TestPostgres, from: string, to: string): Promise<number> {
  for (let k = 0; k < TABLES; k++)
    await s.query(`CREATE TABLE bench_${k} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2), note text, ts timestamp)`, [], to);
  const t0 = performance.now();
  for (let k = 0; k < TABLES; k++) {
    await new Promise<void>((resolve, reject) => {
      const out = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', from, '-c', `COPY bench_${k} TO STDOUT`], {
        env: pgEnv(s),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const inp = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', to, '-c', `COPY bench_${k} FROM STDIN`], {
        env: pgEnv(s),
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      out.stdout.pipe(inp.stdin);
      let outCode: number | null = null;
      out.on('exit', (code) => (outCode = code));
      inp.on('exit', (code) => (code === 0 && outCode === 0 ? resolve() : reject(new Error(`psql COPY exited ${outCode} / ${code}`))));
      out.on('error', reject);
      inp.on('error', reject);
    });
  }
  const [[n]] = await s.query(`SELECT (${Array.from({ length: TABLES }, (_, k) => `(SELECT count(*) FROM bench_${k})`).join(' + ')})::text`, [], to);
  if (Number(n) !== ROWS) throw new Error(`COPY pipe copied ${n} rows, expected ${ROWS}`);
  return (performance.now() - t0) / 1000;
}

async function createSource(s: TestPostgres, db: string): Promise<void> {
  await s.createDatabase(db);
  for (let k = 0; k < TABLES; k++) {
    await s.query(`CREATE TABLE bench_${k} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2), note text, ts timestamp)`, [], db);
    await s.query(
      `INSERT INTO bench_${k} SELECT g, g % 97, (g % 10000) / 100.0, 'note ' || g, TIMESTAMP '2026-01-01' + g * INTERVAL '1 second' FROM generate_series(1, ${PER_TABLE}) g`,
      [],
      db,
    );
    await s.query(`VACUUM ANALYZE bench_${k}`, [], db);
  }
}

/** The pipeline's job, started in this process. */
async function startPipeline(s: TestPostgres, name: string, srcDb: string, sink: Record<string, unknown>, mode: string, ck: string): Promise<RunningJob> {
  const p = validatePipeline(
    {
      source: {
        type: 'postgres',
        hostname: s.host,
        port: s.port,
        username: s.user,
        password: s.password,
        'database-name': srcDb,
        tables: 'public.bench_\\d+',
        'scan.startup.mode': mode,
        'slot.name': name,
        'heartbeat.interval.ms': 500,
        'scan.newly-added-table.enabled': false,
      },
      sink,
      pipeline: { name, parallelism: 1, 'checkpoint.interval': '1 s' },
    },
    'bench',
  );
  const built = buildPipelineJob(p, await discoverTables(p.source));
  const job = built.job;
  const graph = planJob(job.inserts, job.catalog, { jobName: job.jobName, ...planOptions(job.config) });
  return startJob(graph, {
    checkpointDir: ck,
    checkpointing: { intervalMs: 1000, mode: 'EXACTLY_ONCE', timeoutMs: 600_000, minPauseMs: 0, numRetained: 1 },
    restartStrategy: { type: 'none' },
    log: silentLogger,
  });
}

function sinkOf(kind: 'duckdb' | 'postgres', s: TestPostgres, dir: string, db: string): Record<string, unknown> {
  return kind === 'duckdb'
    ? { type: 'duckdb', path: join(dir, `${db}.duckdb`) }
    : { type: 'postgres', url: `postgres://${s.user}@${s.host}:${s.port}/${db}`, password: s.password };
}

async function benchSnapshot(s: TestPostgres, dir: string): Promise<void> {
  await createSource(s, 'snap_src');
  await s.createDatabase('snap_dump');
  const base = await copyPipe(s, 'snap_src', 'snap_dump');
  console.log(`cdc-sync COPY TO | COPY FROM (psql)      : ${fmt(ROWS / base)} rows/s (${fmt(ROWS)} rows in ${TABLES} tables; pg_dump | psql's data path)`);
  for (const kind of ['duckdb', 'postgres'] as const) {
    const db = `snap_${kind}`;
    if (kind === 'postgres') await s.createDatabase(db);
    const t0 = performance.now();
    const job = await startPipeline(s, `bench_snap_${kind}`, 'snap_src', sinkOf(kind, s, dir, db), 'snapshot', join(dir, `ck_snap_${kind}`));
    await job.done;
    const rate = ROWS / ((performance.now() - t0) / 1000);
    console.log(`cdc-sync weir snapshot into ${kind.padEnd(8)}     : ${fmt(rate)} rows/s = ${((rate * base) / ROWS).toFixed(2)} x COPY | COPY`);
  }
}

/** CHANGES updates spread over the tables in statements of 10,000; the WAL position after them. */
async function writeChanges(s: TestPostgres, db: string, round: number): Promise<bigint> {
  const per = Math.ceil(CHANGES / TABLES);
  for (let k = 0; k < TABLES; k++) {
    for (let lo = 1; lo <= per; lo += 10_000) {
      await s.query(`UPDATE bench_${k} SET amount = amount + ${round}, note = note || '.' WHERE id BETWEEN ${lo} AND ${Math.min(per, lo + 9_999)}`, [], db);
    }
  }
  return lsnNum((await s.query('SELECT pg_current_wal_lsn()::text'))[0][0]!);
}

async function until(pred: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function benchStream(s: TestPostgres, dir: string): Promise<void> {
  await createSource(s, 'str_src');
  // Native: a subscription in another database of the same server (its slot made beforehand, as
  // a same-cluster subscription requires), tables copied empty.
  await s.createDatabase('str_native');
  for (let k = 0; k < TABLES; k++)
    await s.query(`CREATE TABLE bench_${k} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2), note text, ts timestamp)`, [], 'str_native');
  await s.query('CREATE PUBLICATION bench_pub FOR ALL TABLES', [], 'str_src');
  await s.query("SELECT pg_create_logical_replication_slot('bench_native', 'pgoutput')", [], 'str_src');
  await s.query(
    `CREATE SUBSCRIPTION bench_sub CONNECTION 'host=${s.host} port=${s.port} user=${s.user} password=${s.password} dbname=str_src' PUBLICATION bench_pub WITH (copy_data = false, create_slot = false, slot_name = 'bench_native')`,
    [],
    'str_native',
  );
  await until(
    async () => (await s.query("SELECT count(*) FROM pg_stat_subscription WHERE subname = 'bench_sub' AND pid IS NOT NULL", [], 'str_native'))[0][0] === '1',
    'the subscription',
  );
  let t0 = performance.now();
  const end = await writeChanges(s, 'str_src', 1);
  await until(async () => {
    const r = (await s.query("SELECT latest_end_lsn::text FROM pg_stat_subscription WHERE subname = 'bench_sub'", [], 'str_native'))[0]?.[0];
    return r !== null && r !== undefined && lsnNum(r) >= end;
  }, 'the subscriber');
  const native = CHANGES / ((performance.now() - t0) / 1000);
  await s.query('DROP SUBSCRIPTION bench_sub', [], 'str_native');
  console.log(`cdc-sync native publication/subscription : ${fmt(native)} changes/s (${fmt(CHANGES)} updates in ${TABLES} tables)`);

  for (const [round, kind] of [
    [2, 'duckdb'],
    [3, 'postgres'],
  ] as const) {
    const db = `str_${kind}`;
    if (kind === 'postgres') await s.createDatabase(db);
    const job = await startPipeline(s, `bench_str_${kind}`, 'str_src', sinkOf(kind, s, dir, db), 'initial', join(dir, `ck_str_${kind}`));
    // Caught up with the snapshot: every table's rows reached the sinks and were committed.
    await until(() => job.status().rowsOut >= ROWS && (job.status().lastCheckpoint?.completedAt ?? 0) > 0, 'the snapshot');
    const before = job.status().rowsOut;
    const chk = job.status().lastCheckpoint?.id ?? 0;
    await until(() => (job.status().lastCheckpoint?.id ?? 0) > chk, 'a checkpoint after the snapshot');
    t0 = performance.now();
    await writeChanges(s, 'str_src', round);
    // An update arrives at the sink as -U/+U.
    await until(() => job.status().rowsOut >= before + 2 * CHANGES, 'the changes at the sinks');
    const seen = job.status().lastCheckpoint?.id ?? 0;
    await until(() => (job.status().lastCheckpoint?.id ?? 0) > seen, 'their commit');
    const rate = CHANGES / ((performance.now() - t0) / 1000);
    await job.stop({ savepoint: false });
    console.log(`cdc-sync weir stream into ${kind.padEnd(8)}       : ${fmt(rate)} changes/s = ${(rate / native).toFixed(2)} x native subscription`);
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-sync-'));
  const s = await startPostgres({ fsync: false, maxPreparedTransactions: 64, extraFlags: ['-c max_replication_slots=60', '-c max_wal_senders=60'] });
  try {
    console.log(`weir bench cdc-sync — node ${process.version}, parallelism 1, checkpoints every 1 s`);
    if (!only.length || only.includes('snapshot')) await benchSnapshot(s, dir);
    if (!only.length || only.includes('stream')) await benchStream(s, dir);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
