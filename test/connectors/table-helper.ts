import type { TableDef } from '../../src/catalog/table.js';
import type { Field, SqlType } from '../../src/model/types.js';
import type { SourceContext } from '../../src/runtime/source.js';
import type { SinkContext } from '../../src/sink/two-phase-commit.js';
import type { Schema } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';

/** A TableDef as the catalog would build it from CREATE TABLE (options at fake positions). */
export function makeTable(
  name: string,
  columns: readonly (readonly [string, SqlType])[],
  options: Record<string, string>,
  extra: { primaryKey?: string[]; metadata?: Record<string, string> } = {},
): TableDef {
  const fields: Field[] = columns.map(([n, type]) => ({ name: n, type }));
  const optionPositions: Record<string, { line: number; column: number }> = {};
  Object.keys(options).forEach((k, i) => (optionPositions[k] = { line: 10 + i, column: 3 }));
  return {
    kind: 'table',
    name,
    schema: { fields },
    columns: fields.map((f) =>
      extra.metadata?.[f.name] !== undefined
        ? { kind: 'metadata' as const, name: f.name, key: extra.metadata[f.name], virtual: true }
        : { kind: 'physical' as const, name: f.name },
    ),
    primaryKey: extra.primaryKey ?? [],
    options,
    optionPositions,
    pos: { line: 1, column: 1 },
  };
}

export function schemaOf(table: TableDef, names?: string[]): Schema {
  if (!names) return table.schema;
  return { fields: names.map((n) => table.schema.fields.find((f) => f.name === n)!) };
}

export function sourceContext(schema: Schema, counters: Record<string, number> = {}, subtaskIndex = 0, parallelism = 1): SourceContext {
  return {
    jobName: 'job',
    operatorUid: 'src',
    subtaskIndex,
    parallelism,
    schema,
    log: silentLogger,
    inc(name, by = 1) {
      counters[name] = (counters[name] ?? 0) + by;
    },
  };
}

export function sinkContext(schema: Schema, primaryKey: number[] = [], subtaskIndex = 0, jobName = 'job', operatorUid = 'sink'): SinkContext {
  return { jobName, operatorUid, subtaskIndex, parallelism: 1, schema, primaryKey, log: silentLogger };
}

import type { ChangeBatch } from '../../src/model/changelog.js';
import { rowAt } from '../../src/model/changelog.js';
import type { SourceReader } from '../../src/runtime/source.js';

/** Polls until 'end' (or `maxRows`), returning the rows as arrays. */
export async function drain(reader: SourceReader, maxRows = Infinity): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  while (rows.length < maxRows) {
    const b: ChangeBatch | 'end' | undefined = await reader.poll();
    if (b === 'end') break;
    if (!b) continue;
    for (let i = 0; i < b.size; i++) rows.push(rowAt(b, i));
  }
  return rows;
}

/** The error thrown by fn (fails the test when nothing is thrown). */
export function errorOf(fn: () => unknown): Error & { code?: string; position?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}
