import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBDecimalValue, DuckDBInstance, DuckDBTimestampValue, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../connectors/index.js';
import { eventNumber, eventsOfTable, NEXMARK_COLUMNS, NexmarkGenerator, type NexmarkTable } from '../../../connectors/nexmark/nexmark-generator.js';
import { registerConnector } from '../../../src/connector/registry.js';
import type { Schema } from '../../../src/model/types.js';
import { rowAt, type ChangeBatch } from '../../../src/model/changelog.js';
import type { TwoPhaseCommitSink } from '../../../src/sink/two-phase-commit.js';
import { runBoundedJob } from '../../support/bounded-job.js';

/**
 * Every runnable Nexmark query of sql/nexmark, run by weir on a small fixed-seed event set,
 * against the same query computed in batch by DuckDB (sql/nexmark/duckdb/qN.sql) over the same
 * events written into DuckDB tables. weir's output goes to an in-memory sink that applies the
 * changelog (+I/+U add a row, -U/-D remove one), so updating queries compare their final contents.
 */
const SQL_DIR = resolve(import.meta.dirname, '../../../sql/nexmark');
const EVENTS = 10_000;
// 5 ms of event time per event: 50 s, so the 2 s / 10 s windows of q5, q7 and q8 close many times.
const TPS = 200;
const BASE_TIME = 1_436_918_400_000;
const QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8', 'q9', 'q10', 'q11', 'q14', 'q15', 'q16', 'q17', 'q18', 'q19', 'q20', 'q21', 'q22'];

/**
 * Queries whose result is not unique when ORDER BY ties: which of two bids with the same price
 * gets rank 10 is up to the engine, so only the deterministic columns are compared.
 */
const COMPARE_COLUMNS: Record<string, number[]> = { q19: [0, 2, 7] };

/** Rows per sink table: canonical row text -> count (negative counts mean a retraction arrived first). */
const collected = new Map<string, Map<string, number>>();

function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  if (scale > 0) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`.replace(/\.?0+$/, '');
  return `${neg ? '-' : ''}${digits}`;
}

function weirValue(v: unknown, scale: number | undefined): unknown {
  if (typeof v === 'bigint') return decimalText(v, scale ?? 0);
  return v ?? null;
}

function duckValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof DuckDBDecimalValue) return decimalText(v.value, v.scale);
  if (v instanceof DuckDBTimestampValue) return Number(v.micros / 1000n);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function collectSink(table: string) {
  return {
    acceptsUpdates: true,
    describe: () => `collect(${table})`,
    createWriter: (ctx: { schema: Schema }) => {
      const rows = collected.get(table) ?? new Map<string, number>();
      collected.set(table, rows);
      const scales = ctx.schema.fields.map((f) => (f.type.kind === 'DECIMAL' ? f.type.scale : undefined));
      const writer: TwoPhaseCommitSink<null, null> = {
        async open() {},
        async recover() {},
        async begin() {
          return null;
        },
        async write(_txn: null, batch: ChangeBatch) {
          for (let i = 0; i < batch.size; i++) {
            const key = JSON.stringify(rowAt(batch, i).map((v, c) => weirValue(v, scales[c])));
            const kind = batch.kinds[i]!;
            const n = (rows.get(key) ?? 0) + (kind === 0 || kind === 2 ? 1 : -1);
            if (n === 0) rows.delete(key);
            else rows.set(key, n);
          }
        },
        async preCommit() {
          return null;
        },
        async commit() {},
        async abort() {},
        async close() {},
      };
      return writer as unknown as TwoPhaseCommitSink;
    },
  };
}
registerConnector({ name: 'nexmark-collect', optionKeys: [], createSink: (t) => collectSink(t.name) });

const dirs: string[] = [];
let duck: DuckDBInstance;
let conn: DuckDBConnection;

/** Writes the first EVENTS events into DuckDB tables person, auction and bid. */
async function loadEvents(c: DuckDBConnection): Promise<void> {
  const gen = new NexmarkGenerator(0, BASE_TIME, TPS);
  for (const table of ['person', 'auction', 'bid'] as NexmarkTable[]) {
    const cols = Object.entries(NEXMARK_COLUMNS[table]);
    const sqlType = { BIGINT: 'BIGINT', STRING: 'VARCHAR', TIMESTAMP: 'TIMESTAMP' } as const;
    await c.run(`CREATE TABLE ${table} (${cols.map(([n, k]) => `${n} ${sqlType[k]}`).join(', ')})`);
    const appender = await c.createAppender(table);
    const fns = cols.map(([n]) => gen.column(table, n));
    const n = eventsOfTable(table, EVENTS);
    for (let i = 0; i < n; i++) {
      const e = eventNumber(table, i);
      cols.forEach(([, kind], j) => {
        const v = fns[j]!(e);
        if (v === null) appender.appendNull();
        else if (kind === 'BIGINT') appender.appendBigInt(BigInt(v as number));
        else if (kind === 'TIMESTAMP') appender.appendTimestamp(new DuckDBTimestampValue(BigInt(v as number) * 1000n));
        else appender.appendVarchar(v as string);
      });
      appender.endRow();
    }
    appender.closeSync();
  }
}

beforeAll(async () => {
  duck = await DuckDBInstance.create(':memory:');
  conn = await duck.connect();
  await loadEvents(conn);
});

afterAll(async () => {
  conn?.closeSync();
  duck?.closeSync();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function script(query: string): string {
  const ddl = readFileSync(join(SQL_DIR, 'ddl.sql'), 'utf8').replaceAll('${NEXMARK_EVENTS}', String(EVENTS)).replaceAll('${NEXMARK_TPS}', String(TPS));
  const q = readFileSync(join(SQL_DIR, `${query}.sql`), 'utf8').replace("WITH ('connector' = 'blackhole')", "WITH ('connector' = 'nexmark-collect')");
  return `${ddl}\n${q}`;
}

async function runWeir(query: string, parallelism: number): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-nexmark-duck-'));
  dirs.push(dir);
  collected.delete(`nexmark_${query}`);
  await runBoundedJob(script(query), { jobName: `nexmark-${query}`, parallelism, checkpointDir: join(dir, 'chk') });
  const out: string[] = [];
  for (const [row, n] of collected.get(`nexmark_${query}`) ?? []) {
    expect(n, `weir's ${query} output retracts a row it never emitted: ${row}`).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) out.push(row);
  }
  return out;
}

async function runDuckDb(query: string): Promise<string[]> {
  const sql = readFileSync(join(SQL_DIR, 'duckdb', `${query}.sql`), 'utf8');
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows().map((r) => JSON.stringify(r.map(duckValue)));
}

function project(rows: string[], query: string): string[] {
  const cols = COMPARE_COLUMNS[query];
  const out = cols ? rows.map((r) => JSON.stringify(cols.map((c) => (JSON.parse(r) as unknown[])[c]))) : rows;
  return out.sort();
}

describe(`nexmark queries equal DuckDB batch results (${EVENTS.toLocaleString('en-US')} events)`, () => {
  it.each(QUERIES.map((q, i) => [q, 1 + (i % 2)] as const))(
    '%s (parallelism %i)',
    async (q, parallelism) => {
      const expected = project(await runDuckDb(q), q);
      const actual = project(await runWeir(q, parallelism), q);
      expect(expected.length, `DuckDB's ${q} is empty: the test would prove nothing`).toBeGreaterThan(0);
      expect(actual.length).toBe(expected.length);
      expect(actual).toEqual(expected);
    },
    600_000,
  );
});
