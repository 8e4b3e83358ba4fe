import { afterAll, describe, expect, it } from 'vitest';
import { type } from '../../../src/model/types.js';
import { ROW_KIND_SHORT, rowAt } from '../../../src/model/changelog.js';
import type { SourceReader, SplitPosition } from '../../../src/runtime/source.js';
import { postgresCdcConnector } from '../../../connectors/postgres-cdc/index.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip, type TestPostgres } from '../../support/postgres.js';
import { makeTable, sourceContext } from '../table-helper.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const COLS = [
  ['id', type('INT', false)],
  ['grp', type('INT')],
  ['amount', type('DECIMAL', true, 12, 2)],
  ['note', type('STRING')],
] as const;

function cdcTable(pg: TestPostgres, table: string, slot: string, extra: Record<string, string> = {}) {
  return makeTable(
    'src',
    COLS,
    {
      connector: 'postgres-cdc',
      ...pg.options(),
      'table-name': table,
      'slot.name': slot,
      'publication.name': `pub_${slot}`,
      'heartbeat.interval.ms': '0',
      ...extra,
    },
    { primaryKey: ['id'] },
  );
}

function reader(pg: TestPostgres, table: string, slot: string, extra: Record<string, string> = {}): SourceReader {
  const t = cdcTable(pg, table, slot, extra);
  const source = postgresCdcConnector.createSource!(t, t.schema);
  return source.createReader(sourceContext(t.schema));
}

const SPLIT = (slot: string) => ({ id: `postgres-cdc:${slot}` });

/** Polls until `n` rows arrived (or 'end'), as '+I 1 ...' strings; `timeoutMs` is a hang guard. */
async function rows(r: SourceReader, n: number, timeoutMs = HANG_GUARD_MS): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const b = await r.poll();
    if (b === 'end') break;
    if (!b) {
      await new Promise((res) => setTimeout(res, 10));
      continue;
    }
    for (let i = 0; i < b.size; i++)
      out.push(
        `${ROW_KIND_SHORT[b.kinds[i]]} ${rowAt(b, i)
          .map((v) => (v === null ? 'null' : String(v)))
          .join(' ')}`,
      );
  }
  return out;
}

/** Polls until the reader's position passed `lsn` (snapshot done); the rows read, as rows() gives them. */
async function rowsUntil(r: SourceReader, lsn: bigint, guardMs = HANG_GUARD_MS): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + guardMs;
  for (;;) {
    const pos = r.positions()[0].position as { lsn: string; snapshot: { done: boolean } };
    if (pos.snapshot.done && lsnNum(pos.lsn) >= lsn) return out;
    if (Date.now() > deadline) throw new Error(`the reader did not pass ${lsn} (at ${pos.lsn}, ${out.length} rows read)`);
    const b = await r.poll();
    if (b === 'end') return out;
    if (!b) await new Promise((res) => setTimeout(res, 10));
    else
      for (let i = 0; i < b.size; i++)
        out.push(
          `${ROW_KIND_SHORT[b.kinds[i]]} ${rowAt(b, i)
            .map((v) => (v === null ? 'null' : String(v)))
            .join(' ')}`,
        );
  }
}

