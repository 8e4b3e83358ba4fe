/**
 * The changelog-normalize step after postgres-cdc, end to end through `weir run` into a PostgreSQL
 * sink (pollable while the job runs): upsert mode on REPLICA IDENTITY DEFAULT with key-only
 * deletes and unchanged TOASTed values, TRUNCATE as deletes, and several tables in one source.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { runWeir, spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

function withOptions(opts: Record<string, string>): string {
  return Object.entries(opts)
    .map(([k, v]) => `'${k}' = '${v}'`)
    .join(', ');
}

async function waitEqual(actual: () => Promise<unknown>, expected: () => Promise<unknown>, run: WeirRun, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let a: unknown;
  let e: unknown;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`weir exited: ${run.stderr()}`);
    [a, e] = await Promise.all([actual(), expected()]);
    if (JSON.stringify(a) === JSON.stringify(e)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(a).toEqual(e);
}

async function stop(run: WeirRun): Promise<void> {
  run.child.kill('SIGTERM');
  const { code } = await run.exit;
  expect(code, run.stderr()).toBe(0);
}

/** ~6,400 characters of md5 hex: incompressible enough to be stored out of line (TOASTed). */
const BIG = "(SELECT string_agg(md5(random()::text || g::text), '') FROM generate_series(1, 200) g)";

