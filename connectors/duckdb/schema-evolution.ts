/**
 * Schema evolution of a DuckDB sink table (ConnectorFactory.evolveSchema): ALTER TABLE ... ADD /
 * DROP COLUMN, ALTER ... TYPE on the target, each step through the file's shared instance.
 */
import type { TableDef } from '../../src/catalog/table.js';
import type { SchemaChange, SchemaEvolutionStep } from '../../src/connector/connector.js';
import { acquireDuckDB, releaseDuckDB } from '../common/duckdb-instance-cache.js';
import { duckdbType, quoteIdent } from '../common/duckdb-values.js';
import { resolveDuckDBConfig } from './duckdb-options.js';
import { stagingTableName } from './duckdb-sink.js';

export function duckdbSchemaEvolution(table: TableDef, change: SchemaChange): SchemaEvolutionStep[] {
  const c = resolveDuckDBConfig(table);
  const q = (name: string): string => (c.schemaName === undefined ? quoteIdent(name) : `${quoteIdent(c.schemaName)}.${quoteIdent(name)}`);
  const target = q(c.tableName);
  const statements = [
    ...change.added.map((f) => `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${quoteIdent(f.name)} ${duckdbType(f.type)}`),
    ...change.dropped.map((n) => `ALTER TABLE ${target} DROP COLUMN IF EXISTS ${quoteIdent(n)}`),
    ...change.retyped.map((f) => `ALTER TABLE ${target} ALTER ${quoteIdent(f.name)} TYPE ${duckdbType(f.type)}`),
    // The sink's staging table is empty after the clean stop; it is made again with the new columns.
    `DROP TABLE IF EXISTS ${q(stagingTableName(c.tableName))}`,
  ];
  return statements.map((statement) => ({ statement, apply: () => run(c.path, statement) }));
}

async function run(path: string, sql: string): Promise<void> {
  const db = await acquireDuckDB(path);
  try {
    const con = await db.instance.connect();
    try {
      await db.exclusive(() => con.run(sql));
    } finally {
      con.closeSync();
    }
  } finally {
    await releaseDuckDB(db);
  }
}
