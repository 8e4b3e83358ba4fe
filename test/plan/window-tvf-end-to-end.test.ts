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
 * Golden end-to-end window Top-N and window joins read directly over window TVFs (no window
 * aggregate in between), into DuckDB tables without a primary key (the output must be
 * insert-only). Datagen rows have an event time from the id, out of order by up to 3 s under a
 * 5 s watermark delay; ids > 2400 divisible by 50 are 1000 s late. The source is unthrottled, so
 * each split emits fixed batches of 1024 rows: those late rows come in a later batch than rows
 * whose watermark has passed all their windows, so they are dropped at any parallelism.
 * Expected computed here.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 3000;
const late = (id: number): boolean => id > 2400 && id % 50 === 0;
const tsA = (id: number): number => (late(id) ? id * 1000 - 1_000_000 : id * 1000 + ((id * 7) % 4) * 1000);
const tsB = (id: number): number => id * 700 + ((id * 3) % 4) * 1000;
const vA = (id: number): number => (id * 13) % 101;

const SQL = (path: string) => `
CREATE TABLE a (
  id BIGINT, k AS id % 5, v AS id * 13 % 101,
  ts AS TO_TIMESTAMP_LTZ(CASE WHEN id > 2400 AND id % 50 = 0 THEN id * 1000 - 1000000 ELSE id * 1000 + id * 7 % 4 * 1000 END, 3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}');
CREATE TABLE b (id BIGINT, k AS id % 7, ts AS TO_TIMESTAMP_LTZ(id * 700 + id * 3 % 4 * 1000, 3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}');
CREATE TABLE top3 (ws TIMESTAMP(3), id BIGINT, v BIGINT, rn BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE TABLE hop_top (ws TIMESTAMP(3), we TIMESTAMP(3), k BIGINT, id BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE TABLE inner_out (ws TIMESTAMP(3), aid BIGINT, bid BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE TABLE left_out (ws TIMESTAMP(3), aid BIGINT, bid BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO top3 SELECT window_start, id, v, rn FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY v DESC, id) AS rn
    FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  ) WHERE rn <= 3;
  INSERT INTO hop_top SELECT window_start, window_end, k, id FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY v DESC, id) AS rn
    FROM TABLE(HOP(TABLE a, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
  ) WHERE rn = 1;
  INSERT INTO inner_out SELECT L.window_start, L.id, R.id
    FROM (SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '10' SECOND))) L
    JOIN (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '10' SECOND))) R
    ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.k = R.k;
  INSERT INTO left_out SELECT L.window_start, L.id, R.id
    FROM (SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '10' SECOND))) L
    LEFT JOIN (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '10' SECOND))) R
    ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.k = R.k AND R.id % 3 = 0;
END;`;

type Row = number[];
const byCols = (x: (number | null)[], y: (number | null)[]): number => {
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

function expected(): { top3: Row[]; hop: Row[]; inner: Row[]; left: (number | null)[][] } {
  const ids = Array.from({ length: N }, (_, i) => i + 1).filter((id) => !late(id));
  const groupBy = <K>(keyOf: (id: number) => K[], list: number[]): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    for (const id of list) for (const k of keyOf(id)) m.set(String(k), [...(m.get(String(k)) ?? []), id]);
    return m;
  };
  const best = (x: number, y: number): number => vA(y) - vA(x) || x - y;
  const top3: Row[] = [];
  for (const [ws, list] of groupBy((id) => [tsA(id) - (tsA(id) % 10_000)], ids)) {
    list
      .sort(best)
      .slice(0, 3)
      .forEach((id, i) => top3.push([Number(ws), id, vA(id), i + 1]));
  }
  const hop: Row[] = [];
  const hopWindows = (id: number): string[] => {
    const t = tsA(id);
    const out: string[] = [];
    for (let end = t - (t % 5000) + 5000; end - 10_000 <= t; end += 5000) out.push(`${end - 10_000}|${end}|${id % 5}`);
    return out;
  };
  for (const [key, list] of groupBy(hopWindows, ids)) {
    const [ws, we, k] = key.split('|').map(Number) as [number, number, number];
    hop.push([ws, we, k, list.sort(best)[0]!]);
  }
  const bBy = groupBy(
    (id) => [`${tsB(id) - (tsB(id) % 10_000)}|${id % 7}`],
    Array.from({ length: N }, (_, i) => i + 1),
  );
  const inner: Row[] = [];
  const left: (number | null)[][] = [];
  for (const id of ids) {
    const ws = tsA(id) - (tsA(id) % 10_000);
    const matches = bBy.get(`${ws}|${id % 5}`) ?? [];
    for (const bid of matches) inner.push([ws, id, bid]);
    const m3 = matches.filter((bid) => bid % 3 === 0);
    if (m3.length === 0) left.push([ws, id, null]);
    for (const bid of m3) left.push([ws, id, bid]);
  }
  return { top3: top3.sort(byCols), hop: hop.sort(byCols), inner: inner.sort(byCols), left: left.sort(byCols) };
}

