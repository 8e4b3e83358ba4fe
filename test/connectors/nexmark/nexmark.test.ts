import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../../connectors/index.js';
import { eventNumber, eventsOfTable, NexmarkGenerator } from '../../../connectors/nexmark/nexmark-generator.js';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { runBoundedJob } from '../../support/bounded-job.js';

const SQL_DIR = resolve(import.meta.dirname, '../../../sql/nexmark');
const EVENTS = 10_000;
const TPS = 1000; // 10 s of event time
const RUNNABLE = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8', 'q9', 'q10', 'q11', 'q14', 'q15', 'q16', 'q17', 'q18', 'q19', 'q20', 'q21', 'q22'];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function script(query: string, sink?: (sql: string) => string): string {
  const ddl = readFileSync(join(SQL_DIR, 'ddl.sql'), 'utf8').replaceAll('${NEXMARK_EVENTS}', String(EVENTS)).replaceAll('${NEXMARK_TPS}', String(TPS));
  const q = readFileSync(join(SQL_DIR, `${query}.sql`), 'utf8');
  return `${ddl}\n${sink ? sink(q) : q}`;
}

async function run(sql: string, parallelism: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-nexmark-'));
  dirs.push(dir);
  const { status } = await runBoundedJob(sql.replaceAll('${DIR}', dir), { jobName: 'nexmark', parallelism, checkpointDir: join(dir, 'chk') });
  return status.counters ?? {};
}

const gen = new NexmarkGenerator(0, 1_436_918_400_000, TPS);
function rows(table: 'person' | 'auction' | 'bid', cols: string[]): unknown[][] {
  const fns = cols.map((c) => gen.column(table, c));
  const n = eventsOfTable(table, EVENTS);
  const out: unknown[][] = [];
  for (let i = 0; i < n; i++) {
    const e = eventNumber(table, i);
    out.push(fns.map((f) => f(e)));
  }
  return out;
}

describe('nexmark generator', () => {
  it('proportions 1:3:46, ids in order, bids on existing or upcoming auctions, deterministic', () => {
    expect([eventsOfTable('person', EVENTS), eventsOfTable('auction', EVENTS), eventsOfTable('bid', EVENTS)]).toEqual([200, 600, 9200]);
    expect(eventsOfTable('bid', 53)).toBe(46 + 0);
    expect(eventsOfTable('auction', 53)).toBe(3 + 2);
    const people = rows('person', ['id']).map((r) => r[0] as number);
    expect(people.slice(0, 3)).toEqual([1000, 1001, 1002]);
    const auctions = rows('auction', ['id', 'seller', 'category', 'dateTime', 'expires']);
    expect(auctions.map((r) => r[0])).toEqual(auctions.map((_, i) => 1000 + i));
    for (const [, seller, category, dt, exp] of auctions) {
      expect(seller as number).toBeLessThan(1000 + 200 + 10);
      expect([10, 11, 12, 13, 14]).toContain(category);
      expect(exp as number).toBeGreaterThan(dt as number);
    }
    const bids = rows('bid', ['auction', 'price', 'dateTime']);
    for (const [a, price] of bids) {
      expect(a as number).toBeLessThan(1000 + 600 + 10);
      expect(price as number).toBeGreaterThanOrEqual(100);
    }
    expect(rows('bid', ['extra', 'url']).slice(0, 50)).toEqual(rows('bid', ['extra', 'url']).slice(0, 50));
  });
});

describe('nexmark queries on 10,000 events', () => {
  it.each(RUNNABLE)(
    '%s plans and runs (parallelism 2)',
    async (q) => {
      await run(script(q), 2);
    },
    600_000,
  );

  it('q2, q3 and q17 into DuckDB equal results computed from the generator', async () => {
    const duck =
      (name: string, pk = '') =>
      (sql: string) =>
        sql.replace(/\) WITH \('connector' = 'blackhole'\)/, `${pk}) WITH ('connector' = 'duckdb', 'path' = '\${DIR}/out.duckdb', 'table-name' = '${name}')`);
    const dir = { q2: '', q3: '', q17: '' };
    for (const [q, pk] of [
      ['q2', ''],
      ['q3', ''],
      ['q17', ', PRIMARY KEY (auction, `day`) NOT ENFORCED'],
    ] as const) {
      const sql = script(q, duck(q, pk));
      const d = await mkdtemp(join(tmpdir(), 'weir-nexmark-exact-'));
      dirs.push(d);
      await runBoundedJob(sql.replaceAll('${DIR}', d), { jobName: q, parallelism: 2, checkpointDir: join(d, 'chk') });
      dir[q] = join(d, 'out.duckdb');
    }
    const sort = (r: unknown[][]) => r.map((x) => JSON.stringify(x)).sort();
    const q2 = rows('bid', ['auction', 'price']).filter(([a]) => (a as number) % 123 === 0);
    expect(q2.length).toBeGreaterThan(0);
    expect(sort(await queryDuckDb(dir.q2, 'SELECT auction, price FROM q2'))).toEqual(sort(q2));

    const people = new Map(rows('person', ['id', 'name', 'city', 'state']).map((r) => [r[0], r]));
    const q3: unknown[][] = [];
    for (const [id, seller, category] of rows('auction', ['id', 'seller', 'category'])) {
      const p = people.get(seller);
      if (category === 10 && p && ['OR', 'ID', 'CA'].includes(p[3] as string)) q3.push([p[1], p[2], p[3], id]);
    }
    expect(q3.length).toBeGreaterThan(0);
    expect(sort(await queryDuckDb(dir.q3, 'SELECT name, city, state, id FROM q3'))).toEqual(sort(q3));

    const groups = new Map<string, number[]>();
    for (const [a, price, dt] of rows('bid', ['auction', 'price', 'dateTime'])) {
      const day = new Date(dt as number).toISOString().slice(0, 10);
      const k = `${a}|${day}`;
      const g = groups.get(k) ?? [a as number, 0, 0, 0, 0, Infinity, -Infinity, 0];
      const p = price as number;
      g[1]++;
      if (p < 10000) g[2]++;
      else if (p < 1000000) g[3]++;
      else g[4]++;
      g[5] = Math.min(g[5]!, p);
      g[6] = Math.max(g[6]!, p);
      g[7] += p;
      groups.set(k, g);
    }
    const exp17 = [...groups.entries()].map(([k, g]) => [g[0], k.split('|')[1], g[1], g[2], g[3], g[4], g[5], g[6], Math.trunc(g[7]! / g[1]!), g[7]]);
    expect(
      sort(
        await queryDuckDb(
          dir.q17,
          'SELECT auction, "day", total_bids, rank1_bids, rank2_bids, rank3_bids, min_price, max_price, avg_price, sum_price FROM q17',
        ),
      ),
    ).toEqual(sort(exp17));
  }, 600_000);
});
