/** Shared helpers of the PostgreSQL sink tests: a writer for a table, batches, reads. */
import type { TableDef } from '../../../src/catalog/table.js';
import type { Schema, SqlType } from '../../../src/model/types.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import type { ChangeBatch } from '../../../src/model/changelog.js';
import { RowKind } from '../../../src/model/changelog.js';
import type { JsonValue } from '../../../src/runtime/operator.js';
import type { SinkContext, TwoPhaseCommitSink } from '../../../src/sink/two-phase-commit.js';
import { jdbcConnector, postgresConnector } from '../../../connectors/postgres/index.js';
import { parsePgText } from '../../../connectors/postgres/pg-values.js';
import type { TestPostgres } from '../../support/postgres.js';
import { makeTable } from '../table-helper.js';

export interface WriterSpec {
  readonly name?: string;
  readonly columns: readonly (readonly [string, SqlType])[];
  readonly primaryKey?: string[];
  readonly options: Record<string, string>;
  readonly job?: string;
  readonly uid?: string;
  readonly subtask?: number;
  readonly parallelism?: number;
  readonly connector?: 'postgres' | 'jdbc';
  readonly log?: Logger;
}

export interface TestWriter {
  readonly table: TableDef;
  readonly schema: Schema;
  readonly writer: TwoPhaseCommitSink;
  describe(): string;
}

export function pgWriter(spec: WriterSpec): TestWriter {
  const connector = spec.connector ?? 'postgres';
  const table = makeTable(spec.name ?? 't', spec.columns, { connector, ...spec.options }, { primaryKey: spec.primaryKey ?? [] });
  const schema = table.schema;
  const sink = (connector === 'jdbc' ? jdbcConnector : postgresConnector).createSink!(table, schema);
  const pk = (spec.primaryKey ?? []).map((k) => schema.fields.findIndex((f) => f.name === k));
  const ctx: SinkContext = {
    jobName: spec.job ?? 'job',
    operatorUid: spec.uid ?? 'sink',
    subtaskIndex: spec.subtask ?? 0,
    parallelism: spec.parallelism ?? 1,
    schema,
    primaryKey: pk,
    log: spec.log ?? silentLogger,
  };
  return { table, schema, writer: sink.createWriter(ctx), describe: () => sink.describe() };
}

export async function started(w: TestWriter, restored: JsonValue[] = [], restoredId = 0): Promise<TwoPhaseCommitSink> {
  await w.writer.open();
  await w.writer.recover(restored, restoredId);
  return w.writer;
}

export function batch(rows: readonly (readonly unknown[])[], kinds?: readonly number[]): ChangeBatch {
  const arity = rows[0]?.length ?? 0;
  const columns = Array.from({ length: arity }, (_, c) => rows.map((r) => r[c]));
  return { size: rows.length, kinds: Uint8Array.from(kinds ?? rows.map(() => RowKind.INSERT)), columns };
}

/** begin(n), one write per batch, preCommit. */
export async function checkpoint(sink: TwoPhaseCommitSink, n: number, ...batches: ChangeBatch[]): Promise<JsonValue> {
  const txn = await sink.begin(n);
  for (const b of batches) await sink.write(txn, b);
  return sink.preCommit(txn);
}

/** Rows of `sql` converted into weir values of `schema`'s types. */
export async function readAs(server: TestPostgres, sql: string, schema: Schema): Promise<unknown[][]> {
  const rows = await server.query(sql);
  return rows.map((r) => r.map((v, c) => parsePgText(v, schema.fields[c].type)));
}

export async function preparedGids(server: TestPostgres): Promise<string[]> {
  return (await server.query('SELECT gid FROM pg_prepared_xacts ORDER BY gid')).map((r) => r[0]!);
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; domain?: string; retriable?: boolean }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
