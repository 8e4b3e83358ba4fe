import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { filesystemConnector } from '../../connectors/filesystem/index.js';
import { fromDuckDB, quoteLiteral } from '../../connectors/common/duckdb-values.js';
import { CONFORMANCE_SCHEMA, row, runTwoPhaseCommitConformance, type ConformanceTarget } from '../sink/conformance/two-phase-commit-suite.js';
import { tempDir } from '../support/temp-dirs.js';
import { drain, errorOf, makeTable, sinkContext, sourceContext } from './table-helper.js';

const COLS = CONFORMANCE_SCHEMA.fields.map((f) => [f.name, f.type] as const);

async function readParquet(dir: string): Promise<unknown[][]> {
  if (!readdirSync(dir).some((f) => f.endsWith('.parquet'))) return [];
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const rows = (await con.runAndReadAll(`SELECT id, name, amount, ts FROM read_parquet(${quoteLiteral(join(dir, '*.parquet'))})`)).getRows();
    return rows.map((r) => r.map((v, c) => fromDuckDB(v, CONFORMANCE_SCHEMA.fields[c].type)));
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

/** Reads csv/json parts back with weir's own filesystem source (which skips the hidden .staging). */
async function readWithSource(dir: string, format: string): Promise<unknown[][]> {
  const table = makeTable('readback', COLS, { connector: 'filesystem', path: dir, format });
  const src = filesystemConnector.createSource!(table, table.schema);
  const reader = src.createReader(sourceContext(table.schema));
  await reader.assign(await src.enumerate(1, []), []);
  const rows = await drain(reader);
  await reader.close();
  return rows;
}

function fsTarget(format: 'parquet' | 'csv' | 'json', extra: Record<string, string> = {}) {
  return (dir: string): ConformanceTarget => {
    const path = join(dir, 'out');
    const table = makeTable('out', COLS, { connector: 'filesystem', path, format, ...extra });
    const sink = filesystemConnector.createSink!(table, CONFORMANCE_SCHEMA);
    expect(sink.acceptsUpdates).toBe(false);
    return {
      sink: sink.createWriter(sinkContext(CONFORMANCE_SCHEMA, [], 0, 'my-job', 'sink-1')),
      readCommitted: () => (format === 'parquet' ? readParquet(path) : readWithSource(path, format)),
      countStaged: async () => readdirSync(join(path, '.staging')).length,
    };
  };
}

runTwoPhaseCommitConformance('filesystem (parquet)', fsTarget('parquet'));
runTwoPhaseCommitConformance('filesystem (csv)', fsTarget('csv'));
runTwoPhaseCommitConformance('filesystem (json)', fsTarget('json'));

describe('filesystem sink', () => {
  it('names part files by job, operator, subtask and checkpoint', async () => {
    const dir = tempDir('fs-sink');
    const t = fsTarget('json')(dir);
    await t.sink.open();
    await t.sink.recover([], 0);
    const txn = await t.sink.begin(4);
    await t.sink.write(txn, { size: 1, kinds: new Uint8Array(1), columns: row(1).map((v) => [v]) });
    const c = await t.sink.preCommit(txn);
    expect(readdirSync(join(dir, 'out', '.staging'))).toEqual(['my_job-sink_1-0-4.json']);
    expect(readdirSync(join(dir, 'out')).filter((f) => !f.startsWith('.'))).toEqual([]);
    await t.sink.commit(c);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['.staging', 'part-my_job-sink_1-0-4.json']);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'part-my_job-sink_1-0-4.json'), 'utf8'))).toMatchObject({ id: 1, name: 'name-1-v0' });
    await t.sink.close();
  });

  it('never overwrites a part file left by an earlier run that used the same checkpoint id', async () => {
    const dir = tempDir('fs-sink');
    for (const version of [0, 1]) {
      const t = fsTarget('json')(dir);
      await t.sink.open();
      await t.sink.recover([], 0);
      const txn = await t.sink.begin(1);
      await t.sink.write(txn, { size: 1, kinds: new Uint8Array(1), columns: row(version + 1, version).map((v) => [v]) });
      const c = await t.sink.preCommit(txn);
      await t.sink.commit(c);
      await t.sink.commit(c);
      await t.sink.close();
    }
    expect(
      readdirSync(join(dir, 'out'))
        .filter((f) => f.startsWith('part-'))
        .sort(),
    ).toEqual(['part-my_job-sink_1-0-1-r1.json', 'part-my_job-sink_1-0-1.json']);
    expect((await fsTarget('json')(dir).readCommitted()).map((r) => r[0]).sort()).toEqual([1, 2]);
  });

  it('rolls a checkpoint into several files with sink.rolling-policy.file-size', async () => {
    const dir = tempDir('fs-sink');
    const t = fsTarget('csv', { 'sink.rolling-policy.file-size': '4kb' })(dir);
    await t.sink.open();
    await t.sink.recover([], 0);
    const txn = await t.sink.begin(1);
    const rows = Array.from({ length: 20000 }, (_, i) => row(i));
    await t.sink.write(txn, { size: rows.length, kinds: new Uint8Array(rows.length), columns: CONFORMANCE_SCHEMA.fields.map((_, c) => rows.map((r) => r[c])) });
    await t.sink.commit(await t.sink.preCommit(txn));
    const parts = readdirSync(join(dir, 'out')).filter((f) => f.startsWith('part-'));
    expect(parts.length).toBeGreaterThan(2);
    expect(readdirSync(join(dir, 'out', '.staging'))).toEqual([]);
    const back = await t.readCommitted();
    expect(back.map((r) => r[0]).sort((a, b) => (a as number) - (b as number))).toEqual(rows.map((r) => r[0]));
    await t.sink.close();
  });

  it('rejects an unknown format', () => {
    expect(
      errorOf(() => filesystemConnector.createSink!(makeTable('t', COLS, { connector: 'filesystem', path: '/x', format: 'avro' }), CONFORMANCE_SCHEMA)).message,
    ).toBe("table 't': option 'format' must be one of 'json', 'csv', 'parquet', got 'avro'");
  });
});
