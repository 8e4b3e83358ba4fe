import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Crash-test jobs writing into PostgreSQL: 1,000,000 generated rows (deterministic datagen) through
 * a keyed aggregation into an upsert table, or a filter/projection into an append table (COPY).
 * `rows-per-second` keeps a run a few seconds long so that kills and server restarts land in the
 * middle of it. Every query keeps ids 1..rows only, so a run that is to be killed or stopped can
 * read an unbounded sequence (`unbounded`: it cannot finish by itself, however slow the machine)
 * and the same job restored with the bounded end finishes with the same output (datagen takes the
 * end from the job's options on restore; a split restored past it just ends).
 */
export const PG_ROWS = 1_000_000;

/** The sequence end of an unbounded run: more rows than any test reads. */
const UNBOUNDED_END = 1_000_000_000_000;

export type PgScenario = 'aggregate-upsert' | 'projection-append';

export interface PgScenarioFiles {
  readonly jobFile: string;
  readonly jobName: string;
  readonly table: string;
  /** SQL over the result, sorted, that the test compares. */
  readonly resultQuery: string;
}

export interface PgScenarioOptions {
  readonly scenario: PgScenario;
  readonly parallelism: number;
  /** WITH options reaching the server (see TestPostgres.options). */
  readonly connection: Record<string, string>;
  /** Unique per test: the job name and the table name derive from it. */
  readonly name: string;
  /** Ids 1..rows reach the output (the bounded end of the sequence). */
  readonly rows?: number;
  /** The source does not end (its sequence runs far past `rows`); the output is the same. */
  readonly unbounded?: boolean;
  readonly rowsPerSecond?: number;
  readonly checkpointInterval?: string;
  /** Restart attempts of the job itself (0: restart-strategy none; 'default': weir's default, exponential-delay). */
  readonly restarts?: number | 'default';
}

export function writePgScenario(dir: string, o: PgScenarioOptions): PgScenarioFiles {
  const rows = o.rows ?? PG_ROWS;
  const table = o.name.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const jobName = `pg-${o.name}`;
  const conn = Object.entries(o.connection)
    .map(([k, v]) => `'${k}' = '${v.replace(/'/g, "''")}'`)
    .join(',\n  ');
  const restarts = o.restarts ?? 0;
  const settings = `
SET 'pipeline.name' = '${jobName}';
SET 'execution.checkpointing.interval' = '${o.checkpointInterval ?? '250ms'}';
SET 'parallelism.default' = '${o.parallelism}';
${restarts === 'default' ? '' : restarts > 0 ? `SET 'restart-strategy.type' = 'fixed-delay';\nSET 'restart-strategy.fixed-delay.attempts' = '${restarts}';\nSET 'restart-strategy.fixed-delay.delay' = '500ms';` : "SET 'restart-strategy.type' = 'none';"}`;
  const source = `
CREATE TABLE src (
  id BIGINT,
  k  INT,
  v  INT,
  name STRING
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '${o.rowsPerSecond ?? 150000}',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '${o.unbounded ? UNBOUNDED_END : rows}',
  'fields.k.min' = '1',
  'fields.k.max' = '5000',
  'fields.v.min' = '-1000',
  'fields.v.max' = '1000',
  'fields.name.length' = '6'
);`;
  let body: string;
  let resultQuery: string;
  switch (o.scenario) {
    case 'aggregate-upsert':
      body = `
CREATE TABLE out_agg (
  k INT, cnt BIGINT, total BIGINT, lo INT, hi INT,
  PRIMARY KEY (k) NOT ENFORCED
) WITH (
  'connector' = 'postgres',
  ${conn},
  'table-name' = 'crash.${table}',
  'sink.create-table' = 'true'
);
INSERT INTO out_agg SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)), MIN(v), MAX(v) FROM src WHERE id <= ${rows} GROUP BY k;`;
      resultQuery = `SELECT k, cnt, total, lo, hi FROM crash.${table} ORDER BY k`;
      break;
    case 'projection-append':
      body = `
CREATE TABLE out_rows (id BIGINT, k INT, v2 INT, name STRING) WITH (
  'connector' = 'postgres',
  ${conn},
  'table-name' = 'crash.${table}',
  'sink.create-table' = 'true'
);
INSERT INTO out_rows SELECT id, k, v * 2, UPPER(name) FROM src WHERE id <= ${rows} AND v > 0;`;
      resultQuery = `SELECT id, k, v2, name FROM crash.${table} ORDER BY id`;
      break;
  }
  const jobFile = join(dir, `${table}.sql`);
  writeFileSync(jobFile, `${settings}\n${source}\n${body}\n`);
  return { jobFile, jobName, table: `crash.${table}`, resultQuery };
}
