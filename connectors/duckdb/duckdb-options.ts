/** Options of 'connector' = 'duckdb'. */
import { resolve } from 'node:path';
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, invalidOption, opt, validateOptions } from '../../src/connector/options.js';
import { splitQualifiedName } from '../common/qualified-name.js';

export const DUCKDB_OPTIONS = defineOptions('duckdb', {
  path: opt.nonEmptyString('the DuckDB database file (created if missing, with its folders)').required(),
  'table-name': opt.nonEmptyString("target table, optionally schema-qualified ('analytics.orders'); default: the table's name"),
  'sink.buffer-flush.max-rows': opt.int('flush staged rows into DuckDB every this many rows (always at checkpoints)', { min: 1 }),
});

export interface DuckDBSinkConfig {
  /** Absolute path of the database file. */
  readonly path: string;
  readonly schemaName: string | undefined;
  readonly tableName: string;
  readonly flushMaxRows: number | undefined;
}

export function resolveDuckDBConfig(table: TableDef): DuckDBSinkConfig {
  const o = validateOptions(DUCKDB_OPTIONS, table);
  let schemaName: string | undefined;
  let tableName = table.name;
  if (o['table-name'] !== undefined) {
    const parts = splitQualifiedName(o['table-name']);
    if (!parts || parts.length > 2) throw invalidOption(table, 'table-name', "a table name or 'schema.table'");
    [schemaName, tableName] = parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
  }
  return { path: resolve(o.path), schemaName, tableName, flushMaxRows: o['sink.buffer-flush.max-rows'] };
}
