import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { postgresOrSkip } from '../support/postgres.js';
import { runWeir, seededRandom, spawnWeir, tempDir } from '../support/weir-process.js';
import { PG_ROWS, writePgScenario, type PgScenario, type PgScenarioOptions } from './postgres-scenarios.js';

/**
 * PostgreSQL crash tests: `weir run` as a real process writing 1,000,000 generated rows into
 * PostgreSQL through the exactly-once sink, (1) killed with SIGKILL at random moments (each soon
 * after a prepared transaction appears, following a random delay) at least five times and
 * restarted with `--from-checkpoint latest`; (2) with the PostgreSQL server restarted
 * (`pg_ctl restart -m immediate`) under it, recovering by itself; (3) stopped with SIGTERM;
 * (4) read by a poller that must never see part of a checkpoint. The final table must equal an
 * uninterrupted run's, and no prepared transaction of the job may be left behind.
 * A run that the test kills or stops reads an unbounded sequence (the queries keep the first
 * 1,000,000 ids), so it cannot finish first however slow the machine; the run that finishes is
 * the same job with the bounded sequence, restored from the latest checkpoint.
 */
const KILLS = 5;
const server = await postgresOrSkip();
afterAll(() => server?.stop());
// A test that fails may leave its staging tables behind; the next test counts only its own.
afterEach(async () => {
  const left = await server?.query("SELECT schemaname, tablename FROM pg_tables WHERE tablename LIKE '\\_weir\\_stage\\_%'");
  for (const [schema, table] of left ?? []) await server!.query(`DROP TABLE "${schema}"."${table}"`);
});

/** Row count, distinct keys and an order-independent digest of the whole table. */
async function fingerprint(table: string, scenario: PgScenario): Promise<{ rows: number; keys: number; digest: string; total?: number }> {
  const key = scenario === 'aggregate-upsert' ? 'k' : 'id';
  const row = scenario === 'aggregate-upsert' ? `k || ',' || cnt || ',' || total || ',' || lo || ',' || hi` : `id || ',' || k || ',' || v2 || ',' || name`;
  const [[rows, keys, digest, total]] = await server!.query(
    `SELECT count(*), count(DISTINCT ${key}), md5(string_agg(${row}, ';' ORDER BY ${key})), ${scenario === 'aggregate-upsert' ? 'sum(cnt)' : 'NULL'} FROM ${table}`,
  );
  return { rows: Number(rows), keys: Number(keys), digest: digest!, ...(total !== null ? { total: Number(total) } : {}) };
}

async function leftovers(jobName: string): Promise<string[]> {
  const prefix = `weir:${jobName}:`;
  return (await server!.query('SELECT gid FROM pg_prepared_xacts WHERE left(gid, length($1)) = $1', [prefix])).map((r) => r[0]!);
}

/** Staging tables left in the schema (parallelism > 1: committed shares not yet applied): none once a job is done. */
async function stagedLeft(table: string): Promise<number> {
  const [schema] = table.split('.');
  return Number((await server!.query("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '\\_weir\\_stage\\_%'", [schema]))[0][0]);
}

/**
 * SIGKILL at a random moment of the two-phase commit: once the job has a prepared transaction
 * (a condition, however long a loaded machine takes to get there), either at once (between PREPARE
 * and COMMIT PREPARED, before or after the checkpoint's metadata is written, where recovery must
 * commit the restored checkpoint's transactions and roll back newer ones) or up to a second later.
 */
async function killWhilePrepared(child: ChildProcess, jobName: string, random: () => number): Promise<void> {
  const client = await server!.client();
  try {
    const prefix = `weir:${jobName}:`;
    while (child.exitCode === null) {
      const r = await client.query('SELECT 1 FROM pg_prepared_xacts WHERE left(gid, length($1)) = $1', [prefix]);
      if (r.rowCount! > 0) {
        // Spread the kills over the window up to COMMIT PREPARED (some after the checkpoint
        // completed), and some further on.
        const roll = random();
        if (roll < 0.5) await new Promise((res) => setTimeout(res, Math.floor(random() * 8)));
        else if (roll < 0.75) await new Promise((res) => setTimeout(res, Math.floor(random() * 1000)));
        break;
      }
    }
  } finally {
    child.kill('SIGKILL');
    await client.end();
  }
}

