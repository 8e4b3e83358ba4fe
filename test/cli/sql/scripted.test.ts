import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { runWeir, tempDir } from '../../support/weir-process.js';
import { writeFile } from '../cli-helpers.js';
import { runShell, sequenceDdl, startShell } from './sql-helpers.js';

/** `weir sql` without a terminal: statements through piped standard input and through -f. */

const ORDERS_CSV = 'Alice,12.50,3\nBob,7.25,1\nAlice,1.00,2\nCarol,,5\n';

function ordersDdl(dir: string): string {
  const csv = writeFile(dir, 'orders.csv', ORDERS_CSV);
  return `CREATE TABLE orders (customer STRING, amount DECIMAL(10, 2), qty INT) WITH (
  'connector' = 'filesystem', 'path' = '${csv}', 'format' = 'csv'
);
`;
}

describe('weir sql with piped input', () => {
  it('runs DDL and bounded SELECTs in every result mode, with exact output', async () => {
    const dir = tempDir('sql-bounded');
    const r = await runShell(`${ordersDdl(dir)}
SHOW TABLES;
SELECT customer, amount, qty * 2 AS q2 FROM orders WHERE qty > 1;
SET 'sql-client.execution.result-mode' = 'changelog';
SELECT customer, SUM(qty) AS total FROM orders WHERE customer <> 'Carol' GROUP BY customer;
SET 'sql-client.execution.result-mode' = 'table';
SELECT customer, SUM(qty) AS total FROM orders GROUP BY customer;
`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`[INFO] Table has been created.
+------------+
| table name |
+------------+
| orders     |
+------------+
+--------------------------------+--------------+-------------+
| customer                       |       amount |          q2 |
+--------------------------------+--------------+-------------+
| Alice                          |        12.50 |           6 |
| Alice                          |         1.00 |           4 |
| Carol                          |       <NULL> |          10 |
+--------------------------------+--------------+-------------+
Received a total of 3 rows
[INFO] Session property has been set.
+----+--------------------------------+-------------+
| op | customer                       |       total |
+----+--------------------------------+-------------+
| +I | Alice                          |           5 |
| +I | Bob                            |           1 |
+----+--------------------------------+-------------+
Received a total of 2 rows
[INFO] Session property has been set.
+----------+-------+
| customer | total |
+----------+-------+
| Alice    |     5 |
| Bob      |     1 |
| Carol    |     5 |
+----------+-------+
3 rows in set
`);
  });

  it('prints errors with the statement line and a caret, names unknown tables, and keeps going', async () => {
    const dir = tempDir('sql-errors');
    const r = await runShell(`${ordersDdl(dir)}SELECT customer,, qty FROM orders;
SELECT *
  FROM ordres;
SELECT COUNT(*) AS n FROM orders;
`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`[ERROR] 4:17: unexpected ',', expected an expression
SELECT customer,, qty FROM orders;
                ^
[ERROR] 6:8: table 'ordres' not found; known tables: orders
  FROM ordres;
       ^
`);
    // the session went on after both errors
    expect(r.stdout).toBe(`[INFO] Table has been created.
+----+----------------------+
| op |                    n |
+----+----------------------+
| +I |                    4 |
+----+----------------------+
Received a total of 1 row
`);
  });

  it('runs an INSERT job listed by SHOW JOBS, stops it with a savepoint and resumes it exactly from there', async () => {
    const dir = tempDir('sql-insert');
    const db = join(dir, 'out.duckdb');
    const chk = join(dir, 'chk');
    const end = 3000;
    const sh = startShell(['--checkpoint-dir', chk]);
    sh.send(`SET 'execution.checkpointing.interval' = '100ms';\n${sequenceDdl(db, end, 1000)}`);
    sh.send('INSERT INTO out_rows SELECT id, v FROM src;');
    const [, id] = await sh.waitOut(/\[INFO\] Job 'insert-into_out_rows' has been submitted\.\nJob ID: ([0-9a-f]{32})\n/);
    // SHOW JOBS until the job has completed a checkpoint
    let row: RegExpExecArray | null = null;
    for (const deadline = Date.now() + HANG_GUARD_MS; Date.now() < deadline; ) {
      sh.send('SHOW JOBS;');
      const [table] = await sh.waitOut(/\+-+\+[\s\S]*?\n\+-+[^\n]*\+\n(?!\|)/);
      row = new RegExp(`\\| ${id} \\| insert-into_out_rows \\| RUNNING \\| \\d\\d:\\d\\d:\\d\\d \\| chk (\\d+)\\s+\\| (\\d+) ms`).exec(table);
      if (row) break;
    }
    expect(row, sh.stdout()).not.toBeNull();

    sh.send(`STOP JOB '${id}' WITH SAVEPOINT;`);
    const [, savepoint] = await sh.waitOut(new RegExp(`\\[INFO\\] Job 'insert-into_out_rows' \\(${id}\\) stopped\\.\\nSavepoint path: (.*)\\n`));
    expect(savepoint).toContain(join(chk, 'insert-into_out_rows', 'savepoints'));
    sh.send('SHOW JOBS;');
    await sh.waitOut(new RegExp(`\\| ${id} \\| insert-into_out_rows \\| STOPPED \\|`));

    sh.send(`SET 'execution.savepoint.path' = '${savepoint}';`);
    sh.send('INSERT INTO out_rows SELECT id, v FROM src;');
    await sh.waitOut(new RegExp(`\\[INFO\\] Restoring job 'insert-into_out_rows' from ${savepoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    const [, id2] = await sh.waitOut(/Job ID: ([0-9a-f]{32})\n/);
    expect(id2).not.toBe(id);
    await sh.waitOut(new RegExp(`\\[INFO\\] Job 'insert-into_out_rows' \\(${id2}\\) finished\\.`));
    sh.end();
    expect((await sh.exit).code, sh.stderr()).toBe(0);
    expect(sh.stderr()).toBe('');
    expect(await queryDuckDb(db, 'SELECT count(*), count(DISTINCT id), min(id), max(id), sum(id) FROM out_rows')).toEqual([
      [end, end, 1, end, (end * (end + 1)) / 2],
    ]);
  });
  it('SIGINT ends the running SELECT, not the shell; a statement set runs as one job', async () => {
    const dir = tempDir('sql-sigint');
    const db = join(dir, 'out.duckdb');
    const sh = startShell(['--checkpoint-dir', join(dir, 'chk')]);
    sh.send(`CREATE TABLE ticks (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000');
SELECT id FROM ticks;`);
    await sh.waitOut(/\|\s+3 \|\n/);
    sh.child.kill('SIGINT');
    const [, n] = await sh.waitOut(/\+-+\+\nQuery terminated, received a total of (\d+) rows\n/);
    expect(Number(n)).toBeGreaterThanOrEqual(3);

    sh.send(`${sequenceDdl(db, 100, 100000)}CREATE TABLE evens (id BIGINT, v INT) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'evens');
SET 'pipeline.name' = 'both';
EXECUTE STATEMENT SET BEGIN
  INSERT INTO out_rows SELECT id, v FROM src;
  INSERT INTO evens SELECT id, v FROM src WHERE id % 2 = 0;
END;`);
    const [, id] = await sh.waitOut(/\[INFO\] Job 'both' has been submitted\.\nJob ID: ([0-9a-f]{32})\n/);
    await sh.waitOut(new RegExp(`\\[INFO\\] Job 'both' \\(${id}\\) finished\\.\\n`));
    sh.end();
    expect((await sh.exit).code, sh.stderr()).toBe(0);
    expect(await queryDuckDb(db, 'SELECT (SELECT count(*) FROM out_rows), (SELECT count(*) FROM evens), (SELECT sum(id) FROM evens)')).toEqual([
      [100, 50, 2550],
    ]);
  });
});

describe('weir sql -f', () => {
  it('runs a script; a savepoint taken by one script restores the INSERT of the next, and the sink ends exact', async () => {
    const dir = tempDir('sql-file');
    const db = join(dir, 'out.duckdb');
    const chk = join(dir, 'chk');
    const end = 2000;
    const first = writeFile(
      dir,
      'first.sql',
      `SET 'execution.checkpointing.interval' = '100ms';
${sequenceDdl(db, end, 2000)}
INSERT INTO out_rows SELECT id, v FROM src;
STOP JOB 'insert-into_out_rows' WITH SAVEPOINT;
`,
    );
    const r1 = await runWeir(['sql', '-f', first, '--checkpoint-dir', chk]);
    expect(r1.code, r1.stderr).toBe(0);
    const m = /\[INFO\] Job 'insert-into_out_rows' \([0-9a-f]{32}\) stopped\.\nSavepoint path: (.*)\n/.exec(r1.stdout);
    expect(m, r1.stdout).not.toBeNull();
    const [[before]] = await queryDuckDb(db, 'SELECT count(*) FROM out_rows');
    expect(before).toBeLessThan(end);

    const second = writeFile(
      dir,
      'second.sql',
      `SET 'execution.checkpointing.interval' = '100ms';
${sequenceDdl(db, end, 2000)}
SET 'execution.savepoint.path' = '${m![1]}';
INSERT INTO out_rows SELECT id, v FROM src;
`,
    );
    const r2 = await runWeir(['sql', '-f', second, '--checkpoint-dir', chk]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toContain(`[INFO] Restoring job 'insert-into_out_rows' from ${m![1]}\n`);
    expect(r2.stderr).toBe('[INFO] Waiting for 1 running job to finish (Ctrl-C stops it with a final checkpoint)\n');
    expect(await queryDuckDb(db, 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM out_rows')).toEqual([[end, end, 1, end]]);
  });

  it('stops at the first error with exit code 1 and the file position', async () => {
    const dir = tempDir('sql-file-error');
    const script = writeFile(
      dir,
      'bad.sql',
      `${ordersDdl(dir)}
SELECT COUNT(*) FROM orders GROUP BY;
SHOW TABLES;
`,
    );
    const r = await runWeir(['sql', '-f', script]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('[INFO] Table has been created.\n');
    expect(r.stderr).toMatch(
      new RegExp(`^\\[ERROR\\] ${script.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:37: .*\\nSELECT COUNT\\(\\*\\) FROM orders GROUP BY;\\n {36}\\^\\n$`),
    );
  });
});
