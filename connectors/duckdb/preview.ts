import { previewFrom, type Preview } from '../common/duckdb-preview.js';
import { quoteIdent } from '../common/duckdb-values.js';

/** The committed rows of a DuckDB sink table. */
export function previewDuckDBTable(path: string, schemaName: string | undefined, tableName: string, limit: number): Promise<Preview> {
  const from = schemaName ? `${quoteIdent(schemaName)}.${quoteIdent(tableName)}` : quoteIdent(tableName);
  return previewFrom(path, from, limit);
}
