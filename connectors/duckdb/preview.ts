import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { acquireDuckDB, releaseDuckDB } from './instance-cache.js';
import { quoteIdent, quoteLiteral } from './duckdb-values.js';

export interface Preview {
  columns: string[];
  rows: unknown[][];
  total: number;
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object') return String(v);
  return v;
}

/** Runs `SELECT * FROM <from>` on the DuckDB file `path` ('' for an in-memory instance). */
async function previewFrom(path: string, from: string, limit: number): Promise<Preview> {
  // The shared instance for a file (a running sink may hold it); a private one in memory.
  const db = path === '' ? undefined : await acquireDuckDB(path);
  const memory = db ? undefined : await DuckDBInstance.create(':memory:');
  const conn = await (db?.instance ?? memory!).connect();
  try {
    const count = await conn.runAndReadAll(`SELECT COUNT(*) FROM ${from}`);
    const total = Number(count.getRows()[0][0]);
    const reader = await conn.runAndReadAll(`SELECT * FROM ${from} ORDER BY ALL LIMIT ${Math.max(0, Math.floor(limit))}`);
    return { columns: reader.columnNames(), rows: reader.getRows().map((r) => r.map(plain)), total };
  } finally {
    conn.closeSync();
    if (db) await releaseDuckDB(db);
    memory?.closeSync();
  }
}

/** The committed rows of a DuckDB sink table. */
export function previewDuckDBTable(path: string, schemaName: string | undefined, tableName: string, limit: number): Promise<Preview> {
  const from = schemaName ? `${quoteIdent(schemaName)}.${quoteIdent(tableName)}` : quoteIdent(tableName);
  return previewFrom(path, from, limit);
}

/**
 * The committed part files of a filesystem sink folder, read through DuckDB. CSV parts have no
 * header, so their columns are named from `columns` (the sink table's).
 */
export async function previewPartFiles(folder: string, format: 'parquet' | 'csv' | 'json', columns: readonly string[], limit: number): Promise<Preview> {
  const ext = format === 'json' ? 'json' : format;
  const hasParts = existsSync(folder) && readdirSync(folder).some((f) => f.startsWith('part-') && f.endsWith(`.${ext}`));
  if (!hasParts) return { columns: [], rows: [], total: 0 };
  const glob = quoteLiteral(join(folder, `part-*.${ext}`));
  if (format === 'csv') {
    const names = columns.map(quoteLiteral).join(', ');
    return previewFrom('', `read_csv(${glob}, header = false, names = [${names}])`, limit);
  }
  return previewFrom('', `${format === 'parquet' ? 'read_parquet' : 'read_json_auto'}(${glob})`, limit);
}
