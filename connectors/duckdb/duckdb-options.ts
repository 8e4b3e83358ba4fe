/** Options of 'connector' = 'duckdb'. */
import { resolve } from 'node:path';
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, invalidOption, opt, validateOptions } from '../../src/connector/options.js';

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

/** Splits `a.b` / `"a.b".c` into unquoted parts; undefined when malformed. */
export function splitQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let part = '';
    if (text[i] === '"') {
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return undefined;
        part += text.slice(j, q);
        if (text[q + 1] === '"') {
          part += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
    } else {
      const dot = text.indexOf('.', i);
      part = (dot < 0 ? text.slice(i) : text.slice(i, dot)).trim();
      i = dot < 0 ? text.length : dot;
    }
    if (part === '') return undefined;
    parts.push(part);
    if (i >= text.length) break;
    if (text[i] !== '.') return undefined;
    i++;
  }
  return parts;
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
