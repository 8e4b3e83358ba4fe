import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type } from '../../../src/model/types.js';
import { RowKind } from '../../../src/model/changelog.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip, startPostgres, type TestPostgres } from '../../support/postgres.js';
import { batch, checkpoint, pgWriter, preparedGids, rejection, started } from './pg-test-helpers.js';

/** Failures: what the data or the server setup causes fails the job with a message that says what to change. */
const server = await postgresOrSkip();
afterAll(() => server?.stop());

describe.skipIf(!server)('postgres sink errors', () => {
  const pg = server!;
  const opts = (table: string, extra: Record<string, string> = {}) => ({ ...pg.options(), 'table-name': table, ...extra });
  const ID_AMOUNT = [
    ['id', type('BIGINT', false)],
    ['amount', type('DECIMAL', true, 10, 2)],
  ] as const;

  beforeAll(async () => {
    await pg.query('CREATE SCHEMA e');
    await pg.query('CREATE TABLE e.small (id bigint, amount numeric(5,2))');
    await pg.query('CREATE TABLE e.unique_ids (id bigint PRIMARY KEY, amount numeric(10,2))');
    await pg.query('CREATE TABLE e.strict (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(5,2))');
    await pg.query('CREATE TABLE e.ints (id bigint, n integer)');
    await pg.query('CREATE TABLE e.nokey (id bigint, amount numeric(10,2))');
    await pg.query('CREATE TABLE e.locked (id bigint, amount numeric(10,2))');
    await pg.query("CREATE ROLE limited LOGIN PASSWORD 'limited-secret-pw'");
    await pg.query('GRANT USAGE, CREATE ON SCHEMA e TO limited');
    await pg.query('GRANT SELECT ON e.locked TO limited');
  });

  /** Writes one checkpoint and returns what fails (open, write, preCommit). */
  async function failure(spec: Parameters<typeof pgWriter>[0], rows: unknown[][], kinds?: number[]) {
    const w = pgWriter(spec);
    try {
      return await rejection(
        (async () => {
          const sink = await started(w);
          await sink.commit(await checkpoint(sink, 1, batch(rows, kinds)));
        })(),
      );
    } finally {
      await w.writer.close();
    }
  }

  function expectUserError(e: Awaited<ReturnType<typeof failure>>, ...parts: string[]) {
    expect(e.domain).toBe('user');
    expect(e.retriable).toBe(false);
    for (const p of parts) expect(e.message).toContain(p);
    expect(e.message).not.toContain(pg.password);
    expect(e.message.split('\n')).toHaveLength(1);
  }

  it('a value the column cannot take (COPY) names the table, the column and the value', async () => {
    const e = await failure({ name: 'small', columns: ID_AMOUNT, options: opts('e.small') }, [
      [1, 100n],
      [2, 1234567n],
    ]);
    expectUserError(e, "table 'small'", '"e"."small"', 'column amount', "value '12345.67'", 'numeric field overflow', 'SQLSTATE 22003');
    expect(await pg.query('SELECT count(*) FROM e.small')).toEqual([['0']]);
  });

  it('a value the column cannot take (upsert) is located by a diagnostic COPY', async () => {
    const e = await failure(
      {
        name: 'strict',
        columns: [
          ['id', type('BIGINT', false)],
          ['name', type('STRING')],
          ['amount', type('DECIMAL', true, 10, 2)],
        ],
        primaryKey: ['id'],
        options: opts('e.strict'),
      },
      [
        [1, 'a', 100n],
        [2, 'b', -9999999n],
      ],
    );
    expectUserError(e, "table 'strict'", 'column amount', "value '-99999.99'", 'SQLSTATE 22003');
  });

  it('a NOT NULL violation names the column and NULL', async () => {
    const e = await failure(
      {
        name: 'strict',
        columns: [
          ['id', type('BIGINT', false)],
          ['name', type('STRING')],
          ['amount', type('DECIMAL', true, 10, 2)],
        ],
        primaryKey: ['id'],
        options: opts('e.strict'),
      },
      [[1, null, 100n]],
    );
    expectUserError(e, 'column name, value NULL', 'SQLSTATE 23502');
  });

  it('a unique violation names the key and its value', async () => {
    await pg.query('INSERT INTO e.unique_ids VALUES (7, 1)');
    const e = await failure({ name: 'unique_ids', columns: ID_AMOUNT, options: opts('e.unique_ids') }, [
      [6, 1n],
      [7, 2n],
    ]);
    expectUserError(e, 'column id, value 7', 'SQLSTATE 23505', 'unique_ids_pkey');
  });

  it('a type mismatch with an existing column names the column and the value', async () => {
    const e = await failure(
      {
        name: 'ints',
        columns: [
          ['id', type('BIGINT', false)],
          ['n', type('STRING')],
        ],
        options: opts('e.ints'),
      },
      [
        [1, '12'],
        [2, 'twelve'],
      ],
    );
    expectUserError(e, 'column n', "value 'twelve'", 'invalid input syntax for type integer');
  });

  it('missing permissions fail the job (not retried) and say what to grant', async () => {
    const limited = { username: 'limited', password: 'limited-secret-pw' };
    const spec = { name: 'locked', columns: ID_AMOUNT, options: { ...opts('e.locked', { 'sink.delivery-guarantee': 'at-least-once' }), ...limited } };
    const e = await failure(spec, [[1, 1n]]);
    expectUserError(e, 'permission denied for table locked', 'grant the user INSERT, UPDATE, DELETE', 'SQLSTATE 42501');
    expect(e.message).not.toContain('limited-secret-pw');
    // Exactly-once also needs the commit markers (created by another user here).
    const owner = pgWriter({ columns: ID_AMOUNT, options: opts('e.locked') });
    await started(owner);
    await owner.writer.close();
    const markers = await failure({ ...spec, options: { ...opts('e.locked'), ...limited } }, [[1, 1n]]);
    expectUserError(markers, 'permission denied for table _weir_commits', 'SQLSTATE 42501');
    expect(await preparedGids(pg)).toEqual([]);
  });

  it('a wrong password is a user error that does not show the password', async () => {
    const e = await failure({ columns: ID_AMOUNT, options: { ...opts('e.small'), password: 'not-the-password' } }, [[1, 1n]]);
    expect(e.domain).toBe('user');
    expect(e.message).toContain('password authentication failed');
    expect(e.message).not.toContain('not-the-password');
  });

  it('an unreachable server is a retriable external error naming host:port/database only', async () => {
    const e = await failure({ columns: ID_AMOUNT, options: { url: `postgresql://weir:${pg.password}@127.0.0.1:1/db`, 'table-name': 'x' } }, [[1, 1n]]);
    expect(e.domain).toBe('external');
    expect(e.retriable).toBe(true);
    expect(e.message).toContain('PostgreSQL at 127.0.0.1:1/db');
    expect(e.message).not.toContain(pg.password);
  });

  it('a missing table, missing columns and an upsert table without a unique key are reported at start', async () => {
    const missing = await failure({ name: 'absent', columns: ID_AMOUNT, options: opts('e.absent') }, [[1, 1n]]);
    expectUserError(missing, '"e"."absent"', 'does not exist', "'sink.create-table' = 'true'");
    const cols = await failure({ name: 'small', columns: [...ID_AMOUNT, ['note', type('STRING')]], options: opts('e.small') }, [[1, 1n, 'x']]);
    expectUserError(cols, 'has no column(s) note; it has id, amount');
    const key = await failure({ name: 'nokey', columns: ID_AMOUNT, primaryKey: ['id'], options: opts('e.nokey') }, [[1, 1n]], [RowKind.INSERT]);
    expectUserError(key, 'no PRIMARY KEY or UNIQUE constraint on exactly (id)');
  });

  it('exactly-once fails at start on a server with max_prepared_transactions = 0; at-least-once works there', async () => {
    let off: TestPostgres | undefined;
    try {
      off = await startPostgres({ maxPreparedTransactions: 0 });
      const options = { ...off.options(), 'table-name': 'rows', 'sink.create-table': 'true' };
      const cols = [
        ['id', type('BIGINT', false)],
        ['v', type('INT')],
      ] as const;
      const e = await failure({ columns: cols, primaryKey: ['id'], options }, [[1, 1]]);
      expectUserError(e, 'max_prepared_transactions = 0', 'set max_prepared_transactions', "'sink.delivery-guarantee' = 'at-least-once'");
      expect(e.code).toBe('PG_2PC_DISABLED');

      // At-least-once: rows are committed as they are flushed; replaying upserts is idempotent.
      const w = pgWriter({
        columns: cols,
        primaryKey: ['id'],
        options: { ...options, 'sink.delivery-guarantee': 'at-least-once', 'sink.buffer-flush.max-rows': '2' },
      });
      const sink = await started(w);
      const txn = await sink.begin(1);
      await sink.write(
        txn,
        batch([
          [1, 1],
          [2, 2],
        ]),
      );
      // write() returns once the previous flush is done; this one commits in the background, before any checkpoint.
      const pg = off;
      const committed = async () => pg.query('SELECT id, v FROM rows ORDER BY id');
      for (const t0 = Date.now(); (await committed()).length < 2 && Date.now() - t0 < HANG_GUARD_MS; ) await new Promise((r) => setTimeout(r, 20));
      expect(await committed()).toEqual([
        ['1', '1'],
        ['2', '2'],
      ]);
      const c = (await sink.preCommit(txn)) as { gid: string | null; rows: number };
      expect(c).toMatchObject({ gid: null, rows: 2 });
      await sink.close();
      const again = await started(pgWriter({ columns: cols, primaryKey: ['id'], options: { ...options, 'sink.delivery-guarantee': 'at-least-once' } }), [c], 1);
      await again.commit(
        await checkpoint(
          again,
          2,
          batch([
            [1, 1],
            [2, 2],
            [3, 3],
          ]),
        ),
      );
      await again.close();
      expect(await off.query('SELECT id, v FROM rows ORDER BY id')).toEqual([
        ['1', '1'],
        ['2', '2'],
        ['3', '3'],
      ]);
    } finally {
      await off?.stop();
    }
  });
});
