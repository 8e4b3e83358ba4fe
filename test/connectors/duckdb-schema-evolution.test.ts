import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duckdbConnector } from '../../connectors/duckdb/index.js';
import { acquireDuckDB, releaseDuckDB } from '../../connectors/common/duckdb-instance-cache.js';
import { type } from '../../src/model/types.js';
import { tempDir } from '../support/temp-dirs.js';
import { makeTable } from './table-helper.js';

async function run(path: string, sql: string): Promise<unknown[][]> {
  const db = await acquireDuckDB(path);
  const con = await db.instance.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowsJS();
  } finally {
    con.closeSync();
    await releaseDuckDB(db);
  }
}

describe('duckdb schema evolution (ConnectorFactory.evolveSchema)', () => {
  it('adds, drops and retypes columns of the target, drops the empty staging table, and applying the steps again changes nothing', async () => {
    const path = join(tempDir('duckdb-evolve'), 'out.duckdb');
    await run(path, 'CREATE SCHEMA analytics');
    await run(path, 'CREATE TABLE analytics.orders (id INTEGER PRIMARY KEY, amount INTEGER, note VARCHAR)');
    await run(path, 'CREATE TABLE analytics._weir_staging_orders (id INTEGER, amount INTEGER, note VARCHAR)');
    await run(path, "INSERT INTO analytics.orders VALUES (1, 10, 'x')");
    const table = makeTable(
      'dst',
      [
        ['id', type('INT', false)],
        ['amount', type('BIGINT')],
        ['extra', type('STRING')],
      ],
      { connector: 'duckdb', path, 'table-name': 'analytics.orders' },
      { primaryKey: ['id'] },
    );
    const steps = duckdbConnector.evolveSchema!(table, {
      added: [{ name: 'extra', type: type('STRING') }],
      dropped: ['note'],
      retyped: [{ name: 'amount', type: type('BIGINT') }],
    });
    expect(steps.map((s) => s.statement)).toEqual([
      'ALTER TABLE "analytics"."orders" ADD COLUMN IF NOT EXISTS "extra" VARCHAR',
      'ALTER TABLE "analytics"."orders" DROP COLUMN IF EXISTS "note"',
      'ALTER TABLE "analytics"."orders" ALTER "amount" TYPE BIGINT',
      'DROP TABLE IF EXISTS "analytics"."_weir_staging_orders"',
    ]);
    for (const s of steps) await s.apply();
    for (const s of steps) await s.apply();
    const columns = await run(
      path,
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'orders' ORDER BY ordinal_position",
    );
    expect(columns).toEqual([
      ['id', 'INTEGER'],
      ['amount', 'BIGINT'],
      ['extra', 'VARCHAR'],
    ]);
    expect(await run(path, 'SELECT id, amount, extra FROM analytics.orders')).toEqual([[1, 10n, null]]);
    expect(await run(path, "SELECT count(*) FROM information_schema.tables WHERE table_name = '_weir_staging_orders'")).toEqual([[0n]]);
  });
});
