import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duckdbConnector } from '../../connectors/duckdb/index.js';
import { acquireDuckDB, releaseDuckDB } from '../../connectors/common/duckdb-instance-cache.js';
import { fromDuckDB, quoteIdent } from '../../connectors/common/duckdb-values.js';
import { splitQualifiedName } from '../../connectors/common/qualified-name.js';
import type { Schema } from '../../src/model/types.js';
import { type } from '../../src/model/types.js';
import { RowKind } from '../../src/model/changelog.js';
import type { TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { CONFORMANCE_SCHEMA, runTwoPhaseCommitConformance, type ConformanceTarget } from '../sink/conformance/two-phase-commit-suite.js';
import { tempDir } from '../support/temp-dirs.js';
import { errorOf, makeTable, sinkContext } from './table-helper.js';

async function query(path: string, sql: string, schema?: Schema): Promise<unknown[][]> {
  const db = await acquireDuckDB(path);
  const con = await db.instance.connect();
  try {
    const rows = (await con.runAndReadAll(sql)).getRows();
    return schema ? rows.map((r) => r.map((v, c) => fromDuckDB(v, schema.fields[c].type))) : rows;
  } finally {
    con.closeSync();
    await releaseDuckDB(db);
  }
}

function duckTarget(upsert: boolean, tableName = 'analytics.orders') {
  return (dir: string): ConformanceTarget => {
    const path = join(dir, 'sub', 'out.duckdb');
    const cols = CONFORMANCE_SCHEMA.fields.map((f) => [f.name, f.type] as const);
    const table = makeTable('orders', cols, { connector: 'duckdb', path, 'table-name': tableName }, { primaryKey: upsert ? ['id'] : [] });
    const sink = duckdbConnector.createSink!(table, CONFORMANCE_SCHEMA);
    expect(sink.acceptsUpdates).toBe(upsert);
    const parts = splitQualifiedName(tableName)!;
    const qualified = (n: string) => parts.slice(0, -1).map(quoteIdent).concat(quoteIdent(n)).join('.');
    const name = parts[parts.length - 1];
    return {
      acceptsUpdates: sink.acceptsUpdates,
      sink: sink.createWriter(sinkContext(CONFORMANCE_SCHEMA, upsert ? [0] : [])),
      readCommitted: () => query(path, `SELECT id, name, amount, ts FROM ${qualified(name)}`, CONFORMANCE_SCHEMA),
      countStaged: async () => Number((await query(path, `SELECT count(*) FROM ${qualified(`_weir_staging_${name}`)}`))[0][0]),
    };
  };
}

runTwoPhaseCommitConformance('duckdb (append)', duckTarget(false), { upsert: false });
runTwoPhaseCommitConformance('duckdb (upsert)', duckTarget(true), { upsert: true });

describe('duckdb sink', () => {
  const tmp = () => tempDir('duck');
  const I = RowKind.INSERT;

  it('creates the target with mapped types and the primary key', async () => {
    const dir = tmp();
    const path = join(dir, 'x.duckdb');
    const cols = [
      ['k', type('INT', false)],
      ['b', type('BIGINT')],
      ['d', type('DOUBLE')],
      ['m', type('DECIMAL', true, 12, 3)],
      ['s', type('VARCHAR', true, 10)],
      ['f', type('BOOLEAN')],
      ['day', type('DATE')],
      ['t', type('TIMESTAMP', true, 3)],
      ['tm', type('TIME')],
      ['bin', type('BYTES')],
    ] as const;
    const table = makeTable('Weird "Name"', cols, { connector: 'duckdb', path }, { primaryKey: ['k'] });
    const sink = duckdbConnector.createSink!(table, table.schema).createWriter(sinkContext(table.schema, [0]));
    await sink.open();
    await sink.recover([], 0);
    const row = [7, 2 ** 40, 1.5, -1234567n, 'héllo', true, 19800, Date.UTC(2024, 4, 6, 7, 8, 9, 10), 3_600_123, new Uint8Array([1, 2, 255])];
    const txn = await sink.begin(1);
    await sink.write(txn, { size: 1, kinds: new Uint8Array([I]), columns: row.map((v) => [v]) });
    await sink.commit(await sink.preCommit(txn));
    await sink.close();
    const described = await query(
      path,
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'Weird "Name"' ORDER BY ordinal_position`,
    );
    expect(described).toEqual([
      ['k', 'INTEGER', 'NO'],
      ['b', 'BIGINT', 'YES'],
      ['d', 'DOUBLE', 'YES'],
      ['m', 'DECIMAL(12,3)', 'YES'],
      ['s', 'VARCHAR', 'YES'],
      ['f', 'BOOLEAN', 'YES'],
      ['day', 'DATE', 'YES'],
      ['t', 'TIMESTAMP', 'YES'],
      ['tm', 'TIME', 'YES'],
      ['bin', 'BLOB', 'YES'],
    ]);
    const pk = await query(path, `SELECT constraint_type FROM information_schema.table_constraints WHERE table_name = 'Weird "Name"'`);
    expect(pk.flat()).toContain('PRIMARY KEY');
    expect(await query(path, 'SELECT * FROM "Weird ""Name"""', table.schema)).toEqual([row]);
  });

  it('shares one instance among subtasks and keeps their commits apart', async () => {
    const path = join(tmp(), 'shared.duckdb');
    const cols = CONFORMANCE_SCHEMA.fields.map((f) => [f.name, f.type] as const);
    const table = makeTable('orders', cols, { connector: 'duckdb', path });
    const sink = duckdbConnector.createSink!(table, CONFORMANCE_SCHEMA);
    const writers: TwoPhaseCommitSink[] = [0, 1, 2].map((i) => sink.createWriter(sinkContext(CONFORMANCE_SCHEMA, [], i)));
    await Promise.all(
      writers.map(async (w) => {
        await w.open();
        await w.recover([], 0);
      }),
    );
    const committables = await Promise.all(
      writers.map(async (w, i) => {
        const txn = await w.begin(1);
        const ids = Array.from({ length: 5000 }, (_, k) => i * 5000 + k);
        await w.write(txn, { size: ids.length, kinds: new Uint8Array(ids.length), columns: [ids, ids.map(String), ids.map(() => 1n), ids.map(() => 0)] });
        return w.preCommit(txn);
      }),
    );
    await Promise.all(writers.map((w, i) => w.commit(committables[i])));
    // A restarted subtask 1 re-commits its committable: nothing changes.
    await writers[1].commit(committables[1]);
    expect(await query(path, 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM orders')).toEqual([[15000n, 15000n, 0n, 14999n]]);
    expect(await query(path, 'SELECT count(*) FROM _weir_commits')).toEqual([[3n]]);
    await Promise.all(writers.map((w) => w.close()));
  });

  it('applies a reused checkpoint id after a restore from an older checkpoint', async () => {
    const dir = tmp();
    const make = duckTarget(false, 'orders')(dir);
    const ts = Date.UTC(2024, 0, 1);
    const batch = (id: number) => ({ size: 1, kinds: new Uint8Array(1), columns: [[id], ['x'], [1n], [ts]] });
    await make.sink.open();
    await make.sink.recover([], 0);
    for (const n of [1, 2]) {
      const txn = await make.sink.begin(n);
      await make.sink.write(txn, batch(n));
      await make.sink.commit(await make.sink.preCommit(txn));
    }
    await make.sink.close();
    // The user restores checkpoint 1 (say, a savepoint): the new run's checkpoint 2 must land.
    const again = duckTarget(false, 'orders')(dir);
    await again.sink.open();
    await again.sink.recover([], 1);
    const txn = await again.sink.begin(2);
    await again.sink.write(txn, batch(20));
    await again.sink.commit(await again.sink.preCommit(txn));
    expect((await again.readCommitted()).map((r) => r[0]).sort((a, b) => (a as number) - (b as number))).toEqual([1, 2, 20]);
    await again.sink.close();
  });

  it('opens an empty file left by a run killed while creating it, and never replaces a file that holds anything', async () => {
    const dir = tmp();
    // DuckDB creates the file and then writes its headers: a SIGKILL in between left 0 bytes.
    const empty = join(dir, 'empty.duckdb');
    writeFileSync(empty, '');
    expect(await query(empty, 'SELECT 41 + 1')).toEqual([[42]]);
    const fresh = join(dir, 'new.duckdb');
    expect(await query(fresh, 'SELECT 1')).toEqual([[1]]);
    expect(readdirSync(dir).sort()).toEqual(['empty.duckdb', 'new.duckdb']);
    const notOurs = join(dir, 'notes.duckdb');
    writeFileSync(notOurs, 'my notes');
    const err = (await acquireDuckDB(notOurs).catch((e) => e)) as Error & { code?: string; retriable?: boolean };
    expect(err.code).toBe('DUCKDB_OPEN');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain('not a valid DuckDB database file');
    expect(readFileSync(notOurs, 'utf8')).toBe('my notes');
  });

  it('validates its options', () => {
    const cols = [['id', type('BIGINT')]] as const;
    expect(errorOf(() => duckdbConnector.createSink!(makeTable('t', cols, { connector: 'duckdb' }), { fields: [] })).message).toContain(
      "missing required option 'path'",
    );
    expect(
      errorOf(() => duckdbConnector.createSink!(makeTable('t', cols, { connector: 'duckdb', path: 'x', 'table-nme': 'y' }), { fields: [] })).message,
    ).toContain("did you mean 'table-name'?");
    expect(
      errorOf(() => duckdbConnector.createSink!(makeTable('t', cols, { connector: 'duckdb', path: 'x', 'table-name': 'a.b.c' }), { fields: [] })).message,
    ).toContain("option 'table-name' must be a table name or 'schema.table', got 'a.b.c'");
    expect(splitQualifiedName('"my.schema"."t"""')).toEqual(['my.schema', 't"']);
  });
});
