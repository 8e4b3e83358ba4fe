import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { completedCheckpoints, spawnWeir, tempDir, waitFor, writeFile } from './cli-helpers.js';

/**
 * Rescaling through the state layer, as a user does it: a job stopped at parallelism 3 resumes at
 * 2, is stopped again and finishes at 1; every operator's keyed state (group aggregate, Top-N,
 * join) moves key group by key group, and the output equals that of the same job run once,
 * uninterrupted, at parallelism 1 (datagen's values are functions of the row, so both read the
 * same input), which is checked against what the query gives where it can be computed here.
 * The stopped runs read an unbounded sequence (so none can end before it is stopped, however
 * slow the machine), the last one the bounded one; every query keeps ids 1..N only.
 */
const N = 9000;
const JOB = 'rescaled';

const jobSql = (db: string, name = JOB, rowsPerSecond = 1500, end = N) => `SET 'pipeline.name' = '${name}';
SET 'execution.checkpointing.interval' = '200ms';
CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '${rowsPerSecond}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${end}', 'fields.v.min' = '1', 'fields.v.max' = '9');
CREATE TABLE per_key (k BIGINT, c BIGINT, s BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'per_key');
CREATE TABLE latest (k BIGINT, id BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'latest');
CREATE TABLE pairs (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'pairs');
EXECUTE STATEMENT SET BEGIN
INSERT INTO per_key SELECT id % 101, COUNT(*), SUM(id) FROM src WHERE id <= ${N} GROUP BY id % 101;
INSERT INTO latest SELECT k, id FROM (SELECT id % 37 AS k, id, ROW_NUMBER() OVER (PARTITION BY id % 37 ORDER BY id DESC) AS rn FROM src WHERE id <= ${N}) WHERE rn = 1;
INSERT INTO pairs SELECT a.k, COUNT(*) FROM (SELECT id % 13 AS k FROM src WHERE id <= ${N}) a JOIN (SELECT id % 13 AS k FROM src WHERE id <= ${N} AND v > 4) b ON a.k = b.k GROUP BY a.k;
END;
`;

/**
 * State backends of the runs at parallelism 3, 2 and 1: each backend alone, and a switch from one
 * to the other (their checkpoints share one format, as Flink's canonical savepoints do).
 */
const BACKENDS: [string, string[]][] = [
  ['hashmap', ['hashmap', 'hashmap', 'hashmap']],
  ['rocksdb', ['rocksdb', 'rocksdb', 'rocksdb']],
  ['rocksdb, then hashmap, then rocksdb', ['rocksdb', 'hashmap', 'rocksdb']],
];

describe.each(BACKENDS)('rescaling a stopped job, state backend %s', (_name, backends) => {
  it('parallelism 3 -> 2 -> 1 from the latest checkpoint gives the output of one uninterrupted run', async () => {
    const dir = tempDir('rescale');
    const db = join(dir, 'out.duckdb');
    const file = writeFile(dir, 'job.sql', jobSql(db));
    const unbounded = writeFile(dir, 'unbounded.sql', jobSql(db, JOB, 1500, 1_000_000_000));
    const chk = join(dir, 'chk');
    const jobDir = join(chk, JOB);
    const newest = () => Math.max(0, ...completedCheckpoints(jobDir));

    for (const [i, parallelism] of [3, 2].entries()) {
      const from = newest();
      const args = [
        'run',
        unbounded,
        '--checkpoint-dir',
        chk,
        '-q',
        '--set',
        `parallelism.default=${parallelism}`,
        '--set',
        `state.backend.type=${backends[i]}`,
      ];
      const run = spawnWeir(from > 0 ? [...args, '--from-checkpoint', 'latest'] : args);
      // two checkpoints of this run, so it made progress at this parallelism
      await waitFor(`2 checkpoints at parallelism ${parallelism}`, () => newest() >= from + 2, undefined, run);
      run.child.kill('SIGTERM');
      const { code } = await run.exit;
      expect(code, run.stderr()).toBe(0);
    }
    const [[before]] = await queryDuckDb(db, 'SELECT SUM(c) FROM per_key');
    expect(before as number).toBeGreaterThan(0);
    const last = spawnWeir([
      'run',
      file,
      '--checkpoint-dir',
      chk,
      '-q',
      '--set',
      'parallelism.default=1',
      '--set',
      `state.backend.type=${backends[2]}`,
      '--from-checkpoint',
      'latest',
    ]);
    expect((await last.exit).code, last.stderr()).toBe(0);

    const ids = Array.from({ length: N }, (_, i) => i + 1);
    const perKey = new Map<number, [number, number]>();
    for (const id of ids) {
      const e = perKey.get(id % 101) ?? [0, 0];
      perKey.set(id % 101, [e[0] + 1, e[1] + id]);
    }
    expect(await queryDuckDb(db, 'SELECT k, c, s FROM per_key ORDER BY k')).toEqual([...perKey].sort((a, b) => a[0] - b[0]).map(([k, [c, s]]) => [k, c, s]));
    const latest = Array.from({ length: 37 }, (_, k) => [k, Math.max(...ids.filter((id) => id % 37 === k))]);
    expect(await queryDuckDb(db, 'SELECT k, id FROM latest ORDER BY k')).toEqual(latest);

    // the join's right side depends on the random v: compare every table with an uninterrupted run
    const refDb = join(dir, 'reference.duckdb');
    const ref = spawnWeir(['run', writeFile(dir, 'reference.sql', jobSql(refDb, 'reference', 1_000_000)), '--checkpoint-dir', chk, '-q']);
    expect((await ref.exit).code, ref.stderr()).toBe(0);
    for (const q of ['SELECT * FROM per_key ORDER BY k', 'SELECT * FROM latest ORDER BY k', 'SELECT * FROM pairs ORDER BY k']) {
      expect(await queryDuckDb(db, q), q).toEqual(await queryDuckDb(refDb, q));
    }
    const [[pairs, keys]] = await queryDuckDb(db, 'SELECT SUM(n), COUNT(*) FROM pairs');
    expect(keys).toBe(13);
    expect(pairs as number).toBeGreaterThan(N);
  });
});
