import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runBoundedJob } from '../support/bounded-job.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('SQL -> plan -> run (datagen into DuckDB)', () => {
  it('runs GROUP BY with HAVING, a global aggregate, UNION ALL and VALUES as one statement set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-plan-e2e-'));
    dirs.push(dir);
    const db = join(dir, 'out.duckdb');
    await runBoundedJob(
      `
      CREATE TABLE src (
        id INT,
        v INT,
        k AS id % 10
      ) WITH (
        'connector' = 'datagen', 'number-of-rows' = '1000', 'rows-per-second' = '1000000',
        'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000',
        'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '1000'
      );
      CREATE TABLE per_key (k INT, cnt BIGINT, total BIGINT, lo INT, hi INT, PRIMARY KEY (k) NOT ENFORCED)
        WITH ('connector' = 'duckdb', 'path' = '${db}');
      CREATE TABLE overall (id INT, n BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}');
      CREATE TABLE picked (id INT, tag STRING) WITH ('connector' = 'duckdb', 'path' = '${db}');
      EXECUTE STATEMENT SET BEGIN
        INSERT INTO per_key SELECT k, COUNT(*), SUM(v), MIN(id), MAX(id) FROM src WHERE id > 100 GROUP BY k HAVING COUNT(*) > 0;
        INSERT INTO overall SELECT 1, COUNT(*) FROM src;
        INSERT INTO picked SELECT id, 'low' FROM src WHERE id <= 3 UNION ALL SELECT id, 'high' FROM src WHERE id > 998;
        INSERT INTO picked SELECT 0, 'constant';
      END;`,
      { jobName: 'e2e', parallelism: 2, checkpointDir: join(dir, 'chk') },
    );

    const expected: unknown[][] = [];
    for (let k = 0; k < 10; k++) {
      const ids = Array.from({ length: 1000 }, (_, i) => i + 1).filter((id) => id > 100 && id % 10 === k);
      expected.push([k, ids.length, ids.reduce((a, b) => a + b, 0), Math.min(...ids), Math.max(...ids)]);
    }
    expect(await queryDuckDb(db, 'SELECT k, cnt, total, lo, hi FROM per_key ORDER BY k')).toEqual(expected);
    expect(await queryDuckDb(db, 'SELECT id, n FROM overall')).toEqual([[1, 1000]]);
    expect(await queryDuckDb(db, 'SELECT id, tag FROM picked ORDER BY id')).toEqual([
      [0, 'constant'],
      [1, 'low'],
      [2, 'low'],
      [3, 'low'],
      [999, 'high'],
      [1000, 'high'],
    ]);
  });
});
