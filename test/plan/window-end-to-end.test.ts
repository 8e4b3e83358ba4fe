import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runBoundedJob } from '../support/bounded-job.js';

/**
 * Golden end-to-end window tests: datagen rows with an event time derived from a sequence
 * (id * 1 s, so split k of n is in order and no row is late), windowed into DuckDB; the expected
 * windows are computed here from the same ids.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 1000;
const ts = (id: number): number => id * 1000;

async function run(query: (db: string) => string, parallelism: number): Promise<{ db: string; counters: Record<string, number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-window-e2e-'));
  dirs.push(dir);
  const db = join(dir, 'out.duckdb');
  const { status } = await runBoundedJob(
    `
    CREATE TABLE src (
      id BIGINT,
      k INT,
      ts AS TO_TIMESTAMP_LTZ(id * 1000, 3),
      WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
    ) WITH (
      'connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000',
      'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}',
      'fields.k.min' = '0', 'fields.k.max' = '0'
    );
    ${query(db)}`,
    { jobName: 'window-e2e', parallelism, checkpointDir: join(dir, 'chk') },
  );
  return { db, counters: status.counters ?? {} };
}

/** Expected [start, end, count, sum] of every window that has rows. */
function expected(windowsOf: (t: number) => [number, number][]): number[][] {
  const m = new Map<string, number[]>();
  for (let id = 1; id <= N; id++) {
    for (const [s, e] of windowsOf(ts(id))) {
      const key = `${s}`;
      const cur = m.get(key) ?? [s, e, 0, 0];
      cur[2]++;
      cur[3] += id;
      m.set(key, cur);
    }
  }
  return [...m.values()].sort((a, b) => a[0] - b[0]);
}

const iso = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '')
    .replace(/\.000$/, '');

describe('event-time windows end to end (datagen -> window aggregate -> DuckDB)', () => {
  it.each([1, 2])('TUMBLE via the window TVF, parallelism %i', async (p) => {
    const { db } = await run(
      (path) => `
      CREATE TABLE out (ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT, total BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
      INSERT INTO out
        SELECT window_start, window_end, COUNT(*), SUM(id)
        FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end;`,
      p,
    );
    const rows = await queryDuckDb(db, 'SELECT CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt, total FROM out ORDER BY ws');
    const exp = expected((t) => [[t - (t % 60_000), t - (t % 60_000) + 60_000]]);
    expect(rows).toEqual(exp.map(([s, e, c, sum]) => [iso(s), iso(e), c, sum]));
  });

  it.each([1, 2])('HOP and CUMULATE with a key, and the legacy GROUP BY TUMBLE, parallelism %i', async (p) => {
    const { db } = await run(
      (path) => `
      CREATE TABLE hop (k INT, ws TIMESTAMP(3), cnt BIGINT, total BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
      CREATE TABLE cum (ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
      CREATE TABLE legacy (ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
      EXECUTE STATEMENT SET BEGIN
        INSERT INTO hop SELECT k, window_start, COUNT(*), SUM(id)
          FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '2' MINUTE))
          GROUP BY k, window_start, window_end;
        INSERT INTO cum SELECT window_start, window_end, COUNT(*)
          FROM TABLE(CUMULATE(TABLE src, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE))
          GROUP BY window_start, window_end;
        INSERT INTO legacy SELECT TUMBLE_START(ts, INTERVAL '5' MINUTE), TUMBLE_END(ts, INTERVAL '5' MINUTE), COUNT(*)
          FROM src GROUP BY TUMBLE(ts, INTERVAL '5' MINUTE);
      END;`,
      p,
    );
    const hop = await queryDuckDb(db, 'SELECT k, CAST(ws AS VARCHAR), cnt, total FROM hop ORDER BY ws');
    const hopExp = expected((t) => {
      const out: [number, number][] = [];
      for (let s = t - (t % 30_000); s > t - 120_000; s -= 30_000) out.push([s, s + 120_000]);
      return out;
    });
    expect(hop).toEqual(hopExp.map(([s, , c, sum]) => [0, iso(s), c, sum]));
    const cum = await queryDuckDb(db, 'SELECT CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt FROM cum ORDER BY we');
    const cumExp = new Map<number, number[]>();
    for (let id = 1; id <= N; id++) {
      const t = ts(id);
      const start = t - (t % 600_000);
      for (let e = t - (t % 120_000) + 120_000; e <= start + 600_000; e += 120_000) {
        const cur = cumExp.get(e) ?? [start, e, 0];
        cur[2]++;
        cumExp.set(e, cur);
      }
    }
    expect(cum).toEqual([...cumExp.values()].sort((a, b) => a[1] - b[1]).map(([s, e, c]) => [iso(s), iso(e), c]));
    const legacy = await queryDuckDb(db, 'SELECT CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt FROM legacy ORDER BY ws');
    expect(legacy).toEqual(expected((t) => [[t - (t % 300_000), t - (t % 300_000) + 300_000]]).map(([s, e, c]) => [iso(s), iso(e), c]));
  });
});
