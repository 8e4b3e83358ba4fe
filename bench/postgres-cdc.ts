/**
 * `node --import tsx bench/postgres-cdc.ts [snapshot] [stream]`: rows/s of the postgres-cdc
 * source's reader alone (no job around it) against an embedded PostgreSQL (fsync off: this
 * measures reading, not the server's writes), median of WEIR_BENCH_REPEAT (3) runs:
 * - snapshot: WEIR_BENCH_CDC_ROWS (1,000,000) rows read in primary-key chunks of 8096
 *   ('scan.startup.mode' = 'snapshot'), next to PostgreSQL's own `COPY table TO STDOUT` (psql,
 *   output discarded) and one plain `SELECT` of the same rows as text;
 * - stream: WEIR_BENCH_CDC_CHANGES (500,000) changes (60% updates giving -U/+U, 20% inserts,
 *   20% deletes, REPLICA IDENTITY FULL) already in the WAL, decoded from the slot to rows, with a
 *   checkpoint (positions + completion, which acknowledges the slot) every 100,000 rows; next to
 *   `pg_recvlogical` streaming the same changes from a second pgoutput slot to /dev/null.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { prepareJob } from '../src/cli/job-file.js';
import { silentLogger } from '../src/log.js';
import type { SourceReader } from '../src/runtime/source.js';
import { postgresCdcConnector } from '../connectors/postgres-cdc/index.js';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import '../connectors/index.js';

const run = promisify(execFile);
const ROWS = Number(process.env.WEIR_BENCH_CDC_ROWS ?? 1_000_000);
const CHANGES = Number(process.env.WEIR_BENCH_CDC_CHANGES ?? 500_000);
const REPEAT = Number(process.env.WEIR_BENCH_REPEAT ?? 3);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function reader(s: TestPostgres, table: string, slot: string, extra: Record<string, string>): SourceReader {
  const options = { ...s.options(), 'table-name': table, 'slot.name': slot, 'publication.name': `pub_${table}`, 'heartbeat.interval.ms': '0', ...extra };
  const conn = Object.entries(options)
    .map(([k, v]) => `'${k}' = '${v.replace(/'/g, "''")}'`)
    .join(', ');
  const job = prepareJob(
    `CREATE TABLE src (id INT, grp INT, amount DECIMAL(12, 2), note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc', ${conn});
CREATE TABLE b (id INT) WITH ('connector' = 'blackhole');
INSERT INTO b SELECT id FROM src;`,
    'bench.sql',
    [],
  );
  const t = job.catalog.getTable('src')!;
  const source = postgresCdcConnector.createSource!(t, t.schema);
  return source.createReader({ jobName: 'bench', operatorUid: 'src', subtaskIndex: 0, parallelism: 1, schema: t.schema, log: silentLogger, inc() {} });
}

async function createTable(s: TestPostgres, name: string, rows: number): Promise<void> {
  await s.query(`DROP TABLE IF EXISTS ${name}`);
  await s.query(`CREATE TABLE ${name} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL, note text)`);
  await s.query(`ALTER TABLE ${name} REPLICA IDENTITY FULL`);
  await s.query(`INSERT INTO ${name} SELECT g, g % 97, (g % 10000) / 100.0, 'note ' || g FROM generate_series(1, ${rows}) g`);
  await s.query(`VACUUM ANALYZE ${name}`);
}

/** Polls until `rows` rows arrived (or 'end'), with a checkpoint every `every` rows; seconds. */
async function drain(r: SourceReader, rows: number, every = 0): Promise<{ seconds: number; rows: number }> {
  const t0 = performance.now();
  let n = 0;
  let next = every;
  let checkpoint = 0;
  while (n < rows) {
    const b = await r.poll();
    if (b === 'end') break;
    if (!b) {
      await new Promise((res) => setImmediate(res));
      continue;
    }
    n += b.size;
    if (every > 0 && n >= next) {
      next += every;
      r.positions();
      await r.notifyCheckpointComplete(++checkpoint);
    }
  }
  return { seconds: (performance.now() - t0) / 1000, rows: n };
}

async function benchSnapshot(s: TestPostgres): Promise<void> {
  await createTable(s, 'bench_snap', ROWS);
  const plain: number[] = [];
  const weir: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const c = new pg.Client({
      host: s.host,
      port: s.port,
      user: s.user,
      password: s.password,
      database: s.database,
      types: { getTypeParser: () => (v: string) => v },
    });
    await c.connect();
    const t0 = performance.now();
    const res = await c.query({ text: 'SELECT id::text, grp::text, amount::text, note FROM bench_snap', rowMode: 'array' });
    plain.push(res.rowCount! / ((performance.now() - t0) / 1000));
    await c.end();
    const r = reader(s, 'bench_snap', `bench_snap_${i}`, { 'scan.startup.mode': 'snapshot' });
    await r.assign([{ id: `postgres-cdc:bench_snap_${i}` }], []);
    const d = await drain(r, Number.MAX_SAFE_INTEGER);
    await r.close();
    if (d.rows !== ROWS) throw new Error(`snapshot read ${d.rows} rows, expected ${ROWS}`);
    weir.push(d.rows / d.seconds);
  }
  const copy: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await psql(s, ['-c', 'COPY bench_snap TO STDOUT']);
    copy.push(ROWS / ((performance.now() - t0) / 1000));
  }
  const base = median(plain);
  const rate = median(weir);
  const copyRate = median(copy);
  console.log(`postgres-cdc COPY TO STDOUT (psql)      : ${fmt(copyRate)} rows/s (${fmt(ROWS)} rows)`);
  console.log(`postgres-cdc plain SELECT (text)        : ${fmt(base)} rows/s (${fmt(ROWS)} rows, one query)`);
  console.log(
    `postgres-cdc snapshot (chunks of 8096)  : ${fmt(rate)} rows/s = ${(rate / copyRate).toFixed(2)} x COPY TO, ${(rate / base).toFixed(2)} x plain SELECT`,
  );
}

