/**
 * Schema evolution of `weir cdc` targets (schema.change.behavior = evolve | try_evolve | lenient): after the
 * job stopped right before a column change, the columns each target gains, loses or retypes are
 * applied to the target table (ALTER TABLE ... ADD / DROP COLUMN, ALTER COLUMN ... TYPE) before the
 * job resumes with the new columns.
 * try_evolve logs a change the target refuses and goes on; evolve fails on it.
 */
import pg from 'pg';
import type { TableDef } from '../../catalog/table.js';
import { externalError } from '../../errors.js';
import { formatType, type Field } from '../../model/types.js';
import type { Logger } from '../../log.js';
import { splitQualifiedName } from '../../../connectors/common/qualified-name.js';
import { duckdbType, quoteIdent as duckIdent } from '../../../connectors/common/duckdb-values.js';
import { acquireDuckDB, releaseDuckDB } from '../../../connectors/common/duckdb-instance-cache.js';
import { pgType, quoteIdent as pgIdent } from '../../../connectors/postgres/pg-values.js';
import type { Pipeline } from './pipeline.js';
import { targetId, type PipelineJob } from './pipeline-job.js';

export interface ColumnChange {
  readonly sinkTable: string;
  readonly added: readonly Field[];
  readonly dropped: readonly string[];
  /** Columns whose type changed (e.g. INT to BIGINT, VARCHAR(10) to VARCHAR(20)): the new field. */
  readonly retyped: readonly Field[];
}

function sinkFields(job: PipelineJob, i: number): Field[] {
  const t = job.job.catalog.getTable(`dst_${targetId(job.targets[i].sinkTable)}`) as TableDef;
  return [...t.schema.fields];
}

/** Per target (matched by sink table name), the columns the new job adds or drops. */
export function columnChanges(before: PipelineJob, after: PipelineJob): ColumnChange[] {
  const out: ColumnChange[] = [];
  after.targets.forEach((t, i) => {
    const j = before.targets.findIndex((b) => b.sinkTable === t.sinkTable);
    if (j < 0) return;
    const old = sinkFields(before, j);
    const now = sinkFields(after, i);
    const added = now.filter((f) => !old.some((o) => o.name === f.name));
    const dropped = old.filter((o) => !now.some((f) => f.name === o.name)).map((o) => o.name);
    const retyped = now.filter((f) => {
      const o = old.find((x) => x.name === f.name);
      return o !== undefined && formatType({ ...o.type, nullable: true }) !== formatType({ ...f.type, nullable: true });
    });
    if (added.length > 0 || dropped.length > 0 || retyped.length > 0) out.push({ sinkTable: t.sinkTable, added, dropped, retyped });
  });
  return out;
}

/**
 * evolve: every change, failing on one the target refuses; try_evolve: the same, going on past a
 * refused one; lenient (Flink CDC's default): dropped columns stay in the target (new rows leave
 * them NULL), the rest as try_evolve.
 */
export async function applyColumnChanges(
  p: Pipeline,
  changes: readonly ColumnChange[],
  behavior: 'evolve' | 'try_evolve' | 'lenient',
  log: Logger,
): Promise<void> {
  const tolerant = behavior !== 'evolve';
  for (const change of changes) {
    const c = behavior === 'lenient' ? { ...change, dropped: [] } : change;
    const statements = p.sink.type === 'duckdb' ? duckStatements(c) : pgStatements(c);
    for (const sql of statements) {
      try {
        if (p.sink.type === 'duckdb') await runDuck(p.sink.path, sql);
        else await runPg(p, sql);
        log.info({ table: c.sinkTable, sql }, 'weir cdc: target evolved');
        process.stderr.write(`schema change applied to ${c.sinkTable}: ${sql}\n`);
      } catch (e) {
        if (!tolerant)
          throw externalError(
            'CDC_EVOLVE',
            `schema change of ${c.sinkTable} could not be applied (${sql}): ${(e as Error).message}; use schema.change.behavior 'try_evolve' to go on without it`,
            { cause: e },
          );
        log.warn({ table: c.sinkTable, sql, error: (e as Error).message }, 'weir cdc: schema change not applied (try_evolve)');
        process.stderr.write(`warning: schema change of ${c.sinkTable} not applied (${sql}): ${(e as Error).message}\n`);
      }
    }
  }
}

function duckStatements(c: ColumnChange): string[] {
  const parts = splitQualifiedName(c.sinkTable) ?? [c.sinkTable];
  const target = parts.map(duckIdent).join('.');
  // The sink's staging table is empty after the clean stop; it is made again with the new columns.
  const staging = [...parts.slice(0, -1), `_weir_staging_${parts[parts.length - 1]}`].map(duckIdent).join('.');
  return [
    ...c.added.map((f) => `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${duckIdent(f.name)} ${duckdbType(f.type)}`),
    ...c.dropped.map((n) => `ALTER TABLE ${target} DROP COLUMN IF EXISTS ${duckIdent(n)}`),
    ...c.retyped.map((f) => `ALTER TABLE ${target} ALTER ${duckIdent(f.name)} TYPE ${duckdbType(f.type)}`),
    `DROP TABLE IF EXISTS ${staging}`,
  ];
}

function pgStatements(c: ColumnChange): string[] {
  const target = c.sinkTable.split('.').map(pgIdent).join('.');
  return [
    ...c.added.map((f) => `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${pgIdent(f.name)} ${pgType(f.type)}`),
    ...c.dropped.map((n) => `ALTER TABLE ${target} DROP COLUMN IF EXISTS ${pgIdent(n)}`),
    ...c.retyped.map((f) => `ALTER TABLE ${target} ALTER COLUMN ${pgIdent(f.name)} TYPE ${pgType(f.type)}`),
  ];
}

async function runDuck(path: string, sql: string): Promise<void> {
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

async function runPg(p: Pipeline, sql: string): Promise<void> {
  const s = p.sink;
  if (s.type !== 'postgres') return;
  const url = s.url ? new URL(s.url) : undefined;
  const c = new pg.Client({
    host: s.hostname ?? url?.hostname,
    port: s.port ?? (url?.port ? Number(url.port) : 5432),
    user: s.username ?? (url ? decodeURIComponent(url.username) : undefined),
    password: s.password ?? (url?.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD),
    database: s['database-name'] ?? (url ? decodeURIComponent(url.pathname.slice(1)) : undefined),
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end().catch(() => undefined);
  }
}
