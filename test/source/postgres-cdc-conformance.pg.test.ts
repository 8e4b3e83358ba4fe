/**
 * The source conformance suite against a real PostgreSQL server: postgres-cdc streaming (a
 * snapshot in chunks, then single-row transactions and transactions of thousands of changes, so
 * positions fall inside a snapshot and inside a transaction), and the bounded snapshot mode.
 * Changelogs are folded strictly; the fold of an uninterrupted read must equal the table.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { postgresCdcConnector } from '../../connectors/postgres-cdc/index.js';
import { type } from '../../src/model/types.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { makeTable } from '../connectors/table-helper.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { postgresOrSkip } from '../support/postgres.js';
import { runSourceConformance, type Row } from './conformance/source-suite.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const COLS = [
  ['id', type('INT', false)],
  ['grp', type('INT')],
  ['amount', type('DECIMAL', true, 12, 2)],
  ['note', type('STRING')],
] as const;
const INITIAL_ROWS = 700;
/** Changes in one transaction: more than a poll returns (4,096), so a batch ends inside it. */
const BIG_TXN = 6000;

beforeAll(async () => {
  if (!server) return;
  await server.query('CREATE TABLE conf_t (id int PRIMARY KEY, grp int, amount numeric(12,2), note text)');
  await server.query('ALTER TABLE conf_t REPLICA IDENTITY FULL');
  await server.query(
    `INSERT INTO conf_t SELECT g, g % 5, g * 1.25, CASE WHEN g % 9 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, ${INITIAL_ROWS}) g`,
  );
});

function table(job: string, extra: Record<string, string> = {}) {
  return makeTable(
    'src',
    COLS,
    {
      connector: 'postgres-cdc',
      ...server!.options(),
      'table-name': 'conf_t',
      'slot.name': job,
      'publication.name': 'pub_conformance',
      'heartbeat.interval.ms': '0',
      'scan.incremental.snapshot.chunk.size': '150',
      ...extra,
    },
    { primaryKey: ['id'] },
  );
}

let round = 0;
/**
 * The LSN of a logical message written after the current case's changes: the read is complete
 * once the reader's position passed it. (Not a row: a reader restored inside the snapshot reads
 * the last row in its snapshot, before the stream has delivered the changes to keys read earlier.)
 */
let endLsn = 0n;

const lsnOf = (s: string): bigint => {
  const [hi, lo] = s.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/**
 * One case's changes, made after the reader started: single-row updates, deletes and key moves, a
 * transaction inserting BIG_TXN rows with updates in it, one deleting them again, and a sentinel.
 */
async function makeChanges(): Promise<void> {
  const r = ++round;
  const base = 1_000_000 * r;
  const q = (sql: string) => server!.query(sql);
  await q(`UPDATE conf_t SET amount = amount + 1, note = 'u${r}' WHERE id IN (3, 4, 5)`);
  await q(`DELETE FROM conf_t WHERE id = ${10 + r}`);
  await q(`UPDATE conf_t SET id = ${base + 1} WHERE id = ${20 + r}`);
  await q(`INSERT INTO conf_t VALUES (${20 + r}, 1, 0.01, NULL)`);
  await q(
    `BEGIN; INSERT INTO conf_t SELECT ${base} + 10 + g, g % 3, g, 'big' || g FROM generate_series(1, ${BIG_TXN}) g;` +
      ` UPDATE conf_t SET grp = NULL WHERE id BETWEEN ${base + 11} AND ${base + 60}; UPDATE conf_t SET note = 'in-big' WHERE id BETWEEN 30 AND 40; COMMIT`,
  );
  await q(`UPDATE conf_t SET note = 'after-big-${r}' WHERE id = 6`);
  await q(`DELETE FROM conf_t WHERE id > ${base + 10} AND id <= ${base + 10 + BIG_TXN}`);
  await q(`INSERT INTO conf_t VALUES (${base + 999_999}, 0, 0, 'last')`);
  endLsn = lsnOf((await q("SELECT pg_logical_emit_message(false, 'weir-conformance', 'end')::text"))[0][0]!);
}

/** Every reader finished its snapshot and streamed past endLsn. */
function pastEnd(positions: readonly SplitPosition[]): boolean {
  return positions.every((p) => {
    const pos = p.position as { lsn: string; snapshot?: { done: boolean } };
    return pos.snapshot?.done !== false && lsnOf(pos.lsn) >= endLsn;
  });
}

/** The table as the fold of a read must give it: [id, grp, amount (unscaled), note] by id. */
async function tableRows(): Promise<Map<number, unknown[]>> {
  const rows = await server!.query('SELECT id, grp, (amount * 100)::bigint, note FROM conf_t');
  return new Map(
    rows.map(([id, grp, amount, note]) => [Number(id), [Number(id), grp === null ? null : Number(grp), amount === null ? null : BigInt(amount), note]]),
  );
}

function foldRows(rows: readonly Row[]): Map<number, unknown[]> {
  const held = new Map<number, unknown[]>();
  for (const [kind, ...values] of rows) {
    if (kind === '+I' || kind === '+U') held.set(values[0] as number, values);
    else held.delete(values[0] as number);
  }
  return held;
}

async function dropSlot(job: string): Promise<void> {
  // The reader's replication connection ends asynchronously after close(): wait until the slot is free.
  const deadline = Date.now() + HANG_GUARD_MS;
  for (;;) {
    const r = await server!.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [job]);
    if (r.length === 0) return;
    if (r[0][0] === 'f') {
      await server!.query('SELECT pg_drop_replication_slot($1)', [job]);
      return;
    }
    if (Date.now() > deadline) throw new Error(`replication slot ${job} stays active`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const insideTransaction = (p: SplitPosition): boolean => (p.position as { partial?: unknown }).partial !== undefined;
const insideSnapshot = (p: SplitPosition): boolean => {
  const snap = (p.position as { snapshot?: { done: boolean; tables: Record<string, { rows: number }> } }).snapshot;
  return snap !== undefined && !snap.done && Object.values(snap.tables).some((t) => t.rows > 0);
};

describe.skipIf(!server)('postgres-cdc source', () => {
  runSourceConformance('postgres-cdc (snapshot, then streaming)', {
    source: (job) => {
      const t = table(job);
      return postgresCdcConnector.createSource!(t, t.schema);
    },
    changelogKey: [0],
    afterAssign: makeChanges,
    complete: (_rows, positions) => pastEnd(positions),
    midUnit: insideTransaction,
    verify: async (rows) => expect(foldRows(rows)).toEqual(await tableRows()),
    release: dropSlot,
    restores: 4,
  });

  runSourceConformance('postgres-cdc (bounded snapshot)', {
    source: (job) => {
      const t = table(job, { 'scan.startup.mode': 'snapshot' });
      return postgresCdcConnector.createSource!(t, t.schema);
    },
    ordered: true,
    midUnit: insideSnapshot,
    verify: async (rows) => {
      expect(rows.every((r) => r[0] === '+I')).toBe(true);
      expect(foldRows(rows)).toEqual(await tableRows());
    },
  });
});
