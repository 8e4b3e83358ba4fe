/**
 * `node --import tsx bench/postgres-cdc.ts [snapshot] [stream]`: rows/s of the postgres-cdc
 * source's reader alone (no job around it) against an embedded PostgreSQL (fsync off: this
 * measures reading, not the server's writes), median of WEIR_BENCH_REPEAT (3) runs:
 * - snapshot: WEIR_BENCH_CDC_ROWS (1,000,000) rows read in primary-key chunks of 8096
 *   ('scan.startup.mode' = 'snapshot'), next to one plain `SELECT` of the same rows as text;
 * - stream: WEIR_BENCH_CDC_CHANGES (500,000) changes (60% updates giving -U/+U, 20% inserts,
 *   20% deletes, REPLICA IDENTITY FULL) already in the WAL, decoded from the slot to rows, with a
 *   checkpoint (positions + completion, which acknowledges the slot) every 100,000 rows.
 */
import pg from 'pg';
import { prepareJob } from '../src/cli/job-file.js';
import { silentLogger } from '../src/log.js';
import type { SourceReader } from '../src/runtime/source.js';
import { postgresCdcConnector } from '../connectors/postgres-cdc/index.js';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import '../connectors/index.js';

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
    const c = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database, types: { getTypeParser: () => (v: string) => v } });
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
  const base = median(plain);
  const rate = median(weir);
  console.log(`postgres-cdc plain SELECT (text)        : ${fmt(base)} rows/s (${fmt(ROWS)} rows, one query)`);
  console.log(`postgres-cdc snapshot (chunks of 8096)  : ${fmt(rate)} rows/s = ${(rate / base).toFixed(2)} x plain SELECT`);
}

/** Writes CHANGES changes to `table` (ids 1..CHANGES/5*3 exist): returns the rows they decode to. */
async function writeChanges(s: TestPostgres, table: string, base: number): Promise<number> {
  const updates = Math.floor(CHANGES * 0.6);
  const inserts = Math.floor(CHANGES * 0.2);
  const deletes = CHANGES - updates - inserts;
  const step = 10_000;
  for (let lo = 1; lo <= updates; lo += step) await s.query(`UPDATE ${table} SET amount = amount + 1, grp = (grp + 1) % 97 WHERE id BETWEEN ${lo} AND ${Math.min(updates, lo + step - 1)}`);
  for (let lo = 0; lo < inserts; lo += step) await s.query(`INSERT INTO ${table} SELECT ${base} + g, g % 97, 1.5, 'new' FROM generate_series(${lo}, ${Math.min(inserts, lo + step) - 1}) g`);
  for (let lo = 1; lo <= deletes; lo += step) await s.query(`DELETE FROM ${table} WHERE id BETWEEN ${updates + lo} AND ${updates + Math.min(deletes, lo + step - 1)}`);
  return updates * 2 + inserts + deletes;
}

async function benchStream(s: TestPostgres): Promise<void> {
  const rates: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const table = `bench_stream_${i}`;
    await createTable(s, table, CHANGES);
    const slot = `bench_stream_${i}`;
    const r = reader(s, table, slot, { 'scan.startup.mode': 'latest-offset' });
    await r.assign([{ id: `postgres-cdc:${slot}` }], []);
    const expected = await writeChanges(s, table, 10_000_000);
    const d = await drain(r, expected, 100_000);
    await r.close();
    await s.query('SELECT pg_drop_replication_slot($1)', [slot]);
    if (d.rows !== expected) throw new Error(`stream read ${d.rows} rows, expected ${expected}`);
    rates.push(d.rows / d.seconds);
  }
  console.log(`postgres-cdc stream (pgoutput -> rows)  : ${fmt(median(rates))} rows/s (${fmt(CHANGES)} changes in the WAL, REPLICA IDENTITY FULL, checkpoint every 100,000 rows)`);
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
