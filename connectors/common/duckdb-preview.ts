/**
 * Reading committed rows back through DuckDB for `weir run --show-result` (ConnectorFactory.preview):
 * the DuckDB sink's tables, and the filesystem sink's part files.
 */
import { duckdb } from './duckdb-api.js';
import { acquireDuckDB, releaseDuckDB } from './duckdb-instance-cache.js';

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
export async function previewFrom(path: string, from: string, limit: number): Promise<Preview> {
  // The shared instance for a file (a running sink may hold it); a private one in memory.
  const db = path === '' ? undefined : await acquireDuckDB(path);
  const memory = db ? undefined : await duckdb().DuckDBInstance.create(':memory:');
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
