/**
 * The answers of the shell statements that only read: SHOW TABLES | VIEWS | FUNCTIONS | JOBS,
 * SHOW CREATE TABLE | VIEW, SHOW CHECKPOINTS, DESCRIBE and HELP. Each returns the text to print.
 */
import type { TableDef, ViewDef } from '../../catalog/table.js';
import { listCheckpoints } from '../../checkpoint/checkpoint-list.js';
import { userError } from '../../errors.js';
import { AGGREGATE_NAMES } from '../../expr/aggregates.js';
import { bindExpr } from '../../expr/bind.js';
import { formatExpr } from '../../expr/format.js';
import { functionNames } from '../../expr/functions/index.js';
import { formatType, withNullable } from '../../model/types.js';
import { bindQuery } from '../../plan/bind-query.js';
import type { Catalog } from '../../plan/catalog.js';
import { RelationScope } from '../../plan/scope.js';
import type { Expr, Pos, ShowCreateStatement } from '../../sql/ir.js';
import { fmtBytes } from '../status-line.js';
import { formatTable } from '../table-format.js';
import type { JobRegistry, ShellJob } from './job-registry.js';
import { formatUptime } from './result-format.js';

/** A one-column or wider listing; `Empty set` when there are no rows (as Flink prints it). */
function listing(columns: string[], rows: unknown[][]): string {
  return rows.length === 0 ? 'Empty set' : formatTable(columns, rows);
}

export function showTables(catalog: Catalog): string {
  const names = [...catalog.listTables().map((t) => t.name), ...catalog.listViews().map((v) => v.name)].sort();
  return listing(
    ['table name'],
    names.map((n) => [n]),
  );
}

export function showViews(catalog: Catalog): string {
  return listing(
    ['view name'],
    catalog
      .listViews()
      .map((v) => [v.name])
      .sort(),
  );
}

/** Every scalar and aggregate function, sorted (operators such as '+' are left out). */
export function allFunctionNames(): string[] {
  return [...new Set([...functionNames(), ...AGGREGATE_NAMES])].filter((n) => /^[A-Z_][A-Z_0-9]*$/.test(n)).sort();
}

export function showFunctions(): string {
  return listing(
    ['function name'],
    allFunctionNames().map((n) => [n]),
  );
}

function exprText(e: Expr, table: TableDef): string {
  try {
    const scope = new RelationScope([{ name: table.name, fields: table.schema.fields, offset: 0 }]);
    return formatExpr(
      bindExpr(e, { scope }),
      table.schema.fields.map((f) => f.name),
    );
  } catch {
    return '(expression)';
  }
}

/** Flink's DESCRIBE: name, type, null, key, extras, watermark. */
export function describe(catalog: Catalog, name: readonly string[], pos: Pos): string {
  const def = catalog.resolve(name, pos);
  const columns = ['name', 'type', 'null', 'key', 'extras', 'watermark'];
  if (def.kind === 'view') {
    const fields = bindQuery(def.query, catalog).schema.fields;
    return formatTable(
      columns,
      fields.map((f, i) => [def.columnNames?.[i] ?? f.name, formatType(withNullable(f.type, true)), f.type.nullable ? 'TRUE' : 'FALSE', '', '', '']),
    );
  }
  const pk = def.primaryKey.length > 0 ? `PRI(${def.primaryKey.join(', ')})` : '';
  const rows = def.schema.fields.map((f, i) => {
    const col = def.columns[i]!;
    let extras = '';
    if (col.kind === 'computed') extras = `AS ${exprText(col.expr, def)}`;
    else if (col.kind === 'metadata') extras = `METADATA${col.key !== col.name ? ` FROM '${col.key}'` : ''}${col.virtual ? ' VIRTUAL' : ''}`;
    const wm = def.watermark?.column === f.name ? exprText(def.watermark.expr, def) : '';
    return [f.name, formatType(withNullable(f.type, true)), f.type.nullable ? 'TRUE' : 'FALSE', def.primaryKey.includes(f.name) ? pk : '', extras, wm];
  });
  return formatTable(columns, rows);
}

/** The CREATE statement as it was written in this session (`ddl` holds it by name). */
export function showCreate(catalog: Catalog, ddl: ReadonlyMap<string, string>, stmt: ShowCreateStatement): string {
  const def: TableDef | ViewDef = catalog.resolve(stmt.name, stmt.pos);
  if (def.kind !== stmt.object) {
    throw userError('WRONG_OBJECT_KIND', `'${def.name}' is a ${def.kind}; use SHOW CREATE ${def.kind.toUpperCase()} ${def.name}`, { position: stmt.pos });
  }
  const text = ddl.get(def.name);
  if (text !== undefined) return `${text.trim()};`;
  return def.kind === 'view' ? `CREATE VIEW ${def.name} AS\n${def.queryText};` : `CREATE TABLE ${def.name} (...);`;
}

export function showJobs(jobs: JobRegistry): string {
  const now = Date.now();
  const rows = jobs.list().map((j) => {
    const s = j.running.status();
    const status = j.error !== undefined ? 'FAILED' : s.state;
    const chk = s.lastCheckpoint;
    return [
      j.id,
      j.name,
      status,
      formatUptime((j.endedAt ?? now) - j.startedAt),
      chk ? `${chk.kind === 'savepoint' ? 'savepoint' : 'chk'} ${chk.id}` : '-',
      chk ? `${chk.durationMs} ms` : '-',
    ];
  });
  return listing(['job id', 'job name', 'status', 'uptime', 'last checkpoint', 'duration'], rows);
}

export async function showCheckpoints(job: ShellJob): Promise<string> {
  const list = await listCheckpoints(job.checkpointDir, job.name);
  const rows = list.map((c) => [
    c.kind,
    c.id ?? '?',
    c.corrupt ? `CORRUPT: ${c.corrupt}` : new Date(c.completedAt).toISOString(),
    c.durationMs === undefined ? '' : `${c.durationMs} ms`,
    c.sizeBytes === undefined ? '' : fmtBytes(c.sizeBytes),
    c.addedBytes === undefined ? '' : fmtBytes(c.addedBytes),
    c.path,
  ]);
  return listing(['kind', 'id', 'completed', 'duration', 'size', 'added', 'path'], rows);
}

export const HELP_TEXT = `The SQL shell runs Flink SQL with the engine in this process. Statements end with ';'.

  CREATE TABLE / CREATE VIEW / DROP TABLE / DROP VIEW   declare tables and views
  SELECT ...;                       run a query and show its result (Ctrl-C or q ends it)
  INSERT INTO t SELECT ...;         start a background job and print its id
  EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END;   several INSERTs as one job
  EXPLAIN <query or INSERT>;        print the operator DAG
  SHOW TABLES; SHOW VIEWS; SHOW FUNCTIONS;
  DESCRIBE t;  SHOW CREATE TABLE t;  SHOW CREATE VIEW v;
  SHOW JOBS;                        background jobs: id, name, status, uptime, last checkpoint
  STOP JOB 'id' [WITH SAVEPOINT];   stop a job after a final checkpoint (or a savepoint)
  SHOW CHECKPOINTS 'id';            the job's completed checkpoints and savepoints
  SET 'key' = 'value';  SET;  RESET 'key';  RESET;   session configuration
  HELP;  QUIT;  (or Ctrl-D)

Result modes: SET 'sql-client.execution.result-mode' = 'table' | 'changelog' | 'tableau';
Restore an INSERT from a checkpoint or savepoint: SET 'execution.savepoint.path' = '/path/...';`;
