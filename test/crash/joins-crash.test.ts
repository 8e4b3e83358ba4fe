import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runWeir, runWithKills, seededRandom, tempDir } from '../support/weir-process.js';
import { checkpointModes, expectSharedStateFiles, incrementalSetting } from './checkpoint-modes.js';

/**
 * Crash test of a regular (outer) join and of Top-N: datagen sequences joined (users LEFT JOIN
 * orders, then aggregated, so padded rows are retracted as matches arrive) and ranked (top 3
 * orders per user over the join), into DuckDB upsert tables. `weir run` is killed with SIGKILL at
 * random moments and restarted with `--from-checkpoint latest`; the tables must equal an
 * uninterrupted run's (join state, rank state and the sinks' transactions all restore).
 * Parallelism 1 runs with full checkpoints, parallelism 2 with incremental ones (checkpoint-modes.ts).
 * The orders' rate stays below what the pipeline keeps up with on a busy two-core machine: above
 * it a run's first checkpoint completes only about when the input ends, so the kills that wait
 * for a checkpoint of the killed run (weir-process.ts) would find the job already done.
 */
const ROWS = 150_000;
const USERS = 600;
const KILLS = 4;

function writeJob(dir: string, parallelism: number, incremental = false): { jobFile: string; db: string } {
  const db = join(dir, 'out.duckdb');
  const jobFile = join(dir, 'joins.sql');
  writeFileSync(
    jobFile,
    `
SET 'pipeline.name' = 'crash-joins';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
${incrementalSetting(incremental)}
CREATE TABLE orders (
  id BIGINT,
  uid AS id % 500,
  amount AS id * 7 % 1000
) WITH (
  'connector' = 'datagen', 'rows-per-second' = '15000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}'
);
CREATE TABLE users (uid BIGINT, name AS CONCAT('u', CAST(uid AS STRING))) WITH (
  'connector' = 'datagen', 'rows-per-second' = '200',
  'fields.uid.kind' = 'sequence', 'fields.uid.start' = '0', 'fields.uid.end' = '${USERS - 1}'
);
CREATE TABLE per_user (uid BIGINT, name STRING, cnt BIGINT, total BIGINT, PRIMARY KEY (uid) NOT ENFORCED)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'per_user');
CREATE TABLE top3 (uid BIGINT, rn BIGINT, id BIGINT, amount BIGINT, PRIMARY KEY (uid, rn) NOT ENFORCED)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'top3');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO per_user
    SELECT u.uid, u.name, COUNT(o.id), SUM(o.amount) FROM users u LEFT JOIN orders o ON u.uid = o.uid GROUP BY u.uid, u.name;
  INSERT INTO top3
    SELECT uid, rn, id, amount FROM (
      SELECT o.uid, o.id, o.amount, ROW_NUMBER() OVER (PARTITION BY o.uid ORDER BY o.amount DESC, o.id DESC) AS rn
      FROM orders o JOIN users u ON o.uid = u.uid
    ) WHERE rn <= 3;
END;
`,
  );
  return { jobFile, db };
}

const PER_USER = 'SELECT uid, name, cnt, total FROM per_user ORDER BY uid';
const TOP3 = 'SELECT uid, rn, id, amount FROM top3 ORDER BY uid, rn';

describe.each(checkpointModes(1, 2))('join and Top-N crash recovery, parallelism %i, %s', (parallelism, _mode, incremental) => {
  it('LEFT JOIN + aggregate and Top-N into DuckDB upserts: SIGKILL at random moments, output equals the uninterrupted run', async () => {
    const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
    const refDir = tempDir('crash-joins-ref');
    const ref = writeJob(refDir, parallelism);
    const r = await runWeir(['run', ref.jobFile, '--checkpoint-dir', join(refDir, 'chk'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const expPerUser = await queryDuckDb(ref.db, PER_USER);
    const expTop3 = await queryDuckDb(ref.db, TOP3);
    // Independent check of the reference: users 500..599 have no orders.
    expect(expPerUser.length).toBe(USERS);
    expect(expPerUser.filter((row) => row[2] === 0).length).toBe(USERS - 500);
    expect(expPerUser.reduce((a: number, row) => a + Number(row[2]), 0)).toBe(ROWS);
    expect(expTop3.length).toBe(500 * 3);

    const dir = tempDir('crash-joins');
    const job = writeJob(dir, parallelism, incremental);
    const random = seededRandom(seed);
    const args = ['run', job.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
    const kills = await runWithKills(args, { kills: KILLS, random, label: `seed ${seed}` });
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
    if (incremental) expectSharedStateFiles(join(dir, 'chk'), 'crash-joins', `seed ${seed}`);
    expect(await queryDuckDb(job.db, PER_USER), `seed ${seed}`).toEqual(expPerUser);
    expect(await queryDuckDb(job.db, TOP3), `seed ${seed}`).toEqual(expTop3);
  }, 300_000);
});
