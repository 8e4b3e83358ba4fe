import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type } from '../../../src/model/types.js';
import { RowKind } from '../../../src/model/changelog.js';
import type { JsonValue } from '../../../src/runtime/operator.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { batch, checkpoint, pgWriter, preparedGids, readAs, rejection, started } from './pg-test-helpers.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const { UPDATE_BEFORE: UB, UPDATE_AFTER: UA, DELETE: D } = RowKind;

describe.skipIf(!server)('postgres sink', () => {
  const pg = server!;
  const opts = (table: string, extra: Record<string, string> = {}) => ({ ...pg.options(), 'table-name': table, 'sink.create-table': 'true', ...extra });

  beforeAll(async () => {
    await pg.query('CREATE SCHEMA s');
  });

  const ALL_TYPES = [
    ['k', type('INT', false)],
    ['ti', type('TINYINT')],
    ['si', type('SMALLINT')],
    ['b', type('BIGINT')],
    ['f', type('FLOAT')],
    ['d', type('DOUBLE')],
    ['m', type('DECIMAL', true, 12, 3)],
    ['vc', type('VARCHAR', true, 40)],
    ['s', type('STRING')],
    ['flag', type('BOOLEAN')],
    ['day', type('DATE')],
    ['tm', type('TIME', true, 3)],
    ['ts', type('TIMESTAMP', true, 3)],
    ['tz', type('TIMESTAMP_LTZ', true, 3)],
    ['bin', type('BYTES')],
  ] as const;
  const ALL_ROWS = [
    [
      1,
      7,
      -300,
      2 ** 40,
      1.5,
      0.1,
      -1n,
      'tab\there',
      'back\\slash "quoted" {braces},comma',
      true,
      19800,
      3_600_123,
      Date.UTC(2024, 4, 6, 7, 8, 9, 10),
      Date.UTC(2024, 0, 1, 0, 0, 0, 1),
      new Uint8Array([0, 255, 92, 34, 44]),
    ],
    [2, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
    [
      3,
      -128,
      32767,
      -(2 ** 53 - 1),
      -0.25,
      -1e300,
      123456789012n,
      'NULL',
      'new\nline\r\n ünïcödé \\N',
      false,
      -1,
      0,
      -1,
      -62_135_596_800_001,
      new Uint8Array([]),
    ],
    [4, 0, 0, 0, 0, Infinity, 0n, '', '\\x41', false, -719_529, 86_399_999, 253_402_300_799_999, 0, new Uint8Array([1])],
  ];

  it('creates the table with mapped types and round-trips every type through COPY and through upserts', async () => {
    for (const [table, pk] of [
      ['s.types_append', []],
      ['s.types_upsert', ['k']],
    ] as const) {
      const w = pgWriter({ name: 'types', columns: ALL_TYPES, primaryKey: [...pk], options: opts(table), job: `types-${pk.length}` });
      const sink = await started(w);
      await sink.commit(await checkpoint(sink, 1, batch(ALL_ROWS.slice(0, 2)), batch(ALL_ROWS.slice(2))));
      await sink.close();
      const cols = ALL_TYPES.map(([n]) => n).join(', ');
      expect(await readAs(pg, `SELECT ${cols} FROM ${table} ORDER BY k`, w.schema)).toEqual(ALL_ROWS);
    }
    const described = await pg.query(
      `SELECT column_name, format_type(atttypid, atttypmod), attnotnull::text FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 's.types_upsert'::regclass AND a.attname = c.column_name
        WHERE table_schema = 's' AND table_name = 'types_upsert' ORDER BY ordinal_position`,
    );
    expect(described).toEqual([
      ['k', 'integer', 'true'],
      ['ti', 'smallint', 'false'],
      ['si', 'smallint', 'false'],
      ['b', 'bigint', 'false'],
      ['f', 'real', 'false'],
      ['d', 'double precision', 'false'],
      ['m', 'numeric(12,3)', 'false'],
      ['vc', 'character varying(40)', 'false'],
      ['s', 'text', 'false'],
      ['flag', 'boolean', 'false'],
      ['day', 'date', 'false'],
      ['tm', 'time(3) without time zone', 'false'],
      ['ts', 'timestamp(3) without time zone', 'false'],
      ['tz', 'timestamp(3) with time zone', 'false'],
      ['bin', 'bytea', 'false'],
    ]);
    expect(await pg.query(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 's.types_upsert'::regclass AND contype = 'p'`)).toEqual([
      ['PRIMARY KEY (k)'],
    ]);
  });

  it('writes into an existing table, matching columns case-insensitively when unambiguous', async () => {
    await pg.query('CREATE TABLE s.existing (ID bigint PRIMARY KEY, "Name" text, code char(4), extra int DEFAULT 5)');
    const cols = [
      ['id', type('BIGINT', false)],
      ['Name', type('STRING')],
      ['code', type('STRING')],
    ] as const;
    const w = pgWriter({ columns: cols, primaryKey: ['id'], options: { ...pg.options(), 'table-name': 's.existing' } });
    const sink = await started(w);
    await sink.commit(
      await checkpoint(
        sink,
        1,
        batch([
          [1, 'a', 'abc'],
          [2, 'b', 'x'],
        ]),
      ),
    );
    await sink.commit(
      await checkpoint(
        sink,
        2,
        batch(
          [
            [1, 'a', 'abc'],
            [1, 'A', 'abcd'],
            [2, 'b', 'x'],
          ],
          [UB, UA, D],
        ),
      ),
    );
    await sink.close();
    expect(await pg.query('SELECT id, "Name", code, extra FROM s.existing ORDER BY id')).toEqual([['1', 'A', 'abcd', '5']]);
  });

  it('an upsert batch deletes and updates by key; updates arriving while the previous checkpoint is still prepared wait in memory, not on its row locks', async () => {
    const cols = [
      ['id', type('BIGINT', false)],
      ['v', type('INT')],
    ] as const;
    const w = pgWriter({ columns: cols, primaryKey: ['id'], options: opts('s.locks', { 'sink.buffer-flush.max-rows': '10' }) });
    const sink = await started(w);
    const keys = Array.from({ length: 100 }, (_, i) => i);
    const c1 = await checkpoint(sink, 1, batch(keys.map((k) => [k, 1])));
    // Checkpoint 1 is prepared (its rows locked) but not complete: checkpoint 2's writes must not block.
    const txn2 = await sink.begin(2);
    const writes = (async () => {
      for (let v = 2; v <= 5; v++) await sink.write(txn2, batch(keys.map((k) => [k, v])));
      await sink.write(
        txn2,
        batch(
          [
            [7, 5],
            [8, 5],
          ],
          [D, D],
        ),
      );
    })();
    // Blocked on checkpoint 1's row locks, the writes would fail once the sink's lock_timeout
    // (10 s) runs out: no timer of the test's own decides.
    const outcome = await writes.then(
      () => 'written',
      (e: unknown) => `failed: ${(e as Error).message}`,
    );
    expect(outcome).toBe('written');
    await sink.commit(c1);
    expect(Number((await pg.query('SELECT count(*) FROM s.locks WHERE v = 1'))[0][0])).toBe(100);
    await sink.commit(await sink.preCommit(txn2));
    expect(await pg.query('SELECT count(*), min(v), max(v) FROM s.locks')).toEqual([['98', '5', '5']]);
    await sink.close();
  });

  it('a reader never sees part of a checkpoint, though rows reach the server before the barrier', async () => {
    const cols = [
      ['id', type('BIGINT', false)],
      ['version', type('INT')],
    ] as const;
    const append = pgWriter({ columns: cols, options: opts('s.visible_append', { 'sink.buffer-flush.max-rows': '150' }), job: 'visible-a' });
    const upsert = pgWriter({
      columns: cols,
      primaryKey: ['id'],
      options: opts('s.visible_upsert', { 'sink.buffer-flush.max-rows': '150' }),
      job: 'visible-u',
    });
    const a = await started(append);
    const u = await started(upsert);
    const PER = 2000;
    let stop = false;
    const seen = { append: new Set<string>(), upsert: new Set<string>() };
    const look = async (c: Awaited<ReturnType<typeof pg.client>>) => {
      const r = await c.query({
        text: "SELECT (SELECT count(*) FROM s.visible_append), (SELECT min(version) || '-' || max(version) || '-' || count(*) FROM s.visible_upsert)",
        rowMode: 'array',
      });
      seen.append.add(r.rows[0][0]);
      if (r.rows[0][1] !== null) seen.upsert.add(r.rows[0][1]);
    };
    // One reader looks at fixed moments (after every flush of 150 rows could have reached the
    // server, after the pre-commits, between the two commits); another polls all along.
    const observer = await pg.client();
    const reader = (async () => {
      const c = await pg.client();
      try {
        while (!stop) await look(c);
      } finally {
        await c.end();
      }
    })();
    for (let n = 1; n <= 6; n++) {
      const ta = await a.begin(n);
      const tu = await u.begin(n);
      for (let off = 0; off < PER; off += 100) {
        const ids = Array.from({ length: 100 }, (_, i) => (n - 1) * PER + off + i);
        await a.write(ta, batch(ids.map((id) => [id, n])));
        await u.write(tu, batch(ids.map((id) => [id % PER, n])));
        await look(observer);
      }
      const ca = await a.preCommit(ta);
      const cu = await u.preCommit(tu);
      await look(observer);
      await a.commit(ca);
      await look(observer);
      await u.commit(cu);
      await look(observer);
    }
    stop = true;
    await reader;
    await observer.end();
    await a.close();
    await u.close();
    // Every snapshot held whole checkpoints only: PER rows each (append), one version of all keys (upsert).
    expect([...seen.append].map(Number).every((n) => n % PER === 0)).toBe(true);
    expect(new Set([...seen.append].map(Number))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6].map((n) => n * PER)));
    for (const s of seen.upsert) {
      const [lo, hi, count] = s.split('-');
      expect(lo).toBe(hi);
      expect(count).toBe(String(PER));
    }
    expect(new Set([...seen.upsert].map((x) => x.split('-')[0]))).toEqual(new Set(['1', '2', '3', '4', '5', '6']));
  });

  it('an empty checkpoint prepares nothing; close() rolls back the open transaction and leaves nothing prepared', async () => {
    const cols = [['id', type('BIGINT', false)]] as const;
    const w = pgWriter({ columns: cols, options: opts('s.closing', { 'sink.buffer-flush.max-rows': '1' }), job: 'closing' });
    const sink = await started(w);
    const empty = (await checkpoint(sink, 1)) as { gid: string | null };
    expect(empty.gid).toBeNull();
    const txn = await sink.begin(2);
    await sink.write(txn, batch([[1], [2]]));
    // The rows are on the server, in the open transaction (its COPY still running).
    expect(await pg.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'weir closing 0' AND xact_start IS NOT NULL")).toEqual([['1']]);
    await sink.close();
    expect(await pg.query('SELECT count(*) FROM s.closing')).toEqual([['0']]);
    expect(await preparedGids(pg)).toEqual([]);
    expect(await pg.query("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'weir closing%'")).toEqual([['0']]);
  });

  it('recover() commits restored transactions and rolls back newer ones of its own sink after a rescale, never those of other jobs', async () => {
    const cols = [
      ['id', type('BIGINT', false)],
      ['sub', type('INT')],
    ] as const;
    const make = (job: string, subtask: number, parallelism: number) =>
      pgWriter({ columns: cols, options: opts('s.rescale'), job, uid: 'sink-abc', subtask, parallelism });
    const old = await Promise.all([0, 1, 2].map((s) => started(make('rescale', s, 3))));
    const c1 = await Promise.all(old.map((w, s) => checkpoint(w, 1, batch([[100 + s, s]]))));
    await Promise.all(old.map((w, s) => w.commit(c1[s])));
    const c2 = await Promise.all(old.map((w, s) => checkpoint(w, 2, batch([[200 + s, s]]))));
    await Promise.all(old.map((w, s) => checkpoint(w, 3, batch([[300 + s, s]]))));
    const other = await started(make('rescale-other', 0, 1));
    const otherC = (await checkpoint(other, 9, batch([[900, 9]]))) as { gid: string };
    await Promise.all([...old, other].map((w) => w.close()));
    expect((await preparedGids(pg)).length).toBe(7);

    // Checkpoint 2 completed before the crash; the job comes back with parallelism 1.
    const again = await started(make('rescale', 0, 1), c2, 2);
    expect(await pg.query('SELECT id FROM s.rescale ORDER BY id')).toEqual([['100'], ['101'], ['102'], ['200'], ['201'], ['202']]);
    expect(await preparedGids(pg)).toEqual([otherC.gid]);
    // A second recovery from the same checkpoint changes nothing.
    await again.close();
    const twice = await started(make('rescale', 0, 1), c2, 2);
    await twice.close();
    expect(Number((await pg.query('SELECT count(*) FROM s.rescale'))[0][0])).toBe(6);
    await pg.query(`ROLLBACK PREPARED '${otherC.gid}'`);
  });

  it('a committable neither prepared nor marked as committed fails loudly instead of losing rows silently', async () => {
    const cols = [['id', type('BIGINT', false)]] as const;
    const w = pgWriter({ columns: cols, options: opts('s.lost'), job: 'lost' });
    const sink = await started(w);
    const c1 = await checkpoint(sink, 1, batch([[1]]));
    await sink.commit(c1);
    const c2 = (await checkpoint(sink, 2, batch([[2]]))) as { gid: string };
    await pg.query(`ROLLBACK PREPARED '${c2.gid}'`);
    const e = await rejection(sink.commit(c2 as unknown as JsonValue));
    expect(e.message).toMatch(/checkpoint 2 .*rolled back outside weir; its 1 row\(s\) are missing/);
    expect(e.retriable).toBe(false);
    await sink.commit(c1);
    await sink.close();
  });

  it('a lost connection is a retriable error', async () => {
    const cols = [['id', type('BIGINT', false)]] as const;
    const w = pgWriter({ columns: cols, options: opts('s.dropped', { 'sink.buffer-flush.max-rows': '1' }), job: 'dropped' });
    const sink = await started(w);
    const txn = await sink.begin(1);
    await sink.write(txn, batch([[1]]));
    await pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'weir dropped 0'");
    const e = await rejection(
      (async () => {
        await sink.write(txn, batch([[2]]));
        await sink.preCommit(txn);
      })(),
    );
    expect(e.code).toBe('POSTGRES');
    expect(e.domain).toBe('external');
    expect(e.retriable).toBe(true);
    expect(e.message).toContain(`PostgreSQL at 127.0.0.1:${pg.port}/postgres`);
    await sink.close();
    expect(await preparedGids(pg)).toEqual([]);
  });
});