describe('window Top-N and window join over window TVFs, end to end', () => {
  it('plans WindowTableFunction vertices (forward) feeding insert-only WindowRank and WindowJoin', () => {
    const { catalog, inserts } = load(SQL('/tmp/unused.duckdb'));
    const text = maskUids(explainGraph(planJob(inserts, catalog, { jobName: 'wtvf', parallelism: 2 })));
    const ops = text.split('\n[');
    const ranks = ops.filter((o) => /^\d+\] WindowRank/.test(o));
    expect(ranks).toHaveLength(2);
    for (const op of ranks) expect(op).toContain('changelog: insert-only');
    const joins = ops.filter((o) => /^\d+\] WindowJoin/.test(o));
    expect(joins).toHaveLength(2);
    for (const op of joins) expect(op).toContain('changelog: insert-only');
    const tvfs = ops.filter((o) => /^\d+\] WindowTableFunction/.test(o));
    expect(tvfs.length).toBeGreaterThanOrEqual(3);
    expect(tvfs.some((o) => o.includes('HOP(time_col=[ts], size=[10 s], slide=[5 s])'))).toBe(true);
    for (const op of tvfs) expect(op).toMatch(/via FORWARD/);
  });

  it('a SESSION window TVF read directly is still an error', () => {
    const { catalog, inserts } = load(`
      CREATE TABLE s (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen', 'number-of-rows' = '1');
      CREATE TABLE o (ws TIMESTAMP(3), id BIGINT) WITH ('connector' = 'blackhole');
      INSERT INTO o SELECT window_start, id FROM TABLE(SESSION(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE));`);
    expect(() => planJob(inserts, catalog, { jobName: 'x', parallelism: 1 })).toThrow(
      /a SESSION window TVF must be followed by GROUP BY window_start, window_end/,
    );
  });

  it.each([1, 2])(
    'TUMBLE and HOP Top-N, INNER and LEFT window joins, late rows dropped, parallelism %i',
    async (p) => {
      const dir = await mkdtemp(join(tmpdir(), 'weir-wtvf-e2e-'));
      dirs.push(dir);
      const db = join(dir, 'out.duckdb');
      const { status } = await runBoundedJob(SQL(db), { jobName: 'wtvf', parallelism: p, checkpointDir: join(dir, 'chk') });
      const counters = status.counters ?? {};
      expect(
        Object.entries(counters)
          .filter(([name]) => name.includes('late'))
          .reduce((s, [, v]) => s + v, 0),
      ).toBeGreaterThan(0);
      const exp = expected();
      expect(exp.top3.length).toBeGreaterThan(800);
      expect(exp.left.some((r) => r[2] === null)).toBe(true);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), id, v, rn FROM top3 ORDER BY ws, id, v, rn')).toEqual(exp.top3);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), epoch_ms(we), k, id FROM hop_top ORDER BY ws, we, k, id')).toEqual(exp.hop);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), aid, bid FROM inner_out ORDER BY ws, aid, bid')).toEqual(exp.inner);
      expect(await queryDuckDb(db, 'SELECT epoch_ms(ws), aid, bid FROM left_out ORDER BY ws, aid, bid NULLS FIRST')).toEqual(exp.left);
    },
    600_000,
  );
});
