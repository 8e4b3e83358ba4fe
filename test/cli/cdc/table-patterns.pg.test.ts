/**
 * Flink CDC's pattern forms against a real PostgreSQL: `public.\.*` (an escaped dot is "any
 * character") and the three-part `database.schema.table` select exactly the tables they name,
 * across schemas, in a one-time snapshot (`scan.startup.mode: snapshot`, so the command ends).
 * (`public.*` itself runs as the README writes it, in test/cli/readme-commands.test.ts.)
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { runWeir, tempDir } from '../../support/weir-process.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

describe.skipIf(!server)('weir cdc table patterns', () => {
  const pg = server!;

  it("'public.\\.*, shop.sales.ord\\.rs' snapshots every table of public and sales.orders, nothing else", async () => {
    await pg.createDatabase('shop');
    for (const sql of [
      'CREATE TABLE public.items (id int PRIMARY KEY, v text)',
      "INSERT INTO public.items SELECT g, 'i' || g FROM generate_series(1, 30) g",
      'CREATE TABLE public."Events" (id int PRIMARY KEY)',
      'INSERT INTO public."Events" SELECT g FROM generate_series(1, 4) g',
      'CREATE SCHEMA sales',
      'CREATE TABLE sales.orders (id int PRIMARY KEY)',
      'INSERT INTO sales.orders SELECT g FROM generate_series(1, 12) g',
      'CREATE TABLE sales.refunds (id int PRIMARY KEY)',
      'INSERT INTO sales.refunds VALUES (1)',
      'CREATE SCHEMA publicity',
      'CREATE TABLE publicity.ads (id int PRIMARY KEY)',
    ]) {
      await pg.query(sql, [], 'shop');
    }
    const dir = tempDir('cdc-patterns');
    try {
      const db = join(dir, 'out.duckdb');
      const yaml = join(dir, 'patterns.yaml');
      // single quotes: YAML keeps the backslashes as they are
      writeFileSync(
        yaml,
        `source:
  type: postgres
  hostname: ${pg.host}
  port: ${pg.port}
  username: ${pg.user}
  password: \${CDC_TEST_PASSWORD}
  database-name: shop
  tables: 'public.\\.*, shop.sales.ord\\.rs'
  scan.startup.mode: snapshot
sink:
  type: duckdb
  path: ${db}
pipeline:
  name: patterns
`,
      );
      const r = await runWeir(['cdc', yaml, '--checkpoint-dir', join(dir, 'ck'), '-q'], { cwd: dir, env: { CDC_TEST_PASSWORD: pg.password } });
      expect(r.code, r.stderr).toBe(0);
      const tables = await queryDuckDb(db, "SELECT table_name FROM information_schema.tables WHERE table_name NOT LIKE '\\_weir%' ESCAPE '\\' ORDER BY 1");
      expect(tables).toEqual([['Events'], ['items'], ['orders']]);
      expect(await queryDuckDb(db, 'SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM "Events"), (SELECT count(*) FROM orders)')).toEqual([
        [30, 4, 12],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a pattern that splits into a database other than the pipeline's fails before connecting, naming the parts", async () => {
    const dir = tempDir('cdc-patterns-err');
    const r = await runWeir(
      ['cdc', '--source', `postgres://${pg.user}@${pg.host}:${pg.port}/shop`, '--tables', 'public.customer_.1', '--sink', 'duckdb:x.duckdb'],
      {
        cwd: dir,
        env: { PGPASSWORD: pg.password },
      },
    ).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "error: 'source.tables': 'public.customer_.1' reads as database 'public', schema 'customer_', table '1', but the pipeline reads database 'shop' (every unescaped '.' separates schema from table (or database.schema.table); write '\\.' for a dot that matches any character)",
    );
  });
});