async function confirmedFlush(pg: TestPostgres, slot: string): Promise<string | null> {
  const r = await pg.query('SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return r[0]?.[0] ?? null;
}

const lsnNum = (s: string): bigint => {
  const [a, b] = s.split('/');
  return (BigInt(`0x${a}`) << 32n) | BigInt(`0x${b}`);
};

describe.skipIf(!server)('postgres-cdc reader', () => {
  const pg = server!;

  it('snapshots in chunks, then streams inserts, updates, key changes and deletes; acks only on checkpoint completion; restores exactly', async () => {
    await pg.query('CREATE TABLE t1 (id int PRIMARY KEY, grp int, amount numeric(12,2), note text)');
    await pg.query('ALTER TABLE t1 REPLICA IDENTITY FULL');
    await pg.query("INSERT INTO t1 SELECT g, g % 3, g * 1.5, 'n' || g FROM generate_series(1, 25) g");
    const r = reader(pg, 't1', 's1', { 'scan.incremental.snapshot.chunk.size': '10' });
    await r.assign([SPLIT('s1')], []);
    const snap = await rows(r, 25);
    expect(snap).toHaveLength(25);
    expect(snap[0]).toBe('+I 1 1 150 n1');
    expect(snap[24]).toBe('+I 25 1 3750 n25');
    const before = await confirmedFlush(pg, 's1');

    await pg.query("UPDATE t1 SET amount = 1.25, note = 'x' WHERE id = 2");
    await pg.query('UPDATE t1 SET id = 100 WHERE id = 3');
    await pg.query('DELETE FROM t1 WHERE id = 4');
    await pg.query('INSERT INTO t1 VALUES (26, 2, 0.01, NULL)');
    const changes = await rows(r, 6);
    expect(changes).toEqual(['-U 2 2 300 n2', '+U 2 2 125 x', '-D 3 0 450 n3', '+I 100 0 450 n3', '-D 4 1 600 n4', '+I 26 2 1 null']);
    // Not acknowledged before a checkpoint completes.
    expect(await confirmedFlush(pg, 's1')).toBe(before);
    const pos = r.positions();
    const lsn = (pos[0].position as { lsn: string }).lsn;
    await r.notifyCheckpointComplete(1);
    await pg.query("INSERT INTO t1 VALUES (27, 2, 2, 'after')");
    expect(await rows(r, 1)).toEqual(['+I 27 2 200 after']);
    const deadline = Date.now() + HANG_GUARD_MS;
    while (Date.now() < deadline && (await confirmedFlush(pg, 's1')) === before) await new Promise((res) => setTimeout(res, 50));
    const acked = await confirmedFlush(pg, 's1');
    expect(lsnNum(acked!)).toBe(lsnNum(lsn));
    await r.close();

    // Restore from the checkpoint: the insert of 27 comes again, nothing before it.
    await pg.query("INSERT INTO t1 VALUES (28, 2, 3, 'later')");
    const r2 = reader(pg, 't1', 's1');
    await r2.assign([SPLIT('s1')], pos as SplitPosition[]);
    expect(await rows(r2, 2)).toEqual(['+I 27 2 200 after', '+I 28 2 300 later']);
    // Nothing else comes: the next row is the one written last (not a wait for "nothing within n ms").
    await pg.query("INSERT INTO t1 VALUES (29, 2, 4, 'marker')");
    expect(await rows(r2, 1)).toEqual(['+I 29 2 400 marker']);
    await r2.close();
  });

  it('restores a snapshot interrupted after some chunks without losing or repeating changes', async () => {
    await pg.query('CREATE TABLE t2 (id int PRIMARY KEY, grp int, amount numeric(12,2), note text)');
    await pg.query('ALTER TABLE t2 REPLICA IDENTITY FULL');
    await pg.query("INSERT INTO t2 SELECT g, 0, g, 'a' FROM generate_series(1, 30) g");
    const r = reader(pg, 't2', 's2', { 'scan.incremental.snapshot.chunk.size': '10' });
    await r.assign([SPLIT('s2')], []);
    const first = await rows(r, 10);
    expect(first).toHaveLength(10);
    const pos = r.positions();
    await r.close();
    // Changes while the job is down: to a key already read (5), to keys not read yet (15, 25), a move across.
    await pg.query("UPDATE t2 SET note = 'b' WHERE id IN (5, 15)");
    await pg.query('DELETE FROM t2 WHERE id = 25');
    await pg.query('UPDATE t2 SET id = 40 WHERE id = 6');
    await pg.query('UPDATE t2 SET id = 6 WHERE id = 20');
    await pg.query('DELETE FROM t2 WHERE id = 9');
    await pg.query("INSERT INTO t2 VALUES (50, 0, 50, 'c')");
    // The read is complete once the reader's position passed this message (after every change),
    // not after a fixed time: the restored snapshot reads keys 11-50 before the stream delivers
    // the changes to keys 1-10.
    const [[end]] = await pg.query("SELECT pg_logical_emit_message(false, 'weir-test', 'end')::text");
    const r2 = reader(pg, 't2', 's2', { 'scan.incremental.snapshot.chunk.size': '10' });
    await r2.assign([SPLIT('s2')], pos as SplitPosition[]);
    const rest = await rowsUntil(r2, lsnNum(end!));
    await r2.close();
    // Fold the changelog into a table: it must equal PostgreSQL's table.
    const state = new Map<string, string>();
    for (const line of [...first, ...rest]) {
      const [kind, id, ...vals] = line.split(' ');
      if (kind === '+I' || kind === '+U') {
        expect(state.has(id), `duplicate ${line}`).toBe(false);
        state.set(id, vals.join(' '));
      } else {
        expect(state.get(id), `retracting ${line}`).toBe(vals.join(' '));
        state.delete(id);
      }
    }
    const expected = await pg.query("SELECT id::text, grp::text || ' ' || (amount * 100)::bigint::text || ' ' || note FROM t2");
    expect(new Map(expected.map(([k, v]) => [k!, v!]))).toEqual(state);
  });
});
