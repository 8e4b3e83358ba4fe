import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type } from '../../../src/model/types.js';
import type { SourceReader } from '../../../src/runtime/source.js';
import { postgresCdcConnector } from '../../../connectors/postgres-cdc/index.js';
import { postgresOrSkip, startPostgres, type TestPostgres } from '../../support/postgres.js';
import { errorOf, makeTable, sourceContext } from '../table-helper.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const COLS = [
  ['id', type('INT', false)],
  ['v', type('STRING')],
] as const;

function reader(options: Record<string, string>, pk = ['id']): SourceReader {
  const t = makeTable('src', COLS, { connector: 'postgres-cdc', 'heartbeat.interval.ms': '0', ...options }, { primaryKey: pk });
  return postgresCdcConnector.createSource!(t, t.schema).createReader(sourceContext(t.schema));
}

async function assignError(r: SourceReader, slot: string): Promise<Error & { code?: string }> {
  try {
    await r.assign([{ id: `postgres-cdc:${slot}` }], []);
  } catch (e) {
    return e as Error & { code?: string };
  } finally {
    await r.close();
  }
  throw new Error('expected assign() to fail');
}

describe.skipIf(!server)('postgres-cdc errors', () => {
  const pg = server!;
  const opts = (table: string, slot: string, extra: Record<string, string> = {}) => ({
    ...pg.options(),
    'table-name': table,
    'slot.name': slot,
    'publication.name': `pub_${slot}`,
    ...extra,
  });

  it('rejects options at plan time: slot.name missing, bad enum, no PRIMARY KEY', () => {
    const t = (o: Record<string, string>, pk = ['id']) => makeTable('src', COLS, { connector: 'postgres-cdc', ...o }, { primaryKey: pk });
    expect(errorOf(() => postgresCdcConnector.createSource!(t({ ...pg.options(), 'table-name': 'x' }), t({}).schema)).message).toMatch(
      /missing required option 'slot.name'/,
    );
    expect(errorOf(() => postgresCdcConnector.createSource!(t(opts('x', 's', { 'scan.startup.mode': 'earliest' })), t({}).schema)).message).toMatch(
      /option 'scan.startup.mode' must be one of 'initial', 'latest-offset', 'snapshot', got 'earliest'/,
    );
    expect(errorOf(() => postgresCdcConnector.createSource!(t(opts('x', 's'), []), t({}).schema)).message).toMatch(/needs PRIMARY KEY \(\.\.\.\) NOT ENFORCED/);
  });

  it('names the fix: no primary key, replica identity, publication lacking the table, no replication privilege, slot in use', async () => {
    await pg.query('CREATE TABLE nopk (id int, v text)');
    expect((await assignError(reader(opts('nopk', 'e1')), 'e1')).message).toMatch(
      /table public\.nopk has no primary key; add one \(ALTER TABLE "public"\."nopk" ADD PRIMARY KEY/,
    );

    await pg.query('CREATE TABLE ident (id int PRIMARY KEY, v text)');
    expect((await assignError(reader(opts('ident', 'e2')), 'e2')).message).toMatch(
      /REPLICA IDENTITY DEFAULT.*ALTER TABLE "public"\."ident" REPLICA IDENTITY FULL, or set 'changelog-mode' = 'upsert'/,
    );

    await pg.query('CREATE PUBLICATION other_pub FOR TABLE nopk');
    const e3 = await assignError(
      reader(opts('ident', 'e3', { 'publication.name': 'other_pub', 'publication.autocreate.mode': 'disabled', 'changelog-mode': 'upsert' })),
      'e3',
    );
    expect(e3.message).toMatch(/publication 'other_pub' does not include table public\.ident: run ALTER PUBLICATION "other_pub" ADD TABLE "public"\."ident"/);
    const e3b = await assignError(
      reader(opts('ident', 'e3', { 'publication.name': 'missing_pub', 'publication.autocreate.mode': 'disabled', 'changelog-mode': 'upsert' })),
      'e3',
    );
    expect(e3b.message).toMatch(/publication 'missing_pub' does not exist.*CREATE PUBLICATION "missing_pub" FOR TABLE "public"\."ident"/);

    await pg.query("CREATE ROLE plain LOGIN PASSWORD 'plainpw'");
    await pg.query('GRANT SELECT ON ident TO plain');
    const e4 = await assignError(reader({ ...opts('ident', 'e4', { 'changelog-mode': 'upsert' }), username: 'plain', password: 'plainpw' }), 'e4');
    expect(e4.message).toMatch(/permission denied for replication: user 'plain' lacks the REPLICATION attribute; run ALTER ROLE "plain" WITH REPLICATION/);
    expect(e4.message).not.toContain('plainpw');

    const holder = reader(opts('ident', 'e5', { 'changelog-mode': 'upsert', 'scan.startup.mode': 'latest-offset' }));
    await holder.assign([{ id: 'postgres-cdc:e5' }], []);
    let active: string | null | undefined;
    // Until the holder's stream is up (a condition; 1,200 x 50 ms is only a hang guard).
    for (let i = 0; i < 1200 && !active; i++) {
      active = (await pg.query("SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = 'e5'"))[0]?.[0];
      if (!active) await new Promise((r) => setTimeout(r, 50));
    }
    const e5 = await assignError(reader(opts('ident', 'e5', { 'changelog-mode': 'upsert', 'scan.startup.mode': 'latest-offset' })), 'e5');
    expect(e5.message).toContain(`replication slot 'e5' is active for PID ${active}`);
    expect(e5.message).toMatch(/pg_terminate_backend|another 'slot.name'/);
    await holder.close();
  });

  it('says the slot was invalidated (its WAL removed) and how to snapshot again', async () => {
    await pg.query('CREATE TABLE inval (id int PRIMARY KEY, v text)');
    // A reader that streams the slot and closes at once (the close waits for its connection).
    const first = reader(opts('inval', 'e6', { 'changelog-mode': 'upsert', 'scan.startup.mode': 'latest-offset' }));
    await first.assign([{ id: 'postgres-cdc:e6' }], []);
    await first.close();
    let holder: string | null | undefined = 'unknown';
    for (let i = 0; i < 600 && holder !== null; i++) {
      holder = (await pg.query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'e6'"))[0]?.[0];
      if (holder !== null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(holder).toBeNull();
    await pg.query("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    await pg.query('SELECT pg_reload_conf()');
    try {
      let status: string | null | undefined;
      for (let i = 0; i < 20 && status !== 'lost'; i++) {
        // New WAL segments past the limit, then a checkpoint that removes the old ones.
        for (let j = 0; j < 3; j++) {
          await pg.query("INSERT INTO inval VALUES ($1, repeat('x', 1000)) ON CONFLICT (id) DO UPDATE SET v = excluded.v", [i * 10 + j]);
          await pg.query('SELECT pg_switch_wal()');
        }
        await pg.query('CHECKPOINT');
        status = (await pg.query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'e6'"))[0]?.[0];
      }
      expect(status).toBe('lost');
      const e = await assignError(reader(opts('inval', 'e6', { 'changelog-mode': 'upsert' })), 'e6');
      expect(e.message).toMatch(
        /replication slot 'e6' was invalidated \(the WAL it needed was removed.*drop the slot \(SELECT pg_drop_replication_slot\('e6'\)\) and start the job without --from-checkpoint to snapshot the table again/,
      );
    } finally {
      await pg.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
      await pg.query('SELECT pg_reload_conf()');
      await pg.query("SELECT pg_drop_replication_slot('e6')");
    }
  });

  it('a slot creation held up by a prepared transaction names it and how to resolve it', async () => {
    await pg.query('CREATE TABLE held (id int PRIMARY KEY, v text)');
    const c = await pg.client();
    await c.query("BEGIN; INSERT INTO held VALUES (1, 'x'); PREPARE TRANSACTION 'weir:other-job:sink-1:0:7'");
    await c.end();
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
    const t = makeTable(
      'src',
      COLS,
      { connector: 'postgres-cdc', 'heartbeat.interval.ms': '0', ...opts('held', 'e7', { 'changelog-mode': 'upsert', 'scan.startup.mode': 'latest-offset' }) },
      { primaryKey: ['id'] },
    );
    const r = postgresCdcConnector.createSource!(t, t.schema).createReader({ ...sourceContext(t.schema), log });
    process.env.WEIR_CDC_SLOT_WAIT_WARN_MS = '500';
    const assigned = r.assign([{ id: 'postgres-cdc:e7' }], []);
    try {
      for (let i = 0; i < 600 && warnings.length === 0; i++) await new Promise((res) => setTimeout(res, 100));
      expect(warnings[0]).toContain(
        "creating replication slot 'e7' waits for transactions to end: prepared transactions 'weir:other-job:sink-1:0:7' (database postgres) (restart the job that prepared them so it resolves them, or run ROLLBACK PREPARED '<gid>'",
      );
    } finally {
      delete process.env.WEIR_CDC_SLOT_WAIT_WARN_MS;
      await pg.query("ROLLBACK PREPARED 'weir:other-job:sink-1:0:7'");
      await assigned;
      await r.close();
    }
  });

  it('says wal_level must be logical', async () => {
    let other: TestPostgres | undefined;
    try {
      other = await startPostgres({ extraFlags: ['-c wal_level=replica'] });
      await other.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
      const e = await assignError(reader({ ...other.options(), 'table-name': 't', 'slot.name': 'w' }), 'w');
      expect(e.message).toMatch(/wal_level is 'replica', logical decoding needs 'logical': set wal_level = logical/);
    } finally {
      await other?.stop();
    }
  });
});