function pgEnv(s: TestPostgres): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: s.host, PGPORT: String(s.port), PGUSER: s.user, PGPASSWORD: s.password, PGDATABASE: s.database };
}

/** Runs psql with its output discarded (a COPY TO STDOUT measures the server and the wire). */
function psql(s: TestPostgres, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args], { env: pgEnv(s), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}: ${err}`))));
  });
}

/** pg_recvlogical from `slot` (pgoutput) up to `endpos`, output discarded; seconds. */
async function recvlogical(s: TestPostgres, slot: string, publication: string, endpos: string): Promise<number> {
  const t0 = performance.now();
  await run(
    'pg_recvlogical',
    [
      '-d',
      s.database,
      '--slot',
      slot,
      '--start',
      '--endpos',
      endpos,
      '--no-loop',
      '-o',
      'proto_version=1',
      '-o',
      `publication_names=${publication}`,
      '-f',
      '/dev/null',
    ],
    { env: pgEnv(s), maxBuffer: 1 << 20 },
  );
  return (performance.now() - t0) / 1000;
}

/** Writes CHANGES changes to `table` (ids 1..CHANGES/5*3 exist): returns the rows they decode to. */
async function writeChanges(s: TestPostgres, table: string, base: number): Promise<number> {
  const updates = Math.floor(CHANGES * 0.6);
  const inserts = Math.floor(CHANGES * 0.2);
  const deletes = CHANGES - updates - inserts;
  const step = 10_000;
  for (let lo = 1; lo <= updates; lo += step)
    await s.query(`UPDATE ${table} SET amount = amount + 1, grp = (grp + 1) % 97 WHERE id BETWEEN ${lo} AND ${Math.min(updates, lo + step - 1)}`);
  for (let lo = 0; lo < inserts; lo += step)
    await s.query(`INSERT INTO ${table} SELECT ${base} + g, g % 97, 1.5, 'new' FROM generate_series(${lo}, ${Math.min(inserts, lo + step) - 1}) g`);
  for (let lo = 1; lo <= deletes; lo += step)
    await s.query(`DELETE FROM ${table} WHERE id BETWEEN ${updates + lo} AND ${updates + Math.min(deletes, lo + step - 1)}`);
  return updates * 2 + inserts + deletes;
}

async function benchStream(s: TestPostgres): Promise<void> {
  const rates: number[] = [];
  const native: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const table = `bench_stream_${i}`;
    await createTable(s, table, CHANGES);
    const slot = `bench_stream_${i}`;
    const r = reader(s, table, slot, { 'scan.startup.mode': 'latest-offset' });
    await r.assign([{ id: `postgres-cdc:${slot}` }], []);
    // A second slot at the same point, for pg_recvlogical.
    await s.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [`${slot}_native`]);
    const expected = await writeChanges(s, table, 10_000_000);
    const [[endpos]] = await s.query('SELECT pg_current_wal_lsn()::text');
    const d = await drain(r, expected, 100_000);
    await r.close();
    await s.query('SELECT pg_drop_replication_slot($1)', [slot]);
    if (d.rows !== expected) throw new Error(`stream read ${d.rows} rows, expected ${expected}`);
    rates.push(CHANGES / d.seconds);
    native.push(CHANGES / (await recvlogical(s, `${slot}_native`, `pub_${table}`, endpos!)));
    await s.query('SELECT pg_drop_replication_slot($1)', [`${slot}_native`]);
  }
  const rate = median(rates);
  const base = median(native);
  console.log(`postgres-cdc pg_recvlogical (pgoutput)  : ${fmt(base)} changes/s (${fmt(CHANGES)} changes in the WAL, to /dev/null)`);
  console.log(
    `postgres-cdc stream (pgoutput -> rows)  : ${fmt(rate)} changes/s = ${(rate / base).toFixed(2)} x pg_recvlogical (REPLICA IDENTITY FULL, checkpoint every 100,000 rows)`,
  );
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const s = await startPostgres({ fsync: false });
  try {
    console.log(`weir bench postgres-cdc — node ${process.version}, reader only, median of ${REPEAT}`);
    if (!only.length || only.includes('snapshot')) await benchSnapshot(s);
    if (!only.length || only.includes('stream')) await benchStream(s);
  } finally {
    await s.stop();
  }
}

await main();
