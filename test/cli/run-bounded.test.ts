import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import {
  completedCheckpoints,
  escapeRe,
  expectContiguous,
  expectUserError,
  idStats,
  lines,
  readMetadata,
  runOk,
  runWeir,
  sequenceJobSql,
  tempDir,
  writeFile,
} from './cli-helpers.js';

const QUICKSTART = resolve(import.meta.dirname, '../../sql/examples/quickstart.sql');

/** The committed part files of a filesystem sink folder (hidden staging entries left out). */
function partFiles(folder: string): string {
  const names = readdirSync(folder).filter((f) => f.startsWith('part-'));
  expect(names.length).toBeGreaterThan(0);
  return names.map((f) => readFileSync(join(folder, f), 'utf8')).join('');
}

/** `weir run` of bounded jobs: job names, checkpoint folders, the final checkpoint, connectors. */
describe('weir run: bounded jobs', () => {
  it('names the job after the file, takes a final checkpoint, commits and exits 0', async () => {
    const dir = tempDir('cli-bounded');
    const db = join(dir, 'out.duckdb');
    const file = writeFile(dir, 'daily-load.sql', sequenceJobSql({ db, end: 500 }));
    const chk = join(dir, 'chk');
    const r = await runOk(['run', file, '--checkpoint-dir', chk]);

    const jobDir = join(chk, 'daily-load');
    expect(completedCheckpoints(jobDir).length).toBeGreaterThanOrEqual(1);
    const last = Math.max(...completedCheckpoints(jobDir));
    const meta = readMetadata(join(jobDir, `chk-${last}`));
    expect(meta.jobName).toBe('daily-load');
    expect(meta.final).toBe(true);
    const [source] = Object.values(meta.sources);
    expect(source.positions).toEqual([expect.objectContaining({ position: 500, finished: true })]);
    expect(lines(r.stderr)).toContain(`job 'daily-load' finished; last checkpoint ${last} at ${join(jobDir, `chk-${last}`)}`);
    // the control socket's files are gone once the job ended
    expect(existsSync(join(jobDir, 'control.json'))).toBe(false);
    await expectContiguous(db, 500);
  });

  it("takes the job name from SET 'pipeline.name', and --set overrides the file's SET", async () => {
    const dir = tempDir('cli-name');
    const chk = join(dir, 'chk');
    const file = writeFile(dir, 'job.sql', sequenceJobSql({ pipelineName: 'from-set', db: join(dir, 'a.duckdb'), end: 20 }));

    await runOk(['run', file, '--checkpoint-dir', chk, '-q']);
    expect(readdirSync(chk)).toEqual(['from-set']);
    expect(readMetadata(join(chk, 'from-set', `chk-${completedCheckpoints(join(chk, 'from-set'))[0]}`)).jobName).toBe('from-set');

    const r = await runOk(['run', file, '--checkpoint-dir', chk, '-q', '--set', 'pipeline.name=from-flag', '--set', 'parallelism.default=2']);
    expect(r.stderr).toBe('');
    expect(readdirSync(chk).sort()).toEqual(['from-flag', 'from-set']);
    const meta = readMetadata(join(chk, 'from-flag', `chk-${completedCheckpoints(join(chk, 'from-flag'))[0]}`));
    expect(meta.jobName).toBe('from-flag');
    expect(Object.values(meta.sources)[0].positions).toHaveLength(2); // parallelism 2: two datagen splits
    // both runs appended 1..20 to the same table
    expect(await idStats(join(dir, 'a.duckdb'))).toEqual({ count: 40, distinct: 20, min: 1, max: 20 });
  });

  it("puts checkpoints under ./.weir/checkpoints by default and under SET 'state.checkpoints.dir'", async () => {
    const dir = tempDir('cli-default-dir');
    const file = writeFile(dir, 'plain.sql', sequenceJobSql({ db: join(dir, 'a.duckdb'), end: 10 }));
    await runOk(['run', file, '-q'], { cwd: dir });
    expect(completedCheckpoints(join(dir, '.weir', 'checkpoints', 'plain'))).toHaveLength(1);

    const other = join(dir, 'elsewhere');
    const file2 = writeFile(
      dir,
      'configured.sql',
      sequenceJobSql({ db: join(dir, 'b.duckdb'), end: 10, prelude: `SET 'state.checkpoints.dir' = 'file://${other}';` }),
    );
    await runOk(['run', file2, '-q'], { cwd: dir });
    expect(completedCheckpoints(join(other, 'configured'))).toHaveLength(1);
    expect(existsSync(join(dir, '.weir', 'checkpoints', 'configured'))).toBe(false);
  });

  it('runs filesystem json/csv sources into parquet, csv, json and DuckDB sinks (statement set, temporary view)', async () => {
    const dir = tempDir('cli-fs');
    mkdirSync(join(dir, 'in-json'));
    mkdirSync(join(dir, 'in-csv'));
    writeFile(join(dir, 'in-json'), 'a.json', '{"id":1,"name":"ann","amount":10.5}\n{"id":2,"name":"bob","amount":2}\n');
    writeFile(join(dir, 'in-json'), 'b.json', '{"id":3,"name":"cy","amount":7.25}\n');
    writeFile(join(dir, 'in-csv'), 'a.csv', '10,dee,1.5\n11,"e, f",99\n');
    const file = writeFile(
      dir,
      'files.sql',
      `SET 'pipeline.name' = 'files';
CREATE TABLE j (id BIGINT, name STRING, amount DOUBLE) WITH ('connector' = 'filesystem', 'path' = '${dir}/in-json', 'format' = 'json');
CREATE TABLE c (id BIGINT, name STRING, amount DOUBLE) WITH ('connector' = 'filesystem', 'path' = '${dir}/in-csv', 'format' = 'csv');
CREATE TEMPORARY VIEW big AS SELECT id, UPPER(name) AS name, amount FROM j WHERE amount > 5;
CREATE TABLE o_parquet (id BIGINT, name STRING, amount DOUBLE) WITH ('connector' = 'filesystem', 'path' = '${dir}/o-parquet', 'format' = 'parquet');
CREATE TABLE o_csv (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '${dir}/o-csv', 'format' = 'csv');
CREATE TABLE o_json (id BIGINT, doubled DOUBLE) WITH ('connector' = 'filesystem', 'path' = '${dir}/o-json', 'format' = 'json');
CREATE TABLE o_db (id BIGINT, name STRING, amount DOUBLE) WITH ('connector' = 'duckdb', 'path' = '${dir}/o.duckdb', 'table-name' = 'big');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO o_parquet SELECT * FROM big;
  INSERT INTO o_csv SELECT id, name FROM c;
  INSERT INTO o_json SELECT id, amount * 2 FROM c;
  INSERT INTO o_db SELECT * FROM big;
END;
`,
    );
    const r = await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q', '--show-result']);
    // --show-result prints what the sink tables hold
    expect(r.stdout).toContain(
      ['o_db (2 rows):', '+----+------+--------+', '| id | name | amount |', '+----+------+--------+', '|  1 | ANN  |   10.5 |', '|  3 | CY   |   7.25 |'].join(
        '\n',
      ),
    );

    expect(await queryDuckDb(':memory:', `SELECT id, name, amount FROM read_parquet('${dir}/o-parquet/*.parquet') ORDER BY id`)).toEqual([
      [1, 'ANN', 10.5],
      [3, 'CY', 7.25],
    ]);
    const csvText = partFiles(join(dir, 'o-csv'));
    expect(lines(csvText).sort()).toEqual(['10,dee', '11,"e, f"']);
    const jsonText = partFiles(join(dir, 'o-json'));
    expect(
      lines(jsonText)
        .map((l) => JSON.parse(l))
        .sort((a, b) => a.id - b.id),
    ).toEqual([
      { id: 10, doubled: 3 },
      { id: 11, doubled: 198 },
    ]);
    expect(await queryDuckDb(join(dir, 'o.duckdb'), 'SELECT id, name, amount FROM big ORDER BY id')).toEqual([
      [1, 'ANN', 10.5],
      [3, 'CY', 7.25],
    ]);
  });

  it("a malformed json line fails the job naming file and line; with 'json.ignore-parse-errors' it is skipped and counted", async () => {
    const dir = tempDir('cli-malformed');
    mkdirSync(join(dir, 'in'));
    const input = writeFile(join(dir, 'in'), 'events.json', '{"id":1}\n{"id":2}\n{"id":3,oops}\n{"id":4}\n');
    const job = (ignore: boolean, db: string): string => `
CREATE TABLE src (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '${dir}/in', 'format' = 'json'${ignore ? ", 'json.ignore-parse-errors' = 'true'" : ''});
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'snk');
INSERT INTO snk SELECT id FROM src;`;
    const strict = writeFile(dir, 'strict.sql', job(false, join(dir, 'strict.duckdb')));
    const r = await runWeir(['run', strict, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expectUserError(r, new RegExp(`^error: malformed JSON in ${escapeRe(input)} line 3: \\S`));

    const lenient = writeFile(dir, 'lenient.sql', job(true, join(dir, 'lenient.duckdb')));
    const ok = await runOk(['run', lenient, '--checkpoint-dir', join(dir, 'chk')]);
    // the final status line counts the skipped line
    expect(ok.stderr).toMatch(/lenient \| FINISHED \| in 3 rows .*\| skipped 1/);
    expect(await queryDuckDb(join(dir, 'lenient.duckdb'), 'SELECT id FROM snk ORDER BY id')).toEqual([[1], [2], [4]]);
  });

  it('runs the quickstart example as the README says', async () => {
    const dir = tempDir('cli-quickstart');
    const r = await runOk(['run', QUICKSTART, '--show-result'], { cwd: dir });
    const jobDir = join(dir, '.weir', 'checkpoints', 'quickstart');
    const last = Math.max(...completedCheckpoints(jobDir));
    expect(lines(r.stderr)).toContain(`job 'quickstart' finished; last checkpoint ${last} at ${join(jobDir, `chk-${last}`)}`);
    expect(r.stdout).toMatch(/^\nrevenue_per_customer \(10 rows\):\n/);
    const rows = await queryDuckDb(
      join(dir, '.weir', 'quickstart.duckdb'),
      'SELECT customer_id, orders, revenue, biggest FROM revenue_per_customer ORDER BY customer_id',
    );
    expect(rows.map((row) => row[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // amounts are 1..500 and only those > 10 count: roughly 98% of 300,000 orders
    const orders = rows.reduce((acc: number, row) => acc + Number(row[1]), 0);
    expect(orders).toBeGreaterThan(290_000);
    expect(orders).toBeLessThan(300_000);
    for (const row of rows) expect(Number(row[3])).toBeLessThanOrEqual(500);
  }, 600_000);
});
