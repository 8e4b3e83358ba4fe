/** In-memory connectors and helpers for planner tests (no data is read or written). */
import type { TableDef } from '../../src/catalog/table.js';
import { registerConnector } from '../../src/connector/registry.js';
import type { Schema } from '../../src/model/types.js';
import { internalError } from '../../src/errors.js';
import { Catalog } from '../../src/plan/catalog.js';
import { planJob } from '../../src/plan/physical.js';
import type { JobGraph } from '../../src/runtime/job-graph.js';
import type { Source } from '../../src/runtime/source.js';
import type { Sink } from '../../src/sink/two-phase-commit.js';
import { parseScript } from '../../src/sql/parse.js';
import type { InsertStatement } from '../../src/sql/ir.js';

/** Every source the planner created: table and the columns it was asked to produce. */
export const createdSources: { table: string; fields: string[] }[] = [];

function testSource(table: TableDef, schema: Schema): Source {
  createdSources.push({ table: table.name, fields: schema.fields.map((f) => f.name) });
  return {
    bounded: true,
    ...(table.options.changelog === 'updating' ? { changelogMode: 'updating' as const } : {}),
    enumerate: async () => [],
    createReader: () => {
      throw internalError('test source has no reader');
    },
    describe: () => 'test-source',
  };
}

function testSink(table: TableDef, acceptsUpdates: boolean): Sink {
  return {
    acceptsUpdates,
    createWriter: () => {
      throw internalError('test sink has no writer');
    },
    describe: () => `test-sink(${table.name})`,
  };
}

let registered = false;
export function registerTestConnectors(): void {
  if (registered) return;
  registered = true;
  registerConnector({ name: 'test-source', optionKeys: ['changelog'], createSource: testSource });
  registerConnector({ name: 'test-sink', optionKeys: [], createSink: (t) => testSink(t, t.primaryKey.length > 0) });
  registerConnector({ name: 'test-append', optionKeys: [], createSink: (t) => testSink(t, false) });
  // Like 'print': takes -U/+U/-D rows without a primary key.
  registerConnector({ name: 'test-print', optionKeys: [], createSink: (t) => testSink(t, true) });
  registerConnector({
    name: 'test-both',
    optionKeys: ['changelog'],
    createSource: testSource,
    createSink: (t) => testSink(t, t.primaryKey.length > 0),
  });
}

export const ORDERS_DDL = `
CREATE TABLE orders (
  id BIGINT,
  k STRING,
  v INT,
  price DECIMAL(10, 2),
  ts TIMESTAMP(3)
) WITH ('connector' = 'test-source');
CREATE TABLE totals (k STRING, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'test-sink');
CREATE TABLE log (k STRING, v INT) WITH ('connector' = 'test-sink');
`;

/** Applies the DDL in `sql` to a new catalog and returns it with the INSERTs. */
export function load(sql: string): { catalog: Catalog; inserts: InsertStatement[] } {
  registerTestConnectors();
  const catalog = new Catalog();
  const inserts: InsertStatement[] = [];
  for (const st of parseScript(sql)) {
    switch (st.kind) {
      case 'create-table':
      case 'create-view':
      case 'drop':
        catalog.apply(st);
        break;
      case 'insert':
        inserts.push(st);
        break;
      case 'statement-set':
        inserts.push(...st.inserts);
        break;
      default:
        throw new Error(`unexpected statement ${st.kind} in test SQL`);
    }
  }
  return { catalog, inserts };
}

export function plan(sql: string, parallelism = 2, jobName = 'test'): JobGraph {
  const { catalog, inserts } = load(sql);
  return planJob(inserts, catalog, { jobName, parallelism });
}

/** Replaces the hash part of uids, for goldens that should not change with canonical text tweaks. */
export function maskUids(text: string): string {
  return text
    .replace(/\b(source|values|calc|aggregate|window-aggregate|join|interval-join|window-join|rank|union|sink)-[0-9a-f]{12}\b/g, '$1-#')
    .replace(/fingerprint [0-9a-f]{12}/, 'fingerprint #');
}

/** Runs `fn` and returns the WeirError it throws (fails when it does not throw). */
export function errorOf(fn: () => unknown): { code: string; message: string; position?: { line: number; column: number }; domain: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string; position?: { line: number; column: number }; domain: string };
  }
  throw new Error('expected an error, but none was thrown');
}