/** Waits until the job has committed at least `n` checkpoints (commit markers); fails at once, with its stderr, when `run` exits. */
async function waitForCommits(jobName: string, n: number, run?: { child: ChildProcess; stderr(): string }, timeoutMs = HANG_GUARD_MS): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await server!.query('SELECT count(*) FROM crash._weir_commits WHERE job = $1', [jobName]).catch(() => [['0']]);
    if (Number(r[0][0]) >= n) return;
    if (run !== undefined && run.child.exitCode !== null)
      throw new Error(`job ${jobName} exited (${run.child.exitCode}) before ${n} commits: ${run.stderr().slice(-3000)}`);
    if (Date.now() > until) throw new Error(`job ${jobName} committed fewer than ${n} checkpoints in ${timeoutMs} ms: ${run?.stderr().slice(-3000) ?? ''}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

function scenarioFiles(name: string, o: Omit<PgScenarioOptions, 'connection' | 'name'>) {
  const dir = tempDir(`pg-crash-${name}`);
  const files = writePgScenario(dir, { ...o, name, connection: server!.options() });
  /** Rewrites the job file with the bounded sequence: the same job, which then finishes. */
  const bounded = () => writePgScenario(dir, { ...o, unbounded: false, name, connection: server!.options() });
  return { ...files, checkpoints: join(dir, 'chk'), bounded };
}

const references = new Map<PgScenario, Promise<Awaited<ReturnType<typeof fingerprint>>>>();

/** The uninterrupted result (datagen's rows depend only on the row index: any parallelism gives the same). */
function reference(scenario: PgScenario) {
  let r = references.get(scenario);
  if (!r) {
    r = (async () => {
      const s = scenarioFiles(`ref_${scenario}`, { scenario, parallelism: 1, rowsPerSecond: 10_000_000, checkpointInterval: '1 s' });
      const run = await runWeir(['run', s.jobFile, '--checkpoint-dir', s.checkpoints, '-q']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      return fingerprint(s.table, scenario);
    })();
    references.set(scenario, r);
  }
  return r;
}

describe.skipIf(!server)('postgres crash recovery', () => {
  it.each<[PgScenario, number]>([
    ['projection-append', 1],
    ['aggregate-upsert', 1],
    ['projection-append', 3],
    ['aggregate-upsert', 3],
  ])(
    '%s, parallelism %i: SIGKILL at random moments, restart from latest, the table equals the uninterrupted run',
    async (scenario, parallelism) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const random = seededRandom(seed);
      const expected = await reference(scenario);
      const s = scenarioFiles(`kill_${scenario}_${parallelism}`, { scenario, parallelism, unbounded: true });
      const args = ['run', s.jobFile, '--checkpoint-dir', s.checkpoints, '--from-checkpoint', 'latest', '-q'];
      let kills = 0;
      let killsWithPrepared = 0;
      // Kill on until at least one kill left a prepared transaction behind (recovery had to
      // commit or roll it back), at most three times as often as KILLS. These runs read the
      // unbounded sequence: none can end before it is killed.
      for (let attempt = 0; kills < KILLS || (killsWithPrepared < 1 && kills < 3 * KILLS); attempt++) {
        const run = spawnWeir(args);
        const killing = killWhilePrepared(run.child, s.jobName, random);
        const { signal } = await run.exit;
        await killing;
        expect(signal, `run ${attempt} (seed ${seed}): ${run.stderr().slice(-2000)}`).toBe('SIGKILL');
        kills++;
        if ((await leftovers(s.jobName)).length > 0) killsWithPrepared++;
      }
      // The same job with the bounded sequence finishes from the latest checkpoint.
      const last = spawnWeir(['run', s.bounded().jobFile, '--checkpoint-dir', s.checkpoints, '--from-checkpoint', 'latest', '-q']);
      const { code } = await last.exit;
      expect(last.stderr(), `final run failed (seed ${seed})`).not.toMatch(/error/i);
      expect(code).toBe(0);
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
      expect(killsWithPrepared, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      expect(await fingerprint(s.table, scenario), `seed ${seed}`).toEqual(expected);
      if (scenario === 'aggregate-upsert') expect(expected.total).toBe(PG_ROWS);
      else expect(expected.rows).toBe(expected.keys);
      expect(await leftovers(s.jobName)).toEqual([]);
      expect(await stagedLeft(s.table)).toBe(0);
    },
    600_000,
  );

  it.each<PgScenario>(['projection-append', 'aggregate-upsert'])(
    '%s: killed at parallelism 3, restored at 2, killed again, finished at 1: the table equals the uninterrupted run',
    async (scenario) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const random = seededRandom(seed);
      const expected = await reference(scenario);
      const name = `rescale_${scenario.replace(/-/g, '_')}`;
      const dir = tempDir(`pg-crash-${name}`);
      const args = (jobFile: string) => ['run', jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
      let s = writePgScenario(dir, { scenario, parallelism: 3, name, unbounded: true, connection: server!.options() });
      // The same job file at another parallelism: same job, same operators, same table. The
      // killed runs read the unbounded sequence (none can end before it is killed); the last one
      // the bounded one.
      for (const parallelism of [3, 2]) {
        s = writePgScenario(dir, { scenario, parallelism, name, unbounded: true, connection: server!.options() });
        const applied = async () =>
          Number((await server!.query('SELECT count(*) FROM crash._weir_commits WHERE job = $1 AND subtask = -1', [s.jobName]).catch(() => [['0']]))[0][0]);
        const before = await applied();
        const run = spawnWeir(args(s.jobFile));
        // This run completes (and applies) two checkpoints of its own before it is killed.
        while ((await applied()) < before + 2 && run.child.exitCode === null) await new Promise((res) => setTimeout(res, 50));
        await killWhilePrepared(run.child, s.jobName, random);
        const { signal } = await run.exit;
        expect(signal, `seed ${seed}: ${run.stderr().slice(-2000)}`).toBe('SIGKILL');
      }
      s = writePgScenario(dir, { scenario, parallelism: 1, name, connection: server!.options() });
      const last = spawnWeir(args(s.jobFile));
      const { code } = await last.exit;
      expect(code, `seed ${seed}: ${last.stderr().slice(-2000)}`).toBe(0);
      expect(await fingerprint(s.table, scenario), `seed ${seed}`).toEqual(expected);
      expect(await leftovers(s.jobName)).toEqual([]);
      expect(await stagedLeft(s.table)).toBe(0);
    },
    600_000,
  );

  it('PostgreSQL restarts (immediate) in the middle of a job: the job recovers by itself and the output is exact', async () => {
    const expected = await reference('projection-append');
    // Unbounded, so that it is still running for both restarts however slow the machine: it is
    // stopped once it has come back from the second, and the bounded job finishes from there.
    const s = scenarioFiles('server_restart', { scenario: 'projection-append', parallelism: 3, restarts: 'default', unbounded: true });
    const run = spawnWeir(['run', s.jobFile, '--checkpoint-dir', s.checkpoints]);
    await waitForCommits(s.jobName, 3, run);
    // Twice: after the job came back and committed again, once more.
    for (let restart = 0; restart < 2; restart++) {
      await server!.restartImmediate();
      const [[before]] = await server!.query('SELECT count(*) FROM crash._weir_commits WHERE job = $1', [s.jobName]);
      await waitForCommits(s.jobName, Number(before) + 3, run);
    }
    run.child.kill('SIGTERM');
    const { code, signal } = await run.exit;
    expect(run.stderr()).toContain('restarting from the latest checkpoint');
    expect({ code, signal }, run.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    // The failures were logged (at warn/error) without the password.
    expect(run.stderr()).not.toContain(server!.password);
    const last = await runWeir(['run', s.bounded().jobFile, '--checkpoint-dir', s.checkpoints, '--from-checkpoint', 'latest', '-q']);
    expect(last.code, last.stderr.slice(-2000)).toBe(0);
    expect(await fingerprint(s.table, 'projection-append')).toEqual(expected);
    expect(await leftovers(s.jobName)).toEqual([]);
    expect(await stagedLeft(s.table)).toBe(0);
  }, 600_000);

  it('a clean stop (SIGTERM) commits its final checkpoint and leaves no prepared transaction or open connection', async () => {
    const s = scenarioFiles('clean_stop', { scenario: 'projection-append', parallelism: 2, rows: 5_000_000, unbounded: true, rowsPerSecond: 100_000 });
    const run = spawnWeir(['run', s.jobFile, '--checkpoint-dir', s.checkpoints, '-q']);
    await waitForCommits(s.jobName, 2, run);
    run.child.kill('SIGTERM');
    const { code, signal } = await run.exit;
    expect({ code, signal }, run.stderr()).toEqual({ code: 0, signal: null });
    expect(await leftovers(s.jobName)).toEqual([]);
    expect(await stagedLeft(s.table)).toBe(0);
    const [[rows, committed]] = await server!.query(`SELECT (SELECT count(*) FROM ${s.table}), (SELECT sum(rows) FROM crash._weir_commits WHERE job = $1)`, [
      s.jobName,
    ]);
    expect(Number(rows)).toBeGreaterThan(0);
    expect(rows).toBe(committed);
    expect(await server!.query("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'weir ' || $1 || '%'", [s.jobName])).toEqual([['0']]);
    // Committables and everything else in the checkpoint folder are free of credentials.
    const files = readdirSync(s.checkpoints, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const metadata = files.filter((f) => f.name === '_metadata').map((f) => readFileSync(join(f.parentPath, f.name), 'utf8'));
    expect(metadata.some((m) => m.includes(`"weir:${s.jobName}:`))).toBe(true);
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name)).includes(server!.password)).toBe(false);
  }, 600_000);

  it('a reader polling the table while the job runs at parallelism 3 never sees part of a checkpoint', async () => {
    // Unbounded, never ending by itself: the test stops it (SIGTERM) once the reader has seen ten
    // different committed states, however slowly a loaded machine gets there (the first 50,000,000
    // ids reach the table: more than it reads in that time).
    const s = scenarioFiles('reader', {
      scenario: 'projection-append',
      parallelism: 3,
      rows: 50_000_000,
      unbounded: true,
      rowsPerSecond: 100_000,
      checkpointInterval: '200ms',
    });
    const run = spawnWeir(['run', s.jobFile, '--checkpoint-dir', s.checkpoints, '-q']);
    let finished = false;
    void run.exit.then(() => (finished = true));
    const client = await server!.client();
    const seen = new Set<number>();
    try {
      // As fast as it can: the window in which one subtask's share of a checkpoint would be
      // visible without the others' is a few milliseconds.
      while (!finished) {
        const r = await client.query({ text: `SELECT count(*) FROM ${s.table}`, rowMode: 'array' }).catch(() => undefined);
        if (r) seen.add(Number((r.rows[0] as string[])[0]));
        else await new Promise((res) => setTimeout(res, 5));
        if (seen.size >= 10 && run.child.exitCode === null && !run.child.killed) run.child.kill('SIGTERM');
      }
    } finally {
      await client.end();
    }
    expect((await run.exit).code, run.stderr()).toBe(0);
    expect(seen.size).toBeGreaterThan(5);
    // Every count seen is the row total of checkpoints 1..m for some m (the markers record each
    // checkpoint's rows, whichever subtask wrote them).
    const perCheckpoint = await server!.query('SELECT sum(rows) FROM crash._weir_commits WHERE job = $1 GROUP BY checkpoint_id ORDER BY checkpoint_id', [
      s.jobName,
    ]);
    const whole = new Set([0]);
    let total = 0;
    for (const [rows] of perCheckpoint) whole.add((total += Number(rows)));
    expect(
      [...seen].filter((n) => !whole.has(n)),
      'counts that are not whole checkpoints',
    ).toEqual([]);
    const [[rows]] = await server!.query(`SELECT count(*) FROM ${s.table}`);
    expect(Number(rows)).toBe(total);
    expect(total).toBeGreaterThan(0);
    expect(await leftovers(s.jobName)).toEqual([]);
    expect(await stagedLeft(s.table)).toBe(0);
  }, 600_000);
});
