import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../support/postgres.js';
import { seededRandom, spawnWeir, tempDir, type WeirRun } from '../support/weir-process.js';

/**
 * postgres-cdc crash test: a table of INITIAL_ROWS rows (read by the chunked snapshot) and a
 * concurrent workload of CHANGES mixed changes (inserts, updates, primary-key changes, deletes, in
 * transactions) while `weir run` (postgres-cdc -> GROUP BY -> DuckDB upsert) is SIGKILLed at
 * random moments at least KILLS times (some while the snapshot is still being read, the others
 * while streaming) and restarted with `--from-checkpoint latest`. Once the workload has stopped
 * and a checkpoint covers its last commit, a SIGTERM stops the job: the DuckDB aggregate must
 * equal PostgreSQL's own GROUP BY over the final table (nothing lost, nothing twice), and the slot
 * must sit exactly at the last checkpoint's LSN.
 */
const KILLS = 5;
const INITIAL_ROWS = 50_000;
const CHANGES = 200_000;
const GROUPS = 97;
/** The workload's pace: CHANGES spread over about this long. */
const WORKLOAD_MS = 25_000;

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

function jobFile(dir: string, pg: TestPostgres, table: string, slot: string, parallelism: number, mode: string, backend: string): string {
  const conn = Object.entries({
    ...pg.options(),
    'table-name': table,
    'slot.name': slot,
    'publication.name': `${slot}_pub`,
    'scan.incremental.snapshot.chunk.size': '50',
    'heartbeat.interval.ms': '300',
    'changelog-mode': mode,
  })
    .map(([k, v]) => `'${k}' = '${v}'`)
    .join(', ');
  const path = join(dir, 'cdc_crash.sql');
  writeFileSync(
    path,
    `SET 'execution.checkpointing.interval' = '300ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
SET 'state.backend.type' = '${backend}';
${backend === 'rocksdb' ? "SET 'execution.checkpointing.incremental' = 'true';" : ''}
CREATE TABLE src (id INT, grp INT, amount DECIMAL(12, 2), note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc', ${conn});
CREATE TABLE agg (grp INT, n BIGINT, total DECIMAL(38, 2), ids BIGINT, PRIMARY KEY (grp) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${join(dir, 'out.duckdb')}', 'table-name' = 'agg');
INSERT INTO agg SELECT grp, COUNT(*), SUM(amount), SUM(CAST(id AS BIGINT)) FROM src GROUP BY grp;
`,
  );
  return path;
}

/**
 * CHANGES row changes in transactions of about 250, paced over WORKLOAD_MS. Each transaction
 * inserts new keys, updates random keys (moving some to another group), moves some rows to new
 * primary keys and deletes random keys (keys already gone simply change nothing). Returns the
 * number of changed rows (PostgreSQL's own row counts).
 */
