import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runBoundedJob } from '../support/bounded-job.js';

/**
 * Joins and Top-N end to end: datagen sequences with derived columns (deterministic), joined
 * into DuckDB upsert tables; the expected rows are computed here from the same ids.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 2000;
const USERS = 60;

async function runJob(sql: (db: string) => string, parallelism: number): Promise<{ db: string; counters: Record<string, number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-join-e2e-'));
  dirs.push(dir);
  const db = join(dir, 'out.duckdb');
  const { status } = await runBoundedJob(
    `
    CREATE TABLE orders (
      id BIGINT,
      uid AS id % 50,
      amount AS id * 3 % 101,
      ts AS TO_TIMESTAMP_LTZ(id * 1000, 3),
      WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
    ) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000',
      'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}');
    CREATE TABLE users (
      uid BIGINT,
      name AS CONCAT('u', CAST(uid AS STRING))
    ) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000',
      'fields.uid.kind' = 'sequence', 'fields.uid.start' = '0', 'fields.uid.end' = '${USERS - 1}');
    CREATE TABLE pays (
      oid BIGINT,
      pts AS TO_TIMESTAMP_LTZ(oid * 1000 + (oid % 15) * 1000, 3),
      WATERMARK FOR pts AS pts - INTERVAL '20' SECOND
    ) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000',
      'fields.oid.kind' = 'sequence', 'fields.oid.start' = '1', 'fields.oid.end' = '${N}');
    ${sql(db)}`,
    { jobName: 'join-e2e', parallelism, checkpointDir: join(dir, 'chk') },
  );
  return { db, counters: status.counters ?? {} };
}

describe('joins end to end (datagen -> join -> DuckDB)', () => {
  it.each([1, 2])('inner join, left join over an aggregate (updating) and an interval join, parallelism %i', async (p) => {
    const { db, counters } = await runJob(
      (path) => `
      CREATE TABLE j1 (id BIGINT, name STRING, amount BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${path}', 'table-name' = 'j1');
      CREATE TABLE j2 (uid BIGINT, name STRING, cnt BIGINT, PRIMARY KEY (uid) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${path}', 'table-name' = 'j2');
      CREATE TABLE j3 (id BIGINT, lag_s BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}', 'table-name' = 'j3');
      EXECUTE STATEMENT SET BEGIN
        INSERT INTO j1 SELECT o.id, u.name, o.amount FROM orders o JOIN users u ON o.uid = u.uid WHERE o.amount > 10;
        INSERT INTO j2 SELECT u.uid, u.name, c.cnt FROM users u LEFT JOIN (SELECT uid, COUNT(*) AS cnt FROM orders GROUP BY uid) c ON u.uid = c.uid;
        INSERT INTO j3 SELECT o.id, (p.oid % 15) FROM orders o, pays p
          WHERE o.id = p.oid AND p.pts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND;
      END;`,
      p,
    );
    const exp1: unknown[][] = [];
    for (let id = 1; id <= N; id++) if ((id * 3) % 101 > 10 && id % 50 < USERS) exp1.push([id, `u${id % 50}`, (id * 3) % 101]);
    expect(await queryDuckDb(db, 'SELECT id, name, amount FROM j1 ORDER BY id')).toEqual(exp1);
    const exp2: unknown[][] = [];
    for (let u = 0; u < USERS; u++) exp2.push([u, `u${u}`, u < 50 ? N / 50 : null]);
    expect(await queryDuckDb(db, 'SELECT uid, name, cnt FROM j2 ORDER BY uid')).toEqual(exp2);
    const exp3: unknown[][] = [];
    for (let id = 1; id <= N; id++) if (id % 15 <= 10) exp3.push([id, id % 15]);
    expect(await queryDuckDb(db, 'SELECT id, lag_s FROM j3 ORDER BY id')).toEqual(exp3);
    expect(counters['late-rows-dropped'] ?? 0).toBe(0);
  });

  it.each([1, 2])('Top-3 per user over an updating join input, and deduplication keeping the last order, parallelism %i', async (p) => {
    const { db } = await runJob(
      (path) => `
      CREATE TABLE top3 (uid BIGINT, rn BIGINT, id BIGINT, amount BIGINT, PRIMARY KEY (uid, rn) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${path}', 'table-name' = 'top3');
      CREATE TABLE last (uid BIGINT, id BIGINT, PRIMARY KEY (uid) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${path}', 'table-name' = 'last');
      EXECUTE STATEMENT SET BEGIN
        INSERT INTO top3 SELECT uid, rn, id, amount FROM (
          SELECT o.uid, o.id, o.amount, ROW_NUMBER() OVER (PARTITION BY o.uid ORDER BY o.amount DESC, o.id) AS rn
          FROM orders o LEFT JOIN users u ON o.uid = u.uid
        ) WHERE rn <= 3;
        INSERT INTO last SELECT uid, id FROM (
          SELECT uid, id, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY ts DESC) AS r FROM orders
        ) WHERE r = 1;
      END;`,
      p,
    );
    const byUser = new Map<number, number[][]>();
    for (let id = 1; id <= N; id++) {
      const l = byUser.get(id % 50) ?? [];
      l.push([id, (id * 3) % 101]);
      byUser.set(id % 50, l);
    }
    const exp: unknown[][] = [];
    for (const [u, l] of [...byUser].sort((a, b) => a[0] - b[0])) {
      l.sort((a, b) => b[1]! - a[1]! || a[0]! - b[0]!);
      l.slice(0, 3).forEach(([id, amount], i) => exp.push([u, i + 1, id, amount]));
    }
    expect(await queryDuckDb(db, 'SELECT uid, rn, id, amount FROM top3 ORDER BY uid, rn')).toEqual(exp);
    const last = await queryDuckDb(db, 'SELECT uid, id FROM last ORDER BY uid');
    expect(last).toEqual([...byUser.keys()].sort((a, b) => a - b).map((u) => [u, N - ((N - u) % 50)]));
  });
});
