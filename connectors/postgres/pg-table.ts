/**
 * The target table in PostgreSQL: created when missing (sink.create-table), then inspected —
 * every sink column must exist (matched exactly, else case-insensitively when that is
 * unambiguous) and an upsert table needs a unique constraint on exactly its key columns — and
 * weir's commit-marker table next to it (exactly-once). DDL runs under an advisory lock, so
 * parallel subtasks do not race on CREATE ... IF NOT EXISTS.
 */
import type pg from 'pg';
import type { Field, Schema } from '../../src/model/types.js';
import { userError } from '../../src/errors.js';
import { pgType, quoteIdent } from './pg-values.js';
import { qualifiedTarget, type PostgresSinkConfig } from './postgres-options.js';

export const MARKERS_TABLE = '_weir_commits';

export interface TargetTable {
  /** `"schema"."table"`, schema resolved. */
  readonly qualified: string;
  readonly schema: string;
  /** The PostgreSQL column of each sink field, quoted. */
  readonly columns: readonly string[];
  /** The type of each column without modifiers, schema-qualified (for `$n::type[]` parameters). */
  readonly baseTypes: readonly string[];
  /** `"schema"."_weir_commits"` */
  readonly markers: string;
}

export interface TargetRequest {
  readonly config: PostgresSinkConfig;
  readonly weirTable: string;
  readonly schema: Schema;
  /** Names of the key columns (empty: append). */
  readonly keyNames: readonly string[];
  readonly exactlyOnce: boolean;
  /** host:port/database, for messages. */
  readonly server: string;
}

async function withAdvisoryLock(client: pg.Client, key: string, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
    await fn();
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

async function schemaExists(client: pg.Client, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).rowCount! > 0;
}

function columnDefs(fields: readonly Field[]): string {
  return fields.map((f) => `${quoteIdent(f.name)} ${pgType(f.type)}${f.type.nullable ? '' : ' NOT NULL'}`).join(', ');
}

/** Creates (when asked and missing) and inspects the target; creates the markers table. */
export async function prepareTarget(client: pg.Client, req: TargetRequest): Promise<TargetTable> {
  const { config } = req;
  const target = qualifiedTarget(config);
  const where = `PostgreSQL table ${target} at ${req.server}`;
  const regclass = async (): Promise<string | null> =>
    (await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [target])).rows[0].oid;

  let oid = await regclass();
  if (oid === null && config.createTable) {
    await withAdvisoryLock(client, `weir:create:${target}`, async () => {
      if (config.schemaName !== undefined && !(await schemaExists(client, config.schemaName))) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(config.schemaName)}`);
      }
      const pk = req.keyNames.length > 0 ? `, PRIMARY KEY (${req.keyNames.map(quoteIdent).join(', ')})` : '';
      await client.query(`CREATE TABLE IF NOT EXISTS ${target} (${columnDefs(req.schema.fields)}${pk})`);
    });
    oid = await regclass();
  }
  if (oid === null) {
    throw userError('PG_TABLE_MISSING', `table '${req.weirTable}': ${where} does not exist; create it, or set 'sink.create-table' = 'true'`, {
      details: { table: req.weirTable, target },
    });
  }

  // Parameter casts use the type's internal, quoted name: `character`/`bit` without a length
  // would mean length 1 (and truncate), "pg_catalog"."bpchar" means no length.
  const meta = await client.query<{ nspname: string; attname: string; base: string }>(
    `SELECT n.nspname, a.attname, quote_ident(tn.nspname) || '.' || quote_ident(t.typname) AS base
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
      WHERE c.oid = $1::oid ORDER BY a.attnum`,
    [oid],
  );
  const have = meta.rows.map((r) => r.attname);
  const resolved: { name: string; base: string }[] = [];
  const missing: string[] = [];
  for (const f of req.schema.fields) {
    let row = meta.rows.find((r) => r.attname === f.name);
    if (!row) {
      const ci = meta.rows.filter((r) => r.attname.toLowerCase() === f.name.toLowerCase());
      if (ci.length === 1) row = ci[0];
    }
    if (row) resolved.push({ name: row.attname, base: row.base });
    else missing.push(f.name);
  }
  if (missing.length > 0) {
    throw userError('SINK_SCHEMA_MISMATCH', `table '${req.weirTable}': ${where} has no column(s) ${missing.join(', ')}; it has ${have.join(', ')}`, {
      details: { table: req.weirTable, target },
    });
  }
  const schemaName = meta.rows[0]?.nspname ?? config.schemaName ?? 'public';
  const byField = new Map(req.schema.fields.map((f, i) => [f.name, resolved[i].name]));

  if (req.keyNames.length > 0) {
    const keyCols = req.keyNames.map((k) => byField.get(k) ?? k);
    const uniques = await client.query<{ cols: string[] }>(
      `SELECT array_agg(a.attname::text) AS cols
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
        WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = i.indnatts
        GROUP BY i.indexrelid`,
      [oid],
    );
    const wanted = [...keyCols].sort().join('\u0000');
    if (!uniques.rows.some((r) => [...r.cols].sort().join('\u0000') === wanted)) {
      throw userError(
        'PG_NO_UNIQUE_KEY',
        `table '${req.weirTable}': ${where} has no PRIMARY KEY or UNIQUE constraint on exactly (${keyCols.join(', ')}), which upserts need (ON CONFLICT); add one, or drop the PRIMARY KEY from the weir table to append`,
        { details: { table: req.weirTable, target } },
      );
    }
  }

  const markers = `${quoteIdent(schemaName)}.${quoteIdent(MARKERS_TABLE)}`;
  if (req.exactlyOnce) {
    const exists = (await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [markers])).rows[0].oid !== null;
    if (!exists) {
      await withAdvisoryLock(client, `weir:create:${markers}`, async () => {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${markers} (
             gid text PRIMARY KEY, job text NOT NULL, operator_uid text NOT NULL, subtask integer NOT NULL,
             checkpoint_id bigint NOT NULL, target text NOT NULL, rows bigint NOT NULL, prepared_at timestamptz NOT NULL DEFAULT now())`,
        );
        await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${MARKERS_TABLE}_writer`)} ON ${markers} (job, operator_uid, subtask, checkpoint_id)`);
      });
    }
  }

  return {
    qualified: `${quoteIdent(schemaName)}.${quoteIdent(config.tableName)}`,
    schema: schemaName,
    columns: resolved.map((r) => quoteIdent(r.name)),
    baseTypes: resolved.map((r) => r.base),
    markers,
  };
}
