import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runWeir, runWithKills, seededRandom, tempDir } from '../support/weir-process.js';
import { checkpointModes, expectSharedStateFiles, incrementalSetting } from './checkpoint-modes.js';

/**
 * The spine's crash test on a keyed HOP window aggregation and on an interval join: two datagen
 * sequences with event times derived from their ids (in order per split, so nothing is late),
 * into DuckDB append tables. `weir run` is killed with SIGKILL at random moments (5 times) and
 * restarted with `--from-checkpoint latest`; the tables must equal an uninterrupted run's (window
 * state, interval-join buffers of both sides, watermarks and the sinks' transactions restore).
 * Parallelism 1 runs with full checkpoints, parallelism 2 with incremental ones (checkpoint-modes.ts).
 * The rates stay below what the pipeline keeps up with on a busy two-core machine: above them a
 * run's first checkpoint completes only about when the input ends, so the kills that wait for a
 * checkpoint of the killed run (weir-process.ts) would find the job already done.
 */
const ROWS = 200_000;
const KILLS = 5;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeJob(dir: string, parallelism: number, incremental = false): { jobFile: string; db: string } {
  const db = join(dir, 'out.duckdb');
  const jobFile = join(dir, 'hop-interval.sql');
  writeFileSync(
    jobFile,
    `
SET 'pipeline.name' = 'crash-hop-interval';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
${incrementalSetting(incremental)}
CREATE TABLE orders (
  id BIGINT,
  k AS id % 100,
  ts AS TO_TIMESTAMP_LTZ(id * 10, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'datagen', 'rows-per-second' = '25000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}'
);
CREATE TABLE shipments (
  id BIGINT,
  k AS id % 100,
  ts AS TO_TIMESTAMP_LTZ(id * 10 + 3, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH (
  'connector' = 'datagen', 'rows-per-second' = '20000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}'
);
CREATE TABLE hopping (k BIGINT, ws TIMESTAMP(3), cnt BIGINT, total BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'hopping');
CREATE TABLE matched (oid BIGINT, sid BIGINT, k BIGINT)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'matched');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO hopping
    SELECT k % 7, window_start, COUNT(*), SUM(id)
    FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND))
    GROUP BY k % 7, window_start, window_end;
  INSERT INTO matched
    SELECT o.id, s.id, o.k FROM orders o JOIN shipments s
    ON o.k = s.k AND s.ts BETWEEN o.ts - INTERVAL '2' SECOND AND o.ts + INTERVAL '2' SECOND;
END;
`,
  );
  return { jobFile, db };
}

const HOPPING = 'SELECT k, CAST(ws AS VARCHAR), cnt, total FROM hopping ORDER BY ws, k';
const MATCHED = 'SELECT oid, sid, k FROM matched ORDER BY oid, sid';

describe.each(checkpointModes(1, 2))('HOP window and interval join crash recovery, parallelism %i, %s', (parallelism, _mode, incremental) => {
  it('SIGKILL 5 times at random moments: output equals the uninterrupted run', async () => {
    const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
    const refDir = tempDir('crash-hop-interval-ref');
    dirs.push(refDir);
    const ref = writeJob(refDir, parallelism);
    const r = await runWeir(['run', ref.jobFile, '--checkpoint-dir', join(refDir, 'chk'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expHopping = await queryDuckDb(ref.db, HOPPING);
    const expMatched = await queryDuckDb(ref.db, MATCHED);
    // Independent checks of the reference: every order is in 3 hopping windows; shipment j
    // matches order i when j - i is -200, -100, 0 or 100 (ts differ by 10 * (j - i) + 3 ms).
    expect(expHopping.reduce((a: number, row) => a + Number(row[2]), 0)).toBe(ROWS * 3);
    expect(expMatched.length).toBe(4 * ROWS - 400);
    expect(expMatched.every(([o, s]) => [-200, -100, 0, 100].includes(Number(s) - Number(o)))).toBe(true);

    const dir = tempDir('crash-hop-interval');
    dirs.push(dir);
    const job = writeJob(dir, parallelism, incremental);
    const random = seededRandom(seed);
    const args = ['run', job.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
    const kills = await runWithKills(args, { kills: KILLS, random, label: `seed ${seed}` });
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
    if (incremental) expectSharedStateFiles(join(dir, 'chk'), 'crash-hop-interval', `seed ${seed}`);
    expect(await queryDuckDb(job.db, HOPPING), `seed ${seed}`).toEqual(expHopping);
    expect(await queryDuckDb(job.db, MATCHED), `seed ${seed}`).toEqual(expMatched);
  }, 300_000);
});
