import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { incrementalSetting } from './checkpoint-modes.js';

/**
 * The crash-test jobs: 1,000,000 generated rows (deterministic datagen) through a keyed
 * aggregation into an upsert DuckDB table, a filter/projection into an append DuckDB table, and
 * the same filter/projection into parquet part files. `rows-per-second` keeps a run a few seconds
 * long so that random SIGKILLs land in the middle of it.
 */
export const ROWS = 1_000_000;

export type Scenario = 'aggregate-upsert' | 'projection-append' | 'filesystem-parquet';

export interface ScenarioFiles {
  jobFile: string;
  /** The DuckDB file or the parquet folder the job writes. */
  target: string;
  /** SQL over the result, sorted, that the test compares. */
  resultQuery: string;
}

export interface ScenarioOptions {
  /** SET 'execution.checkpointing.incremental' = 'true' in the job file. */
  incremental?: boolean;
}

export function writeScenario(dir: string, scenario: Scenario, parallelism: number, opts: ScenarioOptions = {}): ScenarioFiles {
  const db = join(dir, 'out.duckdb');
  const folder = join(dir, 'parts');
  const source = `
CREATE TABLE src (
  id BIGINT,
  k  INT,
  v  INT,
  name STRING
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '150000',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '${ROWS}',
  'fields.k.min' = '1',
  'fields.k.max' = '5000',
  'fields.v.min' = '-1000',
  'fields.v.max' = '1000',
  'fields.name.length' = '6'
);`;
  const settings = `
SET 'pipeline.name' = 'crash-${scenario}';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${parallelism}';
SET 'restart-strategy.type' = 'none';
${incrementalSetting(opts.incremental)}`;
  let body: string;
  let files: Omit<ScenarioFiles, 'jobFile'>;
  switch (scenario) {
    case 'aggregate-upsert':
      body = `
CREATE TABLE out_agg (
  k INT, cnt BIGINT, total BIGINT, lo INT, hi INT,
  PRIMARY KEY (k) NOT ENFORCED
) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'out_agg');
INSERT INTO out_agg SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)), MIN(v), MAX(v) FROM src GROUP BY k;`;
      files = { target: db, resultQuery: 'SELECT k, cnt, total, lo, hi FROM out_agg ORDER BY k' };
      break;
    case 'projection-append':
      body = `
CREATE TABLE out_rows (id BIGINT, k INT, v2 INT, name STRING)
WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'out_rows');
INSERT INTO out_rows SELECT id, k, v * 2, UPPER(name) FROM src WHERE v > 0;`;
      files = { target: db, resultQuery: 'SELECT id, k, v2, name FROM out_rows ORDER BY id' };
      break;
    case 'filesystem-parquet':
      body = `
CREATE TABLE out_files (id BIGINT, k INT, v2 INT, name STRING)
WITH ('connector' = 'filesystem', 'path' = '${folder}', 'format' = 'parquet');
INSERT INTO out_files SELECT id, k, v * 2, UPPER(name) FROM src WHERE v > 0;`;
      files = {
        target: folder,
        resultQuery: `SELECT id, k, v2, name FROM read_parquet('${folder}/*.parquet') ORDER BY id`,
      };
      break;
  }
  const jobFile = join(dir, `${scenario}.sql`);
  writeFileSync(jobFile, `${settings}\n${source}\n${body}\n`);
  return { jobFile, ...files };
}
