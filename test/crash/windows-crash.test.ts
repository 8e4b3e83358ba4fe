import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runWeir, runWithKills, seededRandom, tempDir } from '../support/weir-process.js';

/**
 * Crash test of event-time windows: datagen rows whose event time comes from a sequence (in order
 * per split, so no row is ever late), TUMBLE and HOP window aggregations into DuckDB append
 * tables. `weir run` is killed with SIGKILL at random moments and restarted with
 * `--from-checkpoint latest`; the output must equal an uninterrupted run's: every window exactly
 * once with the same counts (window state, pending windows and watermarks all restore).
 */
const ROWS = 400_000;
const KILLS = 4;

function writeJob(dir: string, parallelism: number): { jobFile: string; db: string } {
  const db = join(dir, 'out.duckdb');
  const jobFile = join(dir, 'windows.sql');
  writeFileSync(
    jobFile,
    `
SET 'pipeline.name' = 'crash-windows';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
CREATE TABLE src (
  id BIGINT,
  k INT,
  v INT,
  ts AS TO_TIMESTAMP_LTZ(id * 10, 3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '100000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}',
  'fields.k.min' = '1', 'fields.k.max' = '20',
  'fields.v.min' = '0', 'fields.v.max' = '1000'
);
CREATE TABLE tumbling (k INT, ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT, total BIGINT, hi INT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'tumbling');
CREATE TABLE hopping (ws TIMESTAMP(3), cnt BIGINT, total BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'hopping');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO tumbling
    SELECT k, window_start, window_end, COUNT(*), SUM(CAST(v AS BIGINT)), MAX(v)
    FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY k, window_start, window_end;
  INSERT INTO hopping
    SELECT window_start, COUNT(*), SUM(id)
    FROM TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND))
    GROUP BY window_start, window_end;
END;
`,
  );
  return { jobFile, db };
}

const TUMBLING = 'SELECT k, CAST(ws AS VARCHAR), CAST(we AS VARCHAR), cnt, total, hi FROM tumbling ORDER BY ws, k';
const HOPPING = 'SELECT CAST(ws AS VARCHAR), cnt, total FROM hopping ORDER BY ws';

describe.each([1, 2])('window crash recovery, parallelism %i', (parallelism) => {
  it(
    'TUMBLE and HOP aggregations into DuckDB: SIGKILL at random moments, output equals the uninterrupted run',
    async () => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const refDir = tempDir('crash-windows-ref');
      const ref = writeJob(refDir, parallelism);
      const r = await runWeir(['run', ref.jobFile, '--checkpoint-dir', join(refDir, 'chk'), '-q']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expTumbling = await queryDuckDb(ref.db, TUMBLING);
      const expHopping = await queryDuckDb(ref.db, HOPPING);
      // Every row is in one tumbling window and in four hopping windows.
      expect(expTumbling.reduce((a: number, row) => a + Number(row[3]), 0)).toBe(ROWS);
      expect(expHopping.reduce((a: number, row) => a + Number(row[1]), 0)).toBe(ROWS * 4);

      const dir = tempDir('crash-windows');
      const job = writeJob(dir, parallelism);
      const random = seededRandom(seed);
      const args = ['run', job.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
      const kills = await runWithKills(args, { kills: KILLS, killAfterMs: () => 900 + Math.floor(random() * 1800), label: `seed ${seed}` });
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
      expect(await queryDuckDb(job.db, TUMBLING), `seed ${seed}`).toEqual(expTumbling);
      expect(await queryDuckDb(job.db, HOPPING), `seed ${seed}`).toEqual(expHopping);
    },
    300_000,
  );
});
