import { DuckDBInstance } from '@duckdb/node-api';

/** Normalizes DuckDB values (bigint, decimal, dates) to comparable plain strings/numbers. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object') return String(v);
  return v;
}

/** Runs a query against a DuckDB file (opened and closed for this call) and returns sorted rows. */
export async function queryDuckDb(path: string, sql: string): Promise<unknown[][]> {
  const inst = await DuckDBInstance.create(path);
  try {
    const conn = await inst.connect();
    try {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRows().map((r) => r.map(norm));
    } finally {
      conn.closeSync();
    }
  } finally {
    inst.closeSync();
  }
}
