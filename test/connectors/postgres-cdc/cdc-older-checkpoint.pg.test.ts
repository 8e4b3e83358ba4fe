import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../../support/postgres.js';
import { spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

/**
 * 'state.checkpoints.num-retained' = N (or the source's 'slot.retained-checkpoints'): the slot is acknowledged only up to the oldest of the last N
 * completed checkpoints, so restoring an older retained checkpoint replays from its LSN and ends
 * with the same result.
 */
const server = await postgresOrSkip();
afterAll(() => server?.stop());

const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

function jobFile(dir: string, pg: TestPostgres, retained: number, slotRetained?: number, table = 'orders', slot = 'old_slot'): string {
  const conn = Object.entries({
    ...pg.options(),
    'table-name': table,
    'slot.name': slot,
    'publication.name': `${slot}_pub`,
    'scan.incremental.snapshot.chunk.size': '500',
    'heartbeat.interval.ms': '200',
    ...(slotRetained === undefined ? {} : { 'slot.retained-checkpoints': String(slotRetained) }),
  })
    .map(([k, v]) => `'${k}' = '${v}'`)
    .join(', ');
  const path = join(dir, 'cdc_old.sql');
  writeFileSync(
    path,
    `SET 'execution.checkpointing.interval' = '300ms';
SET 'state.checkpoints.num-retained' = '${retained}';
SET 'restart-strategy.type' = 'none';
CREATE TABLE orders (id INT, grp INT, amount DECIMAL(12, 2), PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc', ${conn});
CREATE TABLE agg (grp INT, n BIGINT, total DECIMAL(38, 2), ids BIGINT, PRIMARY KEY (grp) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${join(dir, 'out.duckdb')}', 'table-name' = 'agg');
INSERT INTO agg SELECT grp, COUNT(*), SUM(amount), SUM(CAST(id AS BIGINT)) FROM orders GROUP BY grp;
`,
  );
  return path;
}

/** Completed checkpoints (folders with _metadata), oldest first, with their LSNs. */
function checkpoints(ck: string): { id: number; path: string; lsn: string }[] {
  const job = join(ck, 'cdc_old');
  if (!existsSync(job)) return [];
  return readdirSync(job)
    .filter((d) => d.startsWith('chk-') && existsSync(join(job, d, '_metadata')))
    .map((d) => ({ id: Number(d.slice(4)), path: join(job, d) }))
    .sort((a, b) => a.id - b.id)
    .map((c) => ({ ...c, lsn: /"lsn":\s*"([0-9A-F]+\/[0-9A-F]+)"/.exec(readFileSync(join(c.path, '_metadata'), 'utf8'))![1] }));
}

async function until(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `txns` transactions of inserts, updates (moving groups), primary-key moves and deletes,
 * `pauseMs` apart. Returns the WAL position after each commit.
 */
async function workload(pg: TestPostgres, base: number, txns: number, pauseMs: number, table = 'orders'): Promise<bigint[]> {
  const c = await pg.client();
  const commits: bigint[] = [];
  try {
    for (let t = 0; t < txns; t++) {
      const b = base + t * 100;
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${table} SELECT $1::int + g, g % 7, g * 0.75 FROM generate_series(0, 29) g`, [b]);
      await c.query(`UPDATE ${table} SET amount = amount + 1, grp = (grp + 1) % 7 WHERE id % 13 = $1`, [t % 13]);
      await c.query(`UPDATE ${table} SET id = id + 1000000 WHERE id BETWEEN $1::int AND $1::int + 4`, [b]);
      await c.query(`DELETE FROM ${table} WHERE id % 17 = $1 AND id < 3000`, [t % 17]);
      await c.query('COMMIT');
      commits.push(lsnNum((await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await c.end();
  }
  return commits;
}

async function stop(run: WeirRun): Promise<void> {
  run.child.kill('SIGTERM');
  const { code, signal } = await run.exit;
  expect({ code, signal }, run.stderr()).toEqual({ code: 0, signal: null });
}

/**
 * Makes `changes` while `run` runs and stops it once it has completed `n` checkpoints (as many as
 * are retained) and the newest has read into the changes (conditions, however slow the machine).
 * The retained checkpoints must then span a change: one committed after the oldest and at or
 * before the newest. When a loaded machine completed more checkpoints after the last change than
 * that leaves room for (before the stop took effect), the job runs again from the latest checkpoint
 * with `changes` again, until they do. Returns the retained checkpoints and every change's commit.
 */
async function stopSpanningChanges(o: {
  run: WeirRun;
  restart: () => WeirRun;
  ck: string;
  n: number;
  changes: (round: number) => Promise<bigint[]>;
}): Promise<{ retained: ReturnType<typeof checkpoints>; commits: bigint[] }> {
  const commits: bigint[] = [];
  let run = o.run;
  for (let round = 0; ; round++) {
    if (round > 0) run = o.restart();
    const made = await o.changes(round);
    commits.push(...made);
    await until(() => {
      expect(run.child.exitCode, run.stderr()).toBeNull();
      const all = checkpoints(o.ck);
      return all.length >= o.n && lsnNum(all[all.length - 1].lsn) >= made[0];
    }, `${o.n} checkpoints, the newest past the first change`);
    await stop(run);
    const retained = checkpoints(o.ck);
    const [oldest, newest] = [lsnNum(retained[0].lsn), lsnNum(retained[retained.length - 1].lsn)];
    if (commits.some((c) => c > oldest && c <= newest)) return { retained, commits };
    // Each round fails only if the stop lags behind several checkpoints: ten in a row is a bug.
    if (round >= 9)
      throw new Error(`no change between the retained checkpoints in ${round + 1} rounds: ${JSON.stringify({ retained, commits: commits.map(String) })}`);
  }
}

describe.skipIf(!server)('postgres-cdc: restoring an older retained checkpoint', () => {
  const pg = server!;

  it("with 'state.checkpoints.num-retained' = 3 (and no 'slot.retained-checkpoints') the slot stays at the oldest retained checkpoint, and restoring it replays to the same result", async () => {
    await pg.query('CREATE TABLE orders (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL)');
    await pg.query('ALTER TABLE orders REPLICA IDENTITY FULL');
    await pg.query('INSERT INTO orders SELECT g, g % 7, (g % 100) * 1.25 FROM generate_series(1, 3000) g');
    const dir = tempDir('cdc-old');
    const ck = join(dir, 'ck');
    const job = jobFile(dir, pg, 3);
    const db = join(dir, 'out.duckdb');
    const expected = async () =>
      (await pg.query('SELECT grp, count(*), sum(amount)::text, sum(id)::text FROM orders GROUP BY grp ORDER BY grp')).map(([g, n, s, i]) => [
        Number(g),
        Number(n),
        s,
        Number(i),
      ]);
    const actual = async () => (await queryDuckDb(db, 'SELECT grp, n, total::VARCHAR, ids FROM agg ORDER BY grp')).map(([g, n, s, i]) => [g, n, String(s), i]);
    const slot = async () => (await pg.query("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'old_slot'"))[0][0]!;
    const caughtUp = async (run: WeirRun) => {
      const [[target]] = await pg.query('SELECT pg_current_wal_lsn()::text');
      await until(() => {
        expect(run.child.exitCode, run.stderr()).toBeNull();
        const all = checkpoints(ck);
        return all.length > 0 && lsnNum(all[all.length - 1].lsn) >= lsnNum(target!);
      }, `a checkpoint at ${target}`);
    };

    const run1 = spawnWeir(['run', job, '--checkpoint-dir', ck, '-q'], { cwd: dir });
    await until(() => checkpoints(ck).length > 0, 'the first checkpoint');
    // Changes spread over several checkpoints; the job stops right after them, so the retained
    // checkpoints differ by some of them (a restore of the oldest must replay those).
    const { retained, commits } = await stopSpanningChanges({
      run: run1,
      restart: () => spawnWeir(['run', job, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'], { cwd: dir }),
      ck,
      n: 3,
      changes: (round) => workload(pg, 10_000 + round * 100_000, 12, 150),
    });
    expect(retained.length).toBe(3);
    const [oldest, newest] = [lsnNum(retained[0].lsn), lsnNum(retained[2].lsn)];
    expect(
      commits.some((c) => c > oldest && c <= newest),
      JSON.stringify(retained),
    ).toBe(true);
    // The slot keeps everything after the oldest retained checkpoint.
    expect(lsnNum(await slot())).toBe(lsnNum(retained[0].lsn));

    // Restore the oldest retained checkpoint (changes after it are replayed), with more changes meanwhile.
    await workload(pg, 20_000, 4, 0);
    const run2 = spawnWeir(['run', job, '--checkpoint-dir', ck, '--from-checkpoint', retained[0].path, '-q'], { cwd: dir });
    await workload(pg, 30_000, 6, 150);
    await caughtUp(run2);
    // Once the retained checkpoints are all this run's, the slot sits at the oldest of them.
    await until(() => checkpoints(ck).filter((c) => c.id > retained[2].id).length >= 3, 'three checkpoints of the restored run');
    await stop(run2);
    expect(await actual()).toEqual(await expected());
    const after = checkpoints(ck);
    expect(lsnNum(await slot()), JSON.stringify({ slot: await slot(), after, retained })).toBe(lsnNum(after[0].lsn));
  }, 600_000);

  it("with 'slot.retained-checkpoints' = 1 under num-retained 5, restoring an older checkpoint fails with a clear error", async () => {
    await pg.query('CREATE TABLE orders1 (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL)');
    await pg.query('ALTER TABLE orders1 REPLICA IDENTITY FULL');
    await pg.query('INSERT INTO orders1 SELECT g, g % 7, 1 FROM generate_series(1, 3000) g');
    const dir = tempDir('cdc-old1');
    const ck = join(dir, 'ck');
    const job = jobFile(dir, pg, 5, 1, 'orders1', 'old1_slot');
    const run1 = spawnWeir(['run', job, '--checkpoint-dir', ck, '-q'], { cwd: dir });
    await until(() => checkpoints(ck).length > 0, 'the first checkpoint');
    // Stopped once five checkpoints completed (however long that takes), spanning some changes.
    const { retained } = await stopSpanningChanges({
      run: run1,
      restart: () => spawnWeir(['run', job, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'], { cwd: dir }),
      ck,
      n: 5,
      changes: (round) => workload(pg, 10_000 + round * 100_000, 6, 150, 'orders1'),
    });
    expect(retained.length).toBe(5);
    const newest = retained[4].lsn;
    expect(lsnNum(retained[0].lsn)).toBeLessThan(lsnNum(newest));
    const run2 = spawnWeir(['run', job, '--checkpoint-dir', ck, '--from-checkpoint', retained[0].path, '-q'], { cwd: dir });
    const { code } = await run2.exit;
    expect(code).toBe(1);
    expect(run2.stderr()).toContain(`the checkpoint's LSN ${retained[0].lsn} is before replication slot 'old1_slot''s confirmed position ${newest}`);
    expect(run2.stderr()).toContain("'state.checkpoints.num-retained' = N, or the source option 'slot.retained-checkpoints' = N");
    expect(run2.stderr()).not.toMatch(/\n\s+at /);
  }, 600_000);
});
