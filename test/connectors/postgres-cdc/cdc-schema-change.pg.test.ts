/**
 * A column added to or dropped from a captured PostgreSQL table: the job fails naming the table
 * and the column ('schema-change.mode' = 'fail', the default), or goes on with the new column
 * NULL until CREATE TABLE declares it ('allow'), restored from its checkpoint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../../support/postgres.js';
import { spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

function job(dir: string, name: string, pg: TestPostgres, table: string, slot: string, mode: string, columns: string, insert: string): string {
  const opts = {
    connector: 'postgres-cdc',
    ...pg.options(),
    'table-name': table,
    'slot.name': slot,
    'publication.name': `${slot}_pub`,
    'heartbeat.interval.ms': '0',
    'schema-change.mode': mode,
  };
  const sink = { connector: 'postgres', ...pg.options(), 'table-name': `${table}_copy` };
  const w = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `'${k}' = '${v}'`)
      .join(', ');
  const path = join(dir, `${name}.sql`);
  writeFileSync(
    path,
    `SET 'pipeline.name' = 'evolve';
SET 'execution.checkpointing.interval' = '200ms';
SET 'restart-strategy.type' = 'none';
CREATE TABLE src (${columns}, PRIMARY KEY (id) NOT ENFORCED) WITH (${w(opts)});
CREATE TABLE copy (id INT, v INT, extra INT, PRIMARY KEY (id) NOT ENFORCED) WITH (${w(sink)});
${insert};
`,
  );
  return path;
}

async function until(pred: () => Promise<boolean>, run: WeirRun, what: string, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`weir exited while waiting for ${what}: ${run.stderr()}`);
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!server)('postgres-cdc schema changes', () => {
  const pg = server!;
  const same = (table: string, cols: string) => async () =>
    JSON.stringify(await pg.query(`SELECT ${cols} FROM ${table} ORDER BY id`)) ===
    JSON.stringify(await pg.query(`SELECT ${cols} FROM ${table}_copy ORDER BY id`));

  it('a column added in PostgreSQL fails the job, naming the table and the column', async () => {
    await pg.query('CREATE TABLE strict_t (id int PRIMARY KEY, v int)');
    await pg.query('ALTER TABLE strict_t REPLICA IDENTITY FULL');
    await pg.query('INSERT INTO strict_t SELECT g, g FROM generate_series(1, 50) g');
    await pg.query('CREATE TABLE strict_t_copy (id int PRIMARY KEY, v int, extra int)');
    const dir = tempDir('cdc-strict');
    const path = job(dir, 'strict', pg, 'strict_t', 'strict_slot', 'fail', 'id INT, v INT', 'INSERT INTO copy (id, v) SELECT id, v FROM src');
    const run = spawnWeir(['run', path, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir });
    await until(same('strict_t', 'id, v'), run, 'the snapshot');
    await pg.query('ALTER TABLE strict_t ADD COLUMN note text');
    await pg.query("UPDATE strict_t SET note = 'x' WHERE id = 1");
    const { code } = await run.exit;
    expect(code).toBe(1);
    expect(run.stderr()).toContain(
      "PostgreSQL table public.strict_t changed: column 'note' was added; update CREATE TABLE and restart without --from-checkpoint, or set 'schema-change.mode' = 'allow'",
    );
    expect(run.stderr()).not.toMatch(/\n\s+at /);
  });

  it("with 'allow' the job goes on; once CREATE TABLE declares the new column, a restore from the checkpoint reads it", async () => {
    await pg.query('CREATE TABLE ev (id int PRIMARY KEY, v int)');
    await pg.query('ALTER TABLE ev REPLICA IDENTITY FULL');
    await pg.query('INSERT INTO ev SELECT g, g FROM generate_series(1, 100) g');
    await pg.query('CREATE TABLE ev_copy (id int PRIMARY KEY, v int, extra int)');
    const dir = tempDir('cdc-evolve');
    const ck = join(dir, 'ck');
    const before = job(dir, 'before', pg, 'ev', 'ev_slot', 'allow', 'id INT, v INT', 'INSERT INTO copy (id, v) SELECT id, v FROM src');
    const run1 = spawnWeir(['run', before, '--checkpoint-dir', ck, '-q'], { cwd: dir });
    await until(same('ev', 'id, v'), run1, 'the snapshot');
    await pg.query('ALTER TABLE ev ADD COLUMN extra int');
    await pg.query('UPDATE ev SET extra = id * 10, v = v + 1 WHERE id <= 20');
    await pg.query('INSERT INTO ev VALUES (101, 101, 1010)');
    await until(same('ev', 'id, v'), run1, 'the changes after ALTER TABLE');
    run1.child.kill('SIGTERM');
    expect((await run1.exit).code, run1.stderr()).toBe(0);
    // The new column was not read yet: NULL in the copy.
    expect(await pg.query('SELECT count(*)::int FROM ev_copy WHERE extra IS NOT NULL')).toEqual([['0']]);

    const after = job(dir, 'after', pg, 'ev', 'ev_slot', 'allow', 'id INT, v INT, extra INT', 'INSERT INTO copy SELECT id, v, extra FROM src');
    const run2 = spawnWeir(['run', after, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '--allow-non-restored-state', '-q'], { cwd: dir });
    await pg.query('UPDATE ev SET extra = 7 WHERE id IN (5, 50)');
    await pg.query('UPDATE ev SET v = -v WHERE id = 101');
    await until(
      async () =>
        JSON.stringify(await pg.query('SELECT id, v, extra FROM ev_copy WHERE id IN (5, 50, 101) ORDER BY id')) ===
        JSON.stringify([
          ['5', '6', '7'],
          ['50', '50', '7'],
          ['101', '-101', '1010'],
        ]),
      run2,
      'the new column in the copy',
    );
    // Rows not changed since keep what was read before the column was declared.
    expect(await pg.query('SELECT id, v, extra FROM ev_copy WHERE id IN (6, 60) ORDER BY id')).toEqual([
      ['6', '7', null],
      ['60', '60', null],
    ]);
    run2.child.kill('SIGTERM');
    expect((await run2.exit).code, run2.stderr()).toBe(0);
  });
});
