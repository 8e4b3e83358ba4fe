import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../../support/postgres.js';
import { spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

function jobFile(dir: string, pg: TestPostgres, db: string): string {
  const conn = Object.entries({
    ...pg.options(),
    'table-name': 'orders',
    'slot.name': 'cli_slot',
    'publication.name': 'cli_pub',
    'scan.incremental.snapshot.chunk.size': '500',
    'heartbeat.interval.ms': '500',
  })
    .map(([k, v]) => `'${k}' = '${v}'`)
    .join(', ');
  const path = join(dir, 'cdc_agg.sql');
  writeFileSync(
    path,
    `SET 'execution.checkpointing.interval' = '300ms';
SET 'restart-strategy.type' = 'none';
CREATE TABLE orders (id INT, grp INT, amount DECIMAL(12, 2), note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc', ${conn});
CREATE TABLE agg (grp INT, n BIGINT, total DECIMAL(38, 2), PRIMARY KEY (grp) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'agg');
INSERT INTO agg SELECT grp, COUNT(*), SUM(amount) FROM orders GROUP BY grp;
`,
  );
  return path;
}

/** Polls `pred`; gives up after the hang guard. */
async function waitFor(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Random inserts, updates (some moving the primary key) and deletes, in a few transactions. */
async function workload(pg: TestPostgres, seed: number, n: number): Promise<void> {
  const c = await pg.client();
  try {
    await c.query('BEGIN');
    for (let i = 0; i < n; i++) {
      const r = (seed * 7919 + i * 104729) % 1000;
      const id = 1 + ((seed * 31 + i * 17) % 3000);
      if (r < 400)
        await c.query('INSERT INTO orders VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET amount = orders.amount + 1', [
          id + 3000,
          id % 7,
          (r / 10).toFixed(2),
          `w${seed}`,
        ]);
      else if (r < 700) await c.query('UPDATE orders SET amount = amount + 0.5, grp = (grp + 1) % 7 WHERE id = $1', [id]);
      else if (r < 800) await c.query('UPDATE orders SET id = id + 10000 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM orders WHERE id = $1 + 10000)', [id]);
      else await c.query('DELETE FROM orders WHERE id = $1', [id]);
      if (i % 50 === 49) await c.query('COMMIT; BEGIN');
    }
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}

async function stop(run: WeirRun): Promise<void> {
  run.child.kill('SIGTERM');
  const { code } = await run.exit;
  expect(code, run.stderr()).toBe(0);
}

function latestLsn(ckDir: string): string {
  const job = join(ckDir, 'cdc_agg');
  const chks = readdirSync(job)
    .filter((d) => d.startsWith('chk-'))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const meta = readFileSync(join(job, chks[chks.length - 1], '_metadata'), 'utf8');
  return /"lsn":\s*"([0-9A-F]+\/[0-9A-F]+)"/.exec(meta)![1];
}

describe.skipIf(!server)('postgres-cdc through weir run into DuckDB', () => {
  const pg = server!;

  it('snapshot + changes + stop + restore: the DuckDB aggregate equals PostgreSQL’s; the slot sits exactly at the checkpoint', async () => {
    await pg.query('CREATE TABLE orders (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL, note text)');
    await pg.query('ALTER TABLE orders REPLICA IDENTITY FULL');
    await pg.query("INSERT INTO orders SELECT g, g % 7, (g % 100) * 1.25, 'init' FROM generate_series(1, 3000) g");
    const dir = tempDir('cdc-cli');
    const db = join(dir, 'out.duckdb');
    const job = jobFile(dir, pg, db);
    const ck = join(dir, 'ck');
    const expected = async () =>
      (await pg.query('SELECT grp, count(*)::int, sum(amount)::text FROM orders GROUP BY grp ORDER BY grp')).map(([g, n, s]) => [Number(g), Number(n), s]);
    const actual = async () => (await queryDuckDb(db, 'SELECT grp, n, total::VARCHAR FROM agg ORDER BY grp')).map(([g, n, s]) => [g, n, String(s)]);

    /** The newest completed checkpoint's LSN, or undefined (none yet, or its _metadata still being written). */
    const newestLsn = (): string | undefined => {
      try {
        return latestLsn(ck);
      } catch {
        return undefined;
      }
    };
    /** Waits (a condition, not a time) until a checkpoint covers everything written so far. */
    const caughtUp = async (run: WeirRun, what: string): Promise<void> => {
      const [[target]] = await pg.query('SELECT pg_current_wal_lsn()::text');
      await waitFor(() => {
        if (run.child.exitCode !== null) throw new Error(`weir exited: ${run.stderr()}`);
        const l = newestLsn();
        return l !== undefined && lsnNum(l) >= lsnNum(target!);
      }, what);
    };

    const run1 = spawnWeir(['run', job, '--checkpoint-dir', ck, '-q'], { cwd: dir });
    await waitFor(() => run1.child.exitCode !== null || readdirSync(dir).includes('ck'), 'first checkpoint');
    await workload(pg, 1, 600);
    await caughtUp(run1, 'a checkpoint after the first changes');
    await stop(run1);
    expect(await actual()).toEqual(await expected());
    const slot = async () => (await pg.query("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cli_slot'"))[0][0]!;
    expect(lsnNum(await slot())).toBe(lsnNum(latestLsn(ck)));

    await workload(pg, 2, 600);
    const run2 = spawnWeir(['run', job, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'], { cwd: dir });
    // More changes once the restored run is up (its first checkpoint), then stop once it caught up.
    // A SIGTERM before the restored run is up (slow starts on a loaded machine) would kill it unhandled.
    const restoredLsn = latestLsn(ck);
    await waitFor(() => run2.child.exitCode !== null || (newestLsn() ?? restoredLsn) !== restoredLsn, 'a checkpoint of the restored run');
    await workload(pg, 3, 300);
    await caughtUp(run2, 'a checkpoint after the changes during the restored run');
    await stop(run2);
    expect(await actual()).toEqual(await expected());
    expect(lsnNum(await slot())).toBe(lsnNum(latestLsn(ck)));
  });
});
