import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { explainGraph } from '../../src/plan/explain.js';
import { planJob } from '../../src/plan/physical.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { load, maskUids } from './helpers.js';
import { runBoundedJob } from '../support/bounded-job.js';

/**
 * Golden end-to-end window joins: two datagen streams (event time from the id, out of order by up
 * to 3 s under a 5 s watermark delay) aggregated in 10-second TUMBLE windows per key and joined on
 * window_start, window_end and the key, INNER and LEFT, into DuckDB tables without a primary key
 * (the window join is insert-only also as an outer join). Expected computed here.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 1500;
const W = 10_000;
// a: every id, key id % 5; b: every id, key id % 7 (keys 5 and 6 exist only in b, so LEFT JOIN
// finds keys of a missing from b only where b's window lacks them).
const tsA = (id: number): number => id * 200 + ((id * 7) % 4) * 1000;
const tsB = (id: number): number => id * 300 + ((id * 3) % 4) * 1000;

const SQL = (path: string) => `
CREATE TABLE a (id BIGINT, k AS id % 5, ts AS TO_TIMESTAMP_LTZ(id * 200 + id * 7 % 4 * 1000, 3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}');
CREATE TABLE b (id BIGINT, k AS id % 7, ts AS TO_TIMESTAMP_LTZ(id * 300 + id * 3 % 4 * 1000, 3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}');
CREATE TABLE inner_out (ws TIMESTAMP(3), k BIGINT, na BIGINT, nb BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE TABLE left_out (ws TIMESTAMP(3), k BIGINT, na BIGINT, nb BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE VIEW wa AS SELECT k, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;
CREATE VIEW wb AS SELECT k, window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end;
EXECUTE STATEMENT SET BEGIN
  INSERT INTO inner_out SELECT wa.window_start, wa.k, wa.n, wb.n FROM wa JOIN wb
    ON wa.window_start = wb.window_start AND wa.window_end = wb.window_end AND wa.k = wb.k WHERE wa.n <> wb.n + 100;
  INSERT INTO left_out SELECT wa.window_start, wa.k, wa.n, wb.n FROM wa LEFT JOIN wb
    ON wa.window_start = wb.window_start AND wa.window_end = wb.window_end AND wa.k = wb.k AND wb.n > 4;
END;`;

function counts(ts: (id: number) => number, key: (id: number) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (let id = 1; id <= N; id++) {
    const t = ts(id);
    const k = `${t - (t % W)}|${key(id)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function expected(): { inner: unknown[][]; left: unknown[][] } {
  const a = counts(tsA, (id) => id % 5);
  const b = counts(tsB, (id) => id % 7);
  const inner: unknown[][] = [];
  const left: unknown[][] = [];
  for (const [k, na] of a) {
    const [ws, key] = k.split('|').map(Number);
    const nb = b.get(k);
    if (nb !== undefined) inner.push([ws, key, na, nb]);
    left.push([ws, key, na, nb !== undefined && nb > 4 ? nb : null]);
  }
  const sort = (r: unknown[][]) => r.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
  return { inner: sort(inner), left: sort(left) };
}

describe('window joins end to end', () => {
  it('plans an insert-only WindowJoin for both join types', () => {
    const { catalog, inserts } = load(SQL('/tmp/unused.duckdb'));
    const text = maskUids(explainGraph(planJob(inserts, catalog, { jobName: 'wjoin', parallelism: 2 })));
    const ops = text.split('\n[').filter((o) => /^\d+\] WindowJoin/.test(o));
    expect(ops).toHaveLength(2);
    for (const op of ops) {
      expect(op).toContain('changelog: insert-only');
      expect(op).toContain('windowEnd=[window_end, window_end]');
    }
  });

  it('Nexmark q8 (persons and auctions in the same 10-second window) runs as a window join', () => {
    const dir = resolve(import.meta.dirname, '../../sql/nexmark');
    const sql = `${readFileSync(join(dir, 'ddl.sql'), 'utf8')}\n${readFileSync(join(dir, 'q8.sql'), 'utf8')}`
      .replaceAll('${NEXMARK_EVENTS}', '1000')
      .replaceAll('${NEXMARK_TPS}', '1000');
    const { catalog, inserts } = load(sql);
    const text = explainGraph(planJob(inserts, catalog, { jobName: 'q8', parallelism: 2 }));
    expect(text).toContain('WindowJoin');
    expect(text).not.toMatch(/\] Join\n/);
  });

  it.each([1, 2])(
    'INNER and LEFT window joins of two TUMBLE aggregates, parallelism %i',
    async (p) => {
      const dir = await mkdtemp(join(tmpdir(), 'weir-wjoin-e2e-'));
      dirs.push(dir);
      const db = join(dir, 'out.duckdb');
      await runBoundedJob(SQL(db), { jobName: 'wjoin', parallelism: p, checkpointDir: join(dir, 'chk') });
      const exp = expected();
      expect(exp.inner.length).toBeGreaterThan(100);
      expect(exp.left.some((r) => r[3] === null)).toBe(true);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), k, na, nb FROM inner_out ORDER BY ws, k')).toEqual(exp.inner);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), k, na, nb FROM left_out ORDER BY ws, k')).toEqual(exp.left);
    },
    600_000,
  );
});