describe.skipIf(!server)('postgres-cdc changelog normalization', () => {
  const pg = server!;

  it('upsert mode (REPLICA IDENTITY DEFAULT): key-only deletes, unchanged TOASTed values, key changes and TRUNCATE keep the aggregate exact', async () => {
    await pg.query('CREATE TABLE docs (id int PRIMARY KEY, grp int NOT NULL, amount numeric(12,2) NOT NULL, body text)');
    await pg.query(`INSERT INTO docs SELECT s, s % 5, s * 0.25, CASE WHEN s % 3 = 0 THEN ${BIG} ELSE 'short' || s END FROM generate_series(1, 400) s`);
    await pg.query('CREATE TABLE docs_agg (grp int PRIMARY KEY, n bigint, total numeric(38,2), chars bigint)');
    const dir = tempDir('cdc-upsert');
    const job = join(dir, 'upsert.sql');
    const src = withOptions({
      connector: 'postgres-cdc',
      ...pg.options(),
      'table-name': 'docs',
      'slot.name': 'norm_slot',
      'publication.name': 'norm_pub',
      'changelog-mode': 'upsert',
      'scan.incremental.snapshot.chunk.size': '64',
      'heartbeat.interval.ms': '0',
    });
    const sink = withOptions({ connector: 'postgres', ...pg.options(), 'table-name': 'docs_agg' });
    writeFileSync(
      job,
      `SET 'execution.checkpointing.interval' = '200ms';
SET 'parallelism.default' = '2';
CREATE TABLE docs (id INT, grp INT, amount DECIMAL(12, 2), body STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (${src});
CREATE TABLE docs_agg (grp INT, n BIGINT, total DECIMAL(38, 2), chars BIGINT, PRIMARY KEY (grp) NOT ENFORCED) WITH (${sink});
INSERT INTO docs_agg SELECT grp, COUNT(*), SUM(amount), SUM(CAST(CHAR_LENGTH(body) AS BIGINT)) FROM docs GROUP BY grp;
`,
    );
    const expected = () => pg.query('SELECT grp, count(*)::text, sum(amount)::text, sum(length(body))::text FROM docs GROUP BY grp ORDER BY grp');
    const actual = () => pg.query('SELECT grp, n::text, total::text, chars::text FROM docs_agg ORDER BY grp');
    const run = spawnWeir(['run', job, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir });
    try {
      await waitEqual(actual, expected, run);
      // Updates that leave the TOASTed body alone: pgoutput sends it as "unchanged".
      await pg.query('UPDATE docs SET amount = amount + 1 WHERE id % 3 = 0 AND id <= 120');
      await pg.query('UPDATE docs SET grp = (grp + 1) % 5 WHERE id % 6 = 0');
      await pg.query('UPDATE docs SET id = id + 1000 WHERE id BETWEEN 200 AND 230');
      await pg.query('DELETE FROM docs WHERE id % 7 = 0');
      await pg.query(`INSERT INTO docs SELECT s, s % 5, 1.5, ${BIG} FROM generate_series(2000, 2040) s`);
      await waitEqual(actual, expected, run);
      expect((await actual()).length).toBe(5);

      await pg.query('TRUNCATE docs');
      await waitEqual(actual, expected, run);
      expect(await actual()).toEqual([]);
      await pg.query("INSERT INTO docs VALUES (1, 1, 2.50, 'again'), (2, 1, 0.50, NULL), (3, 4, 1.00, 'x')");
      await pg.query('UPDATE docs SET amount = 9 WHERE id = 3');
      await waitEqual(actual, expected, run);
      expect(await actual()).toEqual([
        ['1', '2', '3.00', '5'],
        ['4', '1', '9.00', '1'],
      ]);
    } finally {
      await stop(run);
    }
  });

  it('one source reads several tables by regular expression, with table_name in the key; TRUNCATE of one empties only its rows', async () => {
    for (const t of ['shard_1', 'shard_2', 'shard_3']) {
      await pg.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL)`);
      await pg.query(`ALTER TABLE ${t} REPLICA IDENTITY FULL`);
      await pg.query(`INSERT INTO ${t} SELECT g, '${t}-' || g, g * ${t.slice(-1)} FROM generate_series(1, 150) g`);
    }
    await pg.query('CREATE TABLE not_a_shard (id int PRIMARY KEY, name text, score int)');
    await pg.query('CREATE TABLE shards_copy (tbl text, id int, name text, score int, PRIMARY KEY (tbl, id))');
    const dir = tempDir('cdc-multi');
    const job = join(dir, 'multi.sql');
    const src = withOptions({
      connector: 'postgres-cdc',
      ...pg.options(),
      'table-name': 'shard_\\d+',
      'slot.name': 'multi_slot',
      'publication.name': 'multi_pub',
      'scan.incremental.snapshot.chunk.size': '40',
      'heartbeat.interval.ms': '0',
    });
    const sink = withOptions({ connector: 'postgres', ...pg.options(), 'table-name': 'shards_copy' });
    writeFileSync(
      job,
      `SET 'execution.checkpointing.interval' = '200ms';
CREATE TABLE shards (tbl STRING METADATA FROM 'table_name' VIRTUAL, id INT, name STRING, score INT, PRIMARY KEY (tbl, id) NOT ENFORCED) WITH (${src});
CREATE TABLE shards_copy (tbl STRING, id INT, name STRING, score INT, PRIMARY KEY (tbl, id) NOT ENFORCED) WITH (${sink});
INSERT INTO shards_copy SELECT tbl, id, name, score FROM shards;
`,
    );
    const expected = () =>
      pg.query("SELECT 'shard_1', * FROM shard_1 UNION ALL SELECT 'shard_2', * FROM shard_2 UNION ALL SELECT 'shard_3', * FROM shard_3 ORDER BY 1, 2");
    const actual = () => pg.query('SELECT tbl, id, name, score FROM shards_copy ORDER BY 1, 2');
    const run = spawnWeir(['run', job, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir });
    try {
      await waitEqual(actual, expected, run);
      expect((await actual()).length).toBe(450);
      await pg.query('UPDATE shard_2 SET score = -score WHERE id <= 10');
      await pg.query('DELETE FROM shard_3 WHERE id > 100');
      await pg.query('UPDATE shard_1 SET id = id + 500 WHERE id <= 5');
      await pg.query("INSERT INTO not_a_shard VALUES (1, 'ignored', 0)");
      await waitEqual(actual, expected, run);
      await pg.query('TRUNCATE shard_2');
      await pg.query("INSERT INTO shard_2 VALUES (7, 'back', 7)");
      await waitEqual(actual, expected, run);
      expect((await pg.query("SELECT count(*)::int FROM shards_copy WHERE tbl = 'shard_2'"))[0][0]).toBe('1');
      expect((await pg.query("SELECT count(*)::int FROM shards_copy WHERE tbl = 'shard_1'"))[0][0]).toBe('150');
    } finally {
      await stop(run);
    }
  });

  it("'scan.startup.mode' = 'snapshot' is a bounded copy that needs no normalize step", async () => {
    await pg.query('CREATE TABLE once (id int PRIMARY KEY, v text)');
    await pg.query("INSERT INTO once SELECT g, 'v' || g FROM generate_series(1, 1000) g");
    const dir = tempDir('cdc-once');
    const job = join(dir, 'once.sql');
    const src = withOptions({
      connector: 'postgres-cdc',
      ...pg.options(),
      'table-name': 'once',
      'slot.name': 'once_slot',
      'publication.name': 'once_pub',
      'scan.startup.mode': 'snapshot',
      'scan.incremental.snapshot.chunk.size': '300',
    });
    writeFileSync(
      job,
      `CREATE TABLE once (id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (${src});
CREATE TABLE once_copy (id INT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (${withOptions({ connector: 'postgres', ...pg.options(), 'table-name': 'once_copy', 'sink.create-table': 'true' })});
INSERT INTO once_copy SELECT * FROM once;
`,
    );
    const explain = await runWeir(['explain', job], { cwd: dir });
    expect(explain.stdout).not.toContain('ChangelogNormalize');
    const r = await runWeir(['run', job, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await pg.query('SELECT count(*)::int, sum(length(v))::int FROM once_copy')).toEqual(
      await pg.query('SELECT count(*)::int, sum(length(v))::int FROM once'),
    );
    // Bounded: no slot is left behind.
    expect(await pg.query("SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = 'once_slot'")).toEqual([['0']]);
  });

  it('several matched tables without table_name in the key fail with a message saying what to declare', async () => {
    await pg.query('CREATE TABLE part_a (id int PRIMARY KEY, v int)');
    await pg.query('CREATE TABLE part_b (id int PRIMARY KEY, v int)');
    const dir = tempDir('cdc-multi-err');
    const job = join(dir, 'bad.sql');
    const src = withOptions({ connector: 'postgres-cdc', ...pg.options(), 'table-name': 'part_.', 'slot.name': 'part_slot', 'publication.name': 'part_pub' });
    writeFileSync(
      job,
      `SET 'restart-strategy.type' = 'none';
CREATE TABLE parts (id INT, v INT, PRIMARY KEY (id) NOT ENFORCED) WITH (${src});
CREATE TABLE out_t (id INT, v INT) WITH ('connector' = 'blackhole');
INSERT INTO out_t SELECT id, v FROM parts;
`,
    );
    const r = await runWeir(['run', job, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /table-name matches 2 tables \(public\.part_a, public\.part_b\), whose primary keys may collide: declare `table_name` STRING METADATA FROM 'table_name' VIRTUAL and add it to the PRIMARY KEY/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain(pg.password);
  });
});
