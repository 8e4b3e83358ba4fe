import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runWeir, runWithKills, seededRandom, tempDir } from '../support/weir-process.js';
import { checkpointModes, expectSharedStateFiles, incrementalSetting } from './checkpoint-modes.js';

/**
 * Crash test of event-time windows: datagen rows whose event time comes from a sequence (in order
 * per split, so no row is ever late), TUMBLE and HOP window aggregations into DuckDB append
 * tables, plus SESSION windows, a window Top-N over a TVF and a window join. `weir run` is killed with SIGKILL at random moments and restarted with
 * `--from-checkpoint latest`; the output must equal an uninterrupted run's: every window exactly
 * once with the same counts (window state, pending windows and watermarks all restore).
 * Parallelism 1 runs with full checkpoints, parallelism 2 with incremental ones (checkpoint-modes.ts).
 * The rate stays below what the pipeline keeps up with on a busy two-core machine: above it a
 * run's first checkpoint completes only about when the input ends, so the kills that wait for a
 * checkpoint of the killed run (weir-process.ts) would find the job already done.
 */
const ROWS = 400_000;
const KILLS = 4;

function writeJob(dir: string, parallelism: number, incremental = false): { jobFile: string; db: string } {
  const db = join(dir, 'out.duckdb');
  const jobFile = join(dir, 'windows.sql');
  writeFileSync(
    jobFile,
    `
SET 'pipeline.name' = 'crash-windows';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
${incrementalSetting(incremental)}
CREATE TABLE src (
  id BIGINT,
  k INT,
  g INT,
  v INT,
  ts AS TO_TIMESTAMP_LTZ(id * 10, 3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '40000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}',
  'fields.k.min' = '1', 'fields.k.max' = '20',
  'fields.g.min' = '1', 'fields.g.max' = '500',
  'fields.v.min' = '0', 'fields.v.max' = '1000'
);
CREATE TABLE tumbling (k INT, ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT, total BIGINT, hi INT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'tumbling');
CREATE TABLE hopping (ws TIMESTAMP(3), cnt BIGINT, total BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'hopping');
CREATE TABLE sessions (g INT, ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'sessions');
CREATE TABLE top3 (ws TIMESTAMP(3), id BIGINT, v INT, rn BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'top3');
CREATE TABLE joined (k INT, ws TIMESTAMP(3), cnt BIGINT, hi INT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'joined');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO tumbling
    SELECT k, window_start, window_end, COUNT(*), SUM(CAST(v AS BIGINT)), MAX(v)
    FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY k, window_start, window_end;
  INSERT INTO hopping
    SELECT window_start, COUNT(*), SUM(id)
    FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND))
    GROUP BY window_start, window_end;
  INSERT INTO sessions
    SELECT g, window_start, window_end, COUNT(*)
    FROM TABLE(SESSION(TABLE src PARTITION BY g, DESCRIPTOR(ts), INTERVAL '2' SECOND))
    GROUP BY g, window_start, window_end;
  INSERT INTO top3
    SELECT ws, id, v, rn FROM (
      SELECT window_start AS ws, id, v, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY v DESC, id) AS rn
      FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    ) WHERE rn <= 3;
  INSERT INTO joined
    SELECT c.k, c.ws, c.cnt, m.hi FROM
      (SELECT k, window_start AS ws, window_end AS we, COUNT(*) AS cnt FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end) c
    JOIN
      (SELECT k, window_start AS ws, window_end AS we, MAX(v) AS hi FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end) m
    ON c.k = m.k AND c.ws = m.ws AND c.we = m.we;
END;
`,
  );
  return { jobFile, db };
}

const TUMBLING = 'SELECT k, CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt, total, hi FROM tumbling ORDER BY ws, k';
const HOPPING = 'SELECT CAST(ws AS VARCHAR), cnt, total FROM hopping ORDER BY ws';
/** SESSION windows, window Top-N over a TVF and a window join of two window aggregates. */
const MORE = [
  'SELECT g, CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt FROM sessions ORDER BY g, ws',
  'SELECT CAST(ws AS VARCHAR), id, v, rn FROM top3 ORDER BY ws, rn',
  'SELECT k, CAST(ws AS VARCHAR), cnt, hi FROM joined ORDER BY ws, k',
];

describe.each(checkpointModes(1, 2))('window crash recovery, parallelism %i, %s', (parallelism, _mode, incremental) => {
  it('TUMBLE, HOP and SESSION aggregations, window Top-N and a window join into DuckDB: SIGKILL at random moments, output equals the uninterrupted run', async () => {
    const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
    const refDir = tempDir('crash-windows-ref');
    const ref = writeJob(refDir, parallelism);
    const r = await runWeir(['run', ref.jobFile, '--checkpoint-dir', join(refDir, 'chk'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expTumbling = await queryDuckDb(ref.db, TUMBLING);
    const expHopping = await queryDuckDb(ref.db, HOPPING);
    const expMore = await Promise.all(MORE.map((q) => queryDuckDb(ref.db, q)));
    expect(expMore[0].reduce((a: number, row) => a + Number(row[3]), 0)).toBe(ROWS);
    const perWindow = new Map<string, number>();
    for (const row of expTumbling) perWindow.set(String(row[1]), (perWindow.get(String(row[1])) ?? 0) + Number(row[3]));
    expect(expMore[1].length).toBe([...perWindow.values()].reduce((a, n) => a + Math.min(3, n), 0));
    expect(expMore[2]).toEqual(
      expTumbling.map((row) => [row[0], row[1], row[3], row[5]]).sort((a, b) => String(a[1]).localeCompare(String(b[1])) || Number(a[0]) - Number(b[0])),
    );
    // Every row is in one tumbling window and in four hopping windows.
    expect(expTumbling.reduce((a: number, row) => a + Number(row[3]), 0)).toBe(ROWS);
    expect(expHopping.reduce((a: number, row) => a + Number(row[1]), 0)).toBe(ROWS * 4);

    const dir = tempDir('crash-windows');
    const job = writeJob(dir, parallelism, incremental);
    const random = seededRandom(seed);
    const args = ['run', job.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
    const kills = await runWithKills(args, { kills: KILLS, random, label: `seed ${seed}` });
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
    if (incremental) expectSharedStateFiles(join(dir, 'chk'), 'crash-windows', `seed ${seed}`);
    expect(await queryDuckDb(job.db, TUMBLING), `seed ${seed}`).toEqual(expTumbling);
    expect(await queryDuckDb(job.db, HOPPING), `seed ${seed}`).toEqual(expHopping);
    for (let i = 0; i < MORE.length; i++) expect(await queryDuckDb(job.db, MORE[i]), `${MORE[i]} (seed ${seed})`).toEqual(expMore[i]);
  }, 300_000);
});
