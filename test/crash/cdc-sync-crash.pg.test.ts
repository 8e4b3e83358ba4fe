/**
 * `weir cdc` crash test: ten tables, 1,000,000 rows in all, a concurrent workload of inserts,
 * updates (some moving the primary key) and deletes across tables, `weir cdc` killed with SIGKILL
 * at random moments at least 5 times (during the snapshot and while streaming) and restarted with
 * --from-checkpoint latest; once the workload stopped and the job caught up, every target table
 * equals its source row for row — into DuckDB and into PostgreSQL.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../support/postgres.js';
import { seededRandom, spawnWeir, tempDir, type WeirRun } from '../support/weir-process.js';

const TABLES = 10;
const ROWS_PER_TABLE = 100_000;
const CHANGES = 30_000;
const WORKLOAD_MS = 15_000;
const KILLS = 5;

const server = await postgresOrSkip({ maxPreparedTransactions: 64, extraFlags: ['-c max_replication_slots=50', '-c max_wal_senders=50'] });
afterAll(() => server?.stop());

const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

/** The newest complete checkpoint: its id, the smallest source LSN in it, and whether every snapshot is done. */
function latestCheckpoint(jobDir: string): { id: number; lsn: bigint; snapshotDone: boolean } | undefined {
  if (!existsSync(jobDir)) return undefined;
  const chks = readdirSync(jobDir)
    .filter((d) => d.startsWith('chk-') && existsSync(join(jobDir, d, '_metadata')))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (chks.length === 0) return undefined;
  const last = chks[chks.length - 1];
  let meta: string;
  try {
    meta = readFileSync(join(jobDir, last, '_metadata'), 'utf8');
  } catch {
    return undefined;
  }
  // Each source's own position (not the LSNs of its snapshot segments).
  const sources = Object.values((JSON.parse(meta) as { sources: Record<string, { positions: { position: { lsn?: string } }[] }> }).sources);
  const lsns = sources
    .flatMap((src) => src.positions.map((p) => p.position.lsn))
    .filter((l): l is string => typeof l === 'string')
    .map(lsnNum);
  if (lsns.length === 0) return undefined;
  return {
    id: Number(last.slice(4)), // biome-ignore lint/complexity/useMathMinMax: LSNs are bigints
    lsn: lsns.reduce((a, b) => (a < b ? a : b)),
    snapshotDone: !/"done":\s*false/.test(meta),
  };
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const COLS = 'id, grp, amount::text, note, flag, extract(epoch FROM ts)::bigint::text';

async function createTables(pg: TestPostgres, prefix: string): Promise<void> {
  for (let k = 0; k < TABLES; k++) {
    await pg.query(`CREATE TABLE ${prefix}${k} (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2), note text, flag boolean, ts timestamp)`);
    await pg.query(
      `INSERT INTO ${prefix}${k} SELECT g, g % 17, (g % 1000) / 8.0, 'row ' || g, g % 3 = 0, TIMESTAMP '2026-01-01' + g * INTERVAL '1 second' FROM generate_series(1, ${ROWS_PER_TABLE}) g`,
    );
  }
}

/** Transactions of ~100 changes spread over random tables, paced over WORKLOAD_MS. */
async function workload(pg: TestPostgres, prefix: string, random: () => number): Promise<number> {
  const c = await pg.client();
  const next = Array.from({ length: TABLES }, () => ROWS_PER_TABLE + 1);
  const started = Date.now();
  let changed = 0;
  const table = () => Math.floor(random() * TABLES);
  const key = (k: number) => 1 + Math.floor(random() * (next[k] - 1));
  try {
    for (let txn = 0; changed < CHANGES; txn++) {
      await c.query('BEGIN');
      for (let op = 0; op < 100; op++) {
        const k = table();
        const r = random();
        const t = `${prefix}${k}`;
        if (r < 0.3) {
          await c.query(`INSERT INTO ${t} VALUES ($1, $2, $3, $4, $5, TIMESTAMP '2026-06-01' + make_interval(secs => $6))`, [
            next[k],
            txn % 17,
            (op / 4).toFixed(2),
            `new ${txn}`,
            r < 0.1,
            next[k]++,
          ]);
        } else if (r < 0.7) {
          await c.query(`UPDATE ${t} SET amount = amount + 1, note = note || '+', flag = NOT flag WHERE id = $1`, [key(k)]);
        } else if (r < 0.8) {
          await c.query(`UPDATE ${t} SET id = $2 WHERE id = $1`, [key(k), next[k]++]);
        } else {
          await c.query(`DELETE FROM ${t} WHERE id = $1`, [key(k)]);
        }
        changed++;
      }
      await c.query('COMMIT');
      const due = started + (changed / CHANGES) * WORKLOAD_MS;
      if (due > Date.now()) await new Promise((res) => setTimeout(res, due - Date.now()));
    }
  } finally {
    await c.end();
  }
  return changed;
}

describe.skipIf(!server)('weir cdc crash recovery', () => {
  const pg = server!;

  it.each(['duckdb', 'postgres'] as const)(
    'into %s: ten tables, 1,000,000 rows, concurrent changes, ≥5 SIGKILLs; every target table equals its source row for row',
    async (sinkType) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const random = seededRandom(seed);
      const prefix = `sync_${sinkType}_`;
      await createTables(pg, prefix);
      const dir = tempDir(`cdc-sync-${sinkType}`);
      const ck = join(dir, 'ck');
      const name = `sync_${sinkType}`;
      const db = join(dir, 'warehouse.duckdb');
      if (sinkType === 'postgres') await pg.createDatabase('replica');
      const sink =
        sinkType === 'duckdb'
          ? `{ type: duckdb, path: ${db} }`
          : `{ type: postgres, url: "postgres://${pg.user}@${pg.host}:${pg.port}/replica", password: "\${SYNC_PW}" }`;
      const yaml = join(dir, 'sync.yaml');
      writeFileSync(
        yaml,
        `source:
  type: postgres
  hostname: ${pg.host}
  port: ${pg.port}
  username: ${pg.user}
  password: \${SYNC_PW}
  database-name: ${pg.database}
  tables: "public.${prefix}\\\\d+"
  heartbeat.interval.ms: 300
sink: ${sink}
pipeline:
  name: ${name}
  parallelism: 2
  checkpoint.interval: 1s
`,
      );
      const env = { SYNC_PW: pg.password };
      const args = ['cdc', yaml, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'];
      const jobDir = join(ck, name);

      let workloadDone = false;
      const changes = workload(pg, prefix, seededRandom(seed + 1)).finally(() => (workloadDone = true));
      let kills = 0;
      let killsInSnapshot = 0;
      let run: WeirRun | undefined;
      let restored = 0;
      for (let attempt = 0; attempt < 40; attempt++) {
        restored = latestCheckpoint(jobDir)?.id ?? 0;
        run = spawnWeir(args, { cwd: dir, env });
        if (kills >= KILLS && workloadDone) break;
        const r = run;
        await until(
          () => r.child.exitCode !== null || (latestCheckpoint(jobDir)?.id ?? 0) > restored,
          `a checkpoint (run ${attempt}, seed ${seed}): ${r.stderr().slice(-2000)}`,
        );
        expect(run.child.exitCode, `run ${attempt} exited early (seed ${seed}): ${run.stderr().slice(-2000)}`).toBeNull();
        const streaming = kills < 2 ? 0 : 500 + Math.floor(random() * 2500);
        await new Promise((res) => setTimeout(res, streaming + Math.floor(random() * (kills < 2 ? 300 : 500))));
        const before = latestCheckpoint(jobDir);
        run.child.kill('SIGKILL');
        const { signal } = await run.exit;
        expect(signal, run.stderr().slice(-2000)).toBe('SIGKILL');
        kills++;
        if (before && !before.snapshotDone) killsInSnapshot++;
      }
      expect(await changes).toBeGreaterThanOrEqual(CHANGES);
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
      expect(killsInSnapshot, `seed ${seed}`).toBeGreaterThanOrEqual(1);

      const [[target]] = await pg.query('SELECT pg_current_wal_lsn()::text');
      const final = run!;
      await until(() => {
        expect(final.child.exitCode, final.stderr().slice(-2000)).toBeNull();
        const c = latestCheckpoint(jobDir);
        return c !== undefined && c.id > restored && c.snapshotDone && c.lsn >= lsnNum(target!);
      }, `a checkpoint at ${target} (seed ${seed})`);
      final.child.kill('SIGTERM');
      const { code, signal } = await final.exit;
      expect({ code, signal }, final.stderr().slice(-2000)).toEqual({ code: 0, signal: null });

      let total = 0;
      for (let k = 0; k < TABLES; k++) {
        const t = `${prefix}${k}`;
        const expected = (await pg.query(`SELECT ${COLS} FROM ${t} ORDER BY id`)).map(([id, g, a, n, f, ts]) => [Number(id), Number(g), a, n, f === 't', ts]);
        total += expected.length;
        const actual =
          sinkType === 'duckdb'
            ? (await queryDuckDb(db, `SELECT id, grp, amount::VARCHAR, note, flag, epoch(ts)::BIGINT::VARCHAR FROM ${t} ORDER BY id`)).map(
                ([id, g, a, n, f, ts]) => [Number(id), Number(g), a, n, f, ts],
              )
            : (await pg.query(`SELECT ${COLS} FROM public.${t} ORDER BY id`, [], 'replica')).map(([id, g, a, n, f, ts]) => [
                Number(id),
                Number(g),
                a,
                n,
                f === 't',
                ts,
              ]);
        expect(actual.length, `${t} (seed ${seed})`).toBe(expected.length);
        expect(actual, `${t} (seed ${seed})`).toEqual(expected);
      }
      expect(total).toBeGreaterThan(TABLES * ROWS_PER_TABLE * 0.9);
    },
    600_000,
  );
});
