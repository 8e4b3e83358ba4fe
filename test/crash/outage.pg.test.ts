/**
 * A job survives an outage of the PostgreSQL server it writes to (issue 12 §2): a real `weir run`
 * at parallelism 2 writes generated rows into an append table (staged per subtask) and an upsert
 * aggregate; the test stops the server (`pg_ctl stop -m immediate`) once the job has committed
 * some rows, keeps it down for 30 seconds, and starts it again on the same data folder and port.
 * The job must ride it out with its default restart strategy (exponential-delay: no restart
 * settings in the job), show `RESTARTING (attempt n, next in Xs: <cause>)` on its status line,
 * end by itself with exit code 0, and leave exactly the rows of an uninterrupted run (computable:
 * every column derives from the sequence id), with no prepared transaction or staging table left.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { postgresOrSkip } from '../support/postgres.js';
import { spawnWeir, tempDir, type WeirRun } from '../support/weir-process.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const ROWS = 40_000;
const OUTAGE_MS = 30_000;
const BUCKETS = 7;

/** Polls `cond` until it holds; fails at once (with the job's stderr) when the job exits first. */
async function waitFor(what: string, job: WeirRun, cond: () => Promise<boolean> | boolean, hangGuardMs = HANG_GUARD_MS): Promise<void> {
  const until = Date.now() + hangGuardMs;
  for (;;) {
    if (await cond()) return;
    if (job.child.exitCode !== null) throw new Error(`the job exited (${job.child.exitCode}) before ${what}:\n${job.stderr().slice(-4000)}`);
    if (Date.now() > until) throw new Error(`no ${what} after ${hangGuardMs} ms:\n${job.stderr().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!server)('an outage of PostgreSQL', () => {
  const pg = server!;

  it('stopped for 30 s mid-job: the job recovers by itself and the output is exact', async () => {
    const dir = tempDir('outage-pg');
    const conn = Object.entries(pg.options())
      .map(([k, v]) => `'${k}' = '${v}'`)
      .join(', ');
    const file = join(dir, 'outage.sql');
    writeFileSync(
      file,
      `SET 'pipeline.name' = 'outage-pg';
SET 'execution.checkpointing.interval' = '300ms';
SET 'parallelism.default' = '2';
CREATE TABLE src (id BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${ROWS}'
);
CREATE TABLE out_rows (id BIGINT, k INT, name STRING) WITH (${conn}, 'connector' = 'postgres', 'table-name' = 'outage.out_rows', 'sink.create-table' = 'true');
CREATE TABLE per_k (k INT, n BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH (${conn}, 'connector' = 'postgres', 'table-name' = 'outage.per_k', 'sink.create-table' = 'true');
EXECUTE STATEMENT SET BEGIN
INSERT INTO out_rows SELECT id, CAST(id % ${BUCKETS} AS INT), CONCAT('n', CAST(id AS STRING)) FROM src;
INSERT INTO per_k SELECT CAST(id % ${BUCKETS} AS INT), COUNT(*), SUM(id) FROM src GROUP BY CAST(id % ${BUCKETS} AS INT);
END;
`,
    );
    await pg.query('CREATE SCHEMA outage');
    const count = async (): Promise<number> => Number((await pg.query('SELECT count(*) FROM outage.out_rows').catch(() => [['0']]))[0][0]);

    // Not -q: the status line goes to stderr (a plain line at every change of state).
    const job = spawnWeir(['run', file, '--checkpoint-dir', join(dir, 'chk')]);
    await waitFor('committed rows', job, async () => (await count()) > 0);

    await pg.stopImmediate();
    const downAt = Date.now();
    try {
      await waitFor('RESTARTING on the status line', job, () => /RESTARTING \(attempt \d+, next in \d+s: /.test(job.stderr()), OUTAGE_MS * 10);
      // The outage lasts 30 s, however soon the job noticed it.
      const rest = downAt + OUTAGE_MS - Date.now();
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      expect(job.child.exitCode, job.stderr().slice(-4000)).toBe(null);
    } finally {
      await pg.start();
    }
    const rowsAfterOutage = await count();

    const { code } = await job.exit;
    expect(code, job.stderr().slice(-4000)).toBe(0);
    const stderr = job.stderr();
    expect(stderr).not.toMatch(/^error: /m);
    // the cause names the server that was down
    expect(stderr).toMatch(/RESTARTING \(attempt \d+, next in \d+s: PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*\)/);
    expect(stderr).toMatch(/job 'outage-pg' finished/);
    expect(rowsAfterOutage).toBeLessThan(ROWS); // the job was mid-way, not done, when the server came back
    // Every restart was for a retriable external error (none counted as a bug).
    const restarts = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; err?: { domain?: string; retriable?: boolean } })
      .filter((l) => l.msg === 'job failed; restarting from the latest checkpoint');
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts.map((r) => [r.err?.domain, r.err?.retriable])).toEqual(restarts.map(() => ['external', true]));

    // Exactly the uninterrupted result.
    const [[rows, ids, lo, hi, bad]] = await pg.query(
      `SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE k <> id % ${BUCKETS} OR name <> 'n' || id) FROM outage.out_rows`,
    );
    expect([rows, ids, lo, hi, bad]).toEqual([String(ROWS), String(ROWS), '1', String(ROWS), '0']);
    const perK = await pg.query('SELECT k, n, total FROM outage.per_k ORDER BY k');
    const expected = Array.from({ length: BUCKETS }, (_, k) => {
      let n = 0;
      let total = 0;
      for (let id = k === 0 ? BUCKETS : k; id <= ROWS; id += BUCKETS) {
        n++;
        total += id;
      }
      return [String(k), String(n), String(total)];
    });
    expect(perK).toEqual(expected);
    expect(await pg.query("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'weir:outage-pg:%'")).toEqual([]);
    expect(await pg.query("SELECT tablename FROM pg_tables WHERE schemaname = 'outage' AND tablename LIKE '\\_weir\\_stage\\_%'")).toEqual([]);
  }, 900_000);
});