async function workload(pg: TestPostgres, table: string, random: () => number): Promise<number> {
  const c = await pg.client();
  let nextId = INITIAL_ROWS + 1;
  let changed = 0;
  const started = Date.now();
  const pick = (n: number): number[] => {
    const s = new Set<number>();
    for (let i = 0; i < n; i++) s.add(1 + Math.floor(random() * (nextId - 1)));
    return [...s];
  };
  try {
    for (let txn = 0; changed < CHANGES; txn++) {
      const inserts = Math.min(100, CHANGES - changed);
      await c.query('BEGIN');
      let n = (
        await c.query(
          `INSERT INTO ${table} SELECT $1::int + g, ($1::int + g) % ${GROUPS}, ((($1::int + g) * 37) % 10000) / 100.0, 'w' || $2::int FROM generate_series(0, $3::int - 1) g`,
          [nextId, txn, inserts],
        )
      ).rowCount!;
      nextId += inserts;
      if (changed + n < CHANGES)
        n += (await c.query(`UPDATE ${table} SET amount = amount + 0.25, grp = (grp + $2::int) % ${GROUPS} WHERE id = ANY($1::int[])`, [pick(90), txn % 3]))
          .rowCount!;
      if (changed + n < CHANGES) {
        const olds = pick(20);
        const news = olds.map((_, i) => nextId + i);
        nextId += olds.length;
        n += (await c.query(`UPDATE ${table} t SET id = v.n FROM unnest($1::int[], $2::int[]) AS v(o, n) WHERE t.id = v.o`, [olds, news])).rowCount!;
      }
      if (changed + n < CHANGES) n += (await c.query(`DELETE FROM ${table} WHERE id = ANY($1::int[])`, [pick(45)])).rowCount!;
      await c.query('COMMIT');
      changed += n;
      const due = started + (changed / CHANGES) * WORKLOAD_MS;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  } finally {
    await c.end();
  }
  return changed;
}

interface Checkpoint {
  readonly id: number;
  readonly lsn: string;
  readonly snapshotDone: boolean;
}

/** The newest complete checkpoint (folder with _metadata) of the job, if any. */
function latestCheckpoint(ckDir: string): Checkpoint | undefined {
  const job = join(ckDir, 'cdc_crash');
  if (!existsSync(job)) return undefined;
  const chks = readdirSync(job)
    .filter((d) => d.startsWith('chk-') && existsSync(join(job, d, '_metadata')))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (chks.length === 0) return undefined;
  const last = chks[chks.length - 1];
  let meta: string;
  try {
    meta = readFileSync(join(job, last, '_metadata'), 'utf8');
  } catch {
    return undefined; // deleted by retention between the listing and the read
  }
  const lsn = /"lsn":\s*"([0-9A-F]+\/[0-9A-F]+)"/.exec(meta)?.[1];
  if (!lsn) return undefined;
  return { id: Number(last.slice(4)), lsn, snapshotDone: !/"done":\s*false/.test(meta) };
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!server)('postgres-cdc crash recovery', () => {
  const pg = server!;

  // 'all' reads before-images (REPLICA IDENTITY FULL); 'upsert' gets key-only deletes (DEFAULT)
  // and relies on the changelog-normalize state, which must survive the kills too: on disk, with
  // the rocksdb backend and incremental checkpoints (as RocksDB is mostly run in Flink).
  it.each([
    [1, 'all', 'hashmap'],
    [2, 'upsert', 'rocksdb'],
  ])(
    'parallelism %i, changelog-mode %s, state backend %s: snapshot + 200,000 concurrent changes survive SIGKILLs; DuckDB equals PostgreSQL’s GROUP BY and the slot sits at the last checkpoint',
    async (parallelism, mode, backend) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const random = seededRandom(seed);
      const table = `crash_src_${parallelism}`;
      const slot = `crash_slot_${parallelism}`;
      await pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL, note text)`);
      if (mode === 'all') await pg.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
      await pg.query(`INSERT INTO ${table} SELECT g, g % ${GROUPS}, ((g * 37) % 10000) / 100.0, 'init' FROM generate_series(1, ${INITIAL_ROWS}) g`);
      const dir = tempDir(`cdc-crash-${parallelism}`);
      const ck = join(dir, 'chk');
      const job = jobFile(dir, pg, table, slot, parallelism, mode, backend);
      const args = ['run', job, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'];

      let workloadDone = false;
      const changes = workload(pg, table, seededRandom(seed + 1)).finally(() => (workloadDone = true));
      let kills = 0;
      let killsInSnapshot = 0;
      let run: WeirRun | undefined;
      let restored = 0;
      for (let attempt = 0; attempt < 30; attempt++) {
        restored = latestCheckpoint(ck)?.id ?? 0;
        run = spawnWeir(args, { cwd: dir });
        if (kills >= KILLS && workloadDone) break;
        // Wait for a checkpoint newer than the one restored, then kill at a random moment after
        // it: the first kills land in the snapshot (it spans many checkpoints), the later ones
        // while streaming.
        const r = run;
        await until(
          () => r.child.exitCode !== null || (latestCheckpoint(ck)?.id ?? 0) > restored,
          `a checkpoint (run ${attempt}, seed ${seed}): ${r.stderr().slice(-2000)}`,
        );
        expect(run.child.exitCode, `run ${attempt} exited early (seed ${seed}): ${run.stderr().slice(-2000)}`).toBeNull();
        const streaming = kills < 2 ? 0 : 600 + Math.floor(random() * 2500);
        await new Promise((res) => setTimeout(res, streaming + Math.floor(random() * (kills < 2 ? 100 : 300))));
        const before = latestCheckpoint(ck);
        run.child.kill('SIGKILL');
        const { signal } = await run.exit;
        expect(signal, run.stderr().slice(-2000)).toBe('SIGKILL');
        kills++;
        if (before && !before.snapshotDone) killsInSnapshot++;
      }
      const changed = await changes;
      expect(changed).toBeGreaterThanOrEqual(CHANGES);
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
      expect(killsInSnapshot, `seed ${seed}`).toBeGreaterThanOrEqual(2);

      // Caught up: a completed checkpoint of the final run at or past the WAL position after the
      // last commit (the restored one may already be past it, but the run must have started).
      const [[target]] = await pg.query('SELECT pg_current_wal_lsn()::text');
      const final = run!;
      await until(() => {
        expect(final.child.exitCode, final.stderr().slice(-2000)).toBeNull();
        const c = latestCheckpoint(ck);
        return c !== undefined && c.id > restored && lsnNum(c.lsn) >= lsnNum(target!);
      }, `a checkpoint at ${target} (seed ${seed})`);
      final.child.kill('SIGTERM');
      const { code, signal } = await final.exit;
      expect({ code, signal }, final.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(final.stderr()).not.toMatch(/error/i);

      const expected = (await pg.query(`SELECT grp, count(*), sum(amount)::text, sum(id)::text FROM ${table} GROUP BY grp ORDER BY grp`)).map(
        ([g, n, s, i]) => [Number(g), Number(n), s, Number(i)],
      );
      const actual = (await queryDuckDb(join(dir, 'out.duckdb'), 'SELECT grp, n, total::VARCHAR, ids FROM agg ORDER BY grp')).map(([g, n, s, i]) => [
        g,
        n,
        String(s),
        i,
      ]);
      expect(expected.length).toBe(GROUPS);
      expect(actual, `seed ${seed}`).toEqual(expected);
      const [[confirmed]] = await pg.query('SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      expect(lsnNum(confirmed!)).toBe(lsnNum(latestCheckpoint(ck)!.lsn));
    },
    600_000,
  );
});
