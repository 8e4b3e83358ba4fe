import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { explainGraph } from '../../src/plan/explain.js';
import { planJob } from '../../src/plan/physical.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { load, maskUids } from './helpers.js';
import { runBoundedJob } from '../support/bounded-job.js';

/**
 * Golden end-to-end window Top-N: datagen rows (event time from the id, out of order by up to 3 s
 * under a 5 s watermark delay), a TUMBLE window aggregate per key, then ROW_NUMBER() OVER
 * (PARTITION BY window_start, window_end ORDER BY total DESC) <= 3, into a DuckDB table without a
 * primary key (an append-only sink: the window Top-N must be insert-only). Expected computed here.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 2000;
const ts = (id: number): number => id * 1000 + ((id * 7) % 4) * 1000;
const key = (id: number): number => id % 7;
const val = (id: number): number => (id * 13) % 101;

const SQL = (path: string) => `
CREATE TABLE src (
  id BIGINT,
  k AS id % 7,
  v AS id * 13 % 101,
  ts AS TO_TIMESTAMP_LTZ(id * 1000 + id * 7 % 4 * 1000, 3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}'
);
CREATE TABLE top3 (ws TIMESTAMP(3), k BIGINT, total BIGINT, rn BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
INSERT INTO top3
SELECT window_start, k, total, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY total DESC, k) AS rn
  FROM (
    SELECT window_start, window_end, k, SUM(v) AS total
    FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, k
  )
) WHERE rn <= 3;`;

function expected(): number[][] {
  const sums = new Map<string, number>();
  for (let id = 1; id <= N; id++) {
    const t = ts(id);
    const ws = t - (t % 60_000);
    const k = `${ws}|${key(id)}`;
    sums.set(k, (sums.get(k) ?? 0) + val(id));
  }
  const byWindow = new Map<number, [number, number][]>();
  for (const [k, total] of sums) {
    const [ws, kk] = k.split('|').map(Number) as [number, number];
    const list = byWindow.get(ws) ?? [];
    list.push([kk, total]);
    byWindow.set(ws, list);
  }
  const out: number[][] = [];
  for (const [ws, list] of [...byWindow].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    list.slice(0, 3).forEach(([k, total], i) => out.push([ws, k, total, i + 1]));
  }
  return out;
}

describe('window Top-N end to end', () => {
  it('plans an insert-only WindowRank keyed by the window, after the window aggregate', () => {
    const { catalog, inserts } = load(SQL('/tmp/unused.duckdb'));
    const text = maskUids(explainGraph(planJob(inserts, catalog, { jobName: 'wrank', parallelism: 2 })));
    const op = text.split('\n[').find((o) => o.includes('WindowRank'));
    expect(op).toBeDefined();
    expect(op).toContain('changelog: insert-only');
    expect(op).toContain('rankRange=[1..3], windowEnd=[window_end]');
    expect(op).toMatch(/input: \[\d+\] Calc via HASH\[window_start, window_end\]/);
    expect(text).toContain('Sink: top3');
  });

  it.each([1, 2])(
    'top 3 keys per 1-minute window by total, parallelism %i',
    async (p) => {
      const dir = await mkdtemp(join(tmpdir(), 'weir-wrank-e2e-'));
      dirs.push(dir);
      const db = join(dir, 'out.duckdb');
      await runBoundedJob(SQL(db), { jobName: 'wrank', parallelism: p, checkpointDir: join(dir, 'chk') });
      const exp = expected();
      expect(exp.length).toBeGreaterThan(60);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), k, total, rn FROM top3 ORDER BY ws, rn')).toEqual(exp);
    },
    600_000,
  );
});
