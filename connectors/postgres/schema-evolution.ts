/**
 * Schema evolution of a PostgreSQL sink table (ConnectorFactory.evolveSchema): ALTER TABLE ... ADD /
 * DROP COLUMN, ALTER COLUMN ... TYPE on the target, each step a statement of its own (PostgreSQL
 * DDL is transactional: a refused step changes nothing).
 */
import type { TableDef } from '../../src/catalog/table.js';
import type { SchemaChange, SchemaEvolutionStep } from '../../src/connector/connector.js';
import { closePg, connectPg } from './pg-connection.js';
import { pgType, quoteIdent } from './pg-values.js';
import { qualifiedTarget, resolvePostgresConfig, type PgConnectionConfig } from './postgres-options.js';

export function postgresSchemaEvolution(table: TableDef, change: SchemaChange, connector: 'postgres' | 'jdbc'): SchemaEvolutionStep[] {
  const c = resolvePostgresConfig(table, connector);
  const target = qualifiedTarget(c);
  const statements = [
    ...change.added.map((f) => `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${quoteIdent(f.name)} ${pgType(f.type)}`),
    ...change.dropped.map((n) => `ALTER TABLE ${target} DROP COLUMN IF EXISTS ${quoteIdent(n)}`),
    ...change.retyped.map((f) => `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(f.name)} TYPE ${pgType(f.type)}`),
  ];
  return statements.map((statement) => ({ statement, apply: () => run(c.connection, statement) }));
}

async function run(connection: PgConnectionConfig, sql: string): Promise<void> {
  const client = await connectPg(connection, { applicationName: 'weir schema evolution' });
  try {
    await client.query(sql);
  } finally {
    await closePg(client);
  }
}
