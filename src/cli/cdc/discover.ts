/**
 * Table discovery for `weir cdc`: which PostgreSQL tables the pipeline's patterns match, with
 * their columns (PostgreSQL types mapped to Flink SQL types) and primary keys.
 */
import pg from 'pg';
import { externalError, userError } from '../../errors.js';
import type { PipelineSource } from './pipeline.js';
import { selectsTable, tablePatterns } from './table-patterns.js';

export interface DiscoveredColumn {
  readonly name: string;
  /** format_type(): 'integer', 'numeric(12,2)', ... */
  readonly pgType: string;
  /** The Flink SQL type of the column, e.g. 'DECIMAL(12, 2)'. */
  readonly sqlType: string;
  readonly notNull: boolean;
}

export interface DiscoveredTable {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly DiscoveredColumn[];
  readonly primaryKey: readonly string[];
}

/**
 * PostgreSQL type → Flink SQL type, as the postgres-cdc source reads them (README "Types").
 * numeric without a precision becomes DECIMAL(38, 18), as Flink CDC maps it.
 */
export function flinkType(pgType: string): string {
  const t = pgType.toLowerCase();
  if (t.endsWith('[]')) return 'STRING';
  const num = /^numeric(?:\((\d+),(\d+)\))?$/.exec(t.replace(/\s/g, ''));
  if (num) return num[1] ? `DECIMAL(${Math.min(38, Number(num[1]))}, ${num[2]})` : 'DECIMAL(38, 18)';
  const varchar = /^character varying\((\d+)\)$/.exec(t);
  if (varchar) return `VARCHAR(${varchar[1]})`;
  const char = /^character\((\d+)\)$/.exec(t);
  if (char) return `CHAR(${char[1]})`;
  if (/^timestamp(\(\d\))? with time zone$/.test(t)) return `TIMESTAMP_LTZ(${/\((\d)\)/.exec(t)?.[1] ?? '6'})`;
  if (/^timestamp(\(\d\))? without time zone$/.test(t)) return `TIMESTAMP(${/\((\d)\)/.exec(t)?.[1] ?? '6'})`;
  if (/^time(\(\d\))? without time zone$/.test(t)) return 'TIME';
  switch (t) {
    case 'smallint':
      return 'SMALLINT';
    case 'integer':
      return 'INT';
    case 'bigint':
      return 'BIGINT';
    case 'real':
      return 'FLOAT';
    case 'double precision':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'bytea':
      return 'BYTES';
    default:
      // text, character varying, uuid, json, jsonb, enums, ...: PostgreSQL's text form.
      return 'STRING';
  }
}

export { tablePatterns } from './table-patterns.js';

export function sourceClient(src: PipelineSource): pg.Client {
  return new pg.Client({
    host: src.hostname,
    port: src.port,
    user: src.username,
    password: src.password,
    database: src['database-name'],
    connectionTimeoutMillis: 10_000,
  });
}

export async function discoverTables(src: PipelineSource): Promise<DiscoveredTable[]> {
  const patterns = tablePatterns(src.tables, { database: src['database-name'] });
  const c = sourceClient(src);
  c.on('error', () => undefined);
  const where = `PostgreSQL ${src.hostname}:${src.port}/${src['database-name']}`;
  try {
    await c.connect();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw externalError('POSTGRES', `${where}: cannot connect as '${src.username}': ${err.message ?? String(e)}${err.code ? ` (SQLSTATE ${err.code})` : ''}`, {
      cause: e,
    });
  }
  try {
    const all = (
      await c.query(
        `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
      )
    ).rows as { schema: string; name: string; oid: number }[];
    const matched = all.filter((t) => selectsTable(patterns, t.schema, t.name));
    if (matched.length === 0) throw userError('CDC_TABLE_NOT_FOUND', `${where}: no table matches 'source.tables' = '${src.tables}'`);
    const out: DiscoveredTable[] = [];
    for (const t of matched) {
      const columns = (
        await c.query(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull FROM pg_attribute
            WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [t.oid],
        )
      ).rows.map((r) => ({ name: r.name as string, pgType: r.type as string, sqlType: flinkType(r.type as string), notNull: r.notnull === true }));
      const primaryKey = (
        await c.query(
          `SELECT a.attname AS name FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
          [t.oid],
        )
      ).rows.map((r) => r.name as string);
      if (primaryKey.length === 0) {
        throw userError(
          'CDC_NO_PRIMARY_KEY',
          `${where}: table ${t.schema}.${t.name} matches 'source.tables' but has no primary key; add one, or narrow the pattern`,
        );
      }
      out.push({ schema: t.schema, name: t.name, columns, primaryKey });
    }
    return out;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === '42501') throw userError('CDC_ACCESS', `${where}: permission denied reading the catalog as '${src.username}': ${err.message}`);
    throw e;
  } finally {
    await c.end().catch(() => undefined);
  }
}
