import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setPgStagingMode, type StagingMode } from '../../../connectors/postgres/index.js';
import { jobGidPrefix } from '../../../connectors/postgres/gid.js';
import { type } from '../../../src/model/types.js';
import { RowKind } from '../../../src/model/changelog.js';
import type { JsonValue } from '../../../src/runtime/operator.js';
import type { TwoPhaseCommitSink } from '../../../src/sink/two-phase-commit.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { batch, checkpoint, pgWriter, preparedGids, started, type WriterSpec } from './pg-test-helpers.js';

/**
 * Parallel subtasks of one PostgreSQL sink: their prepared transactions stage rows, and one
 * transaction per checkpoint makes all subtasks' rows visible together.
 */
const server = await postgresOrSkip();
afterAll(() => server?.stop());

const { INSERT: I, DELETE: D } = RowKind;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.skipIf(!server)('postgres sink, parallelism > 1', () => {
  const pg = server!;
  const opts = (table: string, extra: Record<string, string> = {}) => ({ ...pg.options(), 'table-name': table, 'sink.create-table': 'true', ...extra });
  const COLS = [
    ['id', type('BIGINT', false)],
    ['v', type('INT')],
  ] as const;

  beforeAll(async () => {
    await pg.query('CREATE SCHEMA st');
  });
  afterEach(() => {
    setPgStagingMode('auto');
  });

  /** The subtasks of one sink operator, opened and recovered together as the runtime does. */
  async function sinkOperator(
    spec: Omit<WriterSpec, 'subtask' | 'parallelism'>,
    p: number,
    restored: JsonValue[][] = [],
    restoredId = 0,
  ): Promise<TwoPhaseCommitSink[]> {
    const writers = range(p).map((s) => pgWriter({ ...spec, subtask: s, parallelism: p }));
    return Promise.all(writers.map((w, s) => started(w, restored[s] ?? [], restoredId)));
  }

  /**
   * Checkpoint n completes: each subtask commits, then is notified (as its mailbox runs them);
   * `between` runs after each subtask, where another subtask's commit may not have happened yet.
   */
  async function complete(sinks: TwoPhaseCommitSink[], committables: JsonValue[], n: number, between?: () => Promise<void>): Promise<void> {
    for (let s = 0; s < sinks.length; s++) {
      await sinks[s].commit(committables[s]);
      await sinks[s].notifyCheckpointComplete?.(n);
      await between?.();
    }
  }

  /** Staging tables left in schema st (each holds one subtask's committed, not yet applied share). */
  async function stagingTables(): Promise<number> {
    const [[n]] = await pg.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'st' AND tablename LIKE '\\_weir\\_stage\\_%'");
    return Number(n);
  }

  async function jobGids(job: string): Promise<string[]> {
    const prefix = jobGidPrefix(job);
    return (await preparedGids(pg)).filter((g) => g.startsWith(prefix));
  }

  /**
   * Three subtasks write 6 checkpoints into an append table (each checkpoint 3 x PER rows with
   * v = n) and an upsert table (every key gets v = n, except the keys deleted in checkpoint n).
   * A reader looks at both tables after every subtask's commit (the moments a partial checkpoint
   * could show, deterministically), and another one polls them all along (which may catch a
   * moment inside a commit). Returns what they saw.
   */
  async function pollWhileWriting(name: string, mode: StagingMode) {
    setPgStagingMode(mode);
    const P = 3;
    const PER = 300;
    const KEYS = 210;
    const deletedIn = (k: number, n: number) => k % 7 === n % 7;
    const flush = { 'sink.buffer-flush.max-rows': '100' };
    const append = await sinkOperator({ columns: COLS, options: opts(`st.${name}_a`, flush), job: `${name}-a` }, P);
    const upsert = await sinkOperator({ columns: COLS, primaryKey: ['id'], options: opts(`st.${name}_u`, flush), job: `${name}-u` }, P);
    type Seen = { count: number; sum: number; keys: number; lo: number; hi: number };
    const look = async (c: Awaited<ReturnType<typeof pg.client>>): Promise<Seen> => {
      const r = await c.query({
        text: `SELECT (SELECT count(*) FROM st.${name}_a), (SELECT coalesce(sum(v), 0) FROM st.${name}_a),
                      (SELECT count(*) FROM st.${name}_u), (SELECT coalesce(min(v), 0) FROM st.${name}_u), (SELECT coalesce(max(v), 0) FROM st.${name}_u)`,
        rowMode: 'array',
      });
      const [count, sum, keys, lo, hi] = (r.rows[0] as string[]).map(Number);
      return { count, sum, keys, lo, hi };
    };
    const seen: Seen[] = [];
    const polled: Seen[] = [];
    let stop = false;
    const client = await pg.client();
    const pollClient = await pg.client();
    const observe = async () => void seen.push(await look(client));
    const poller = (async () => {
      while (!stop) polled.push(await look(pollClient));
    })();
    try {
      for (let n = 1; n <= 6; n++) {
        const ta = await Promise.all(append.map((w) => w.begin(n)));
        const tu = await Promise.all(upsert.map((w) => w.begin(n)));
        for (let s = 0; s < P; s++) {
          const ids = range(PER).map((i) => ((n - 1) * P + s) * PER + i);
          for (let off = 0; off < PER; off += 100) await append[s].write(ta[s], batch(ids.slice(off, off + 100).map((id) => [id, n])));
          const keys = range(KEYS).filter((k) => k % P === s);
          await upsert[s].write(
            tu[s],
            batch(
              keys.map((k) => [k, n]),
              keys.map((k) => (deletedIn(k, n) ? D : I)),
            ),
          );
        }
        const ca = await Promise.all(append.map((w, s) => w.preCommit(ta[s])));
        const cu = await Promise.all(upsert.map((w, s) => w.preCommit(tu[s])));
        await complete(append, ca, n, observe);
        await complete(upsert, cu, n, observe);
      }
    } finally {
      stop = true;
      await poller;
      await client.end();
      await pollClient.end();
      await Promise.all([...append, ...upsert].map((w) => w.close()));
    }
    const whole = (x: (typeof seen)[number]) => {
      const m = x.count / (P * PER);
      const appendWhole = Number.isInteger(m) && x.sum === (P * PER * m * (m + 1)) / 2;
      const upsertWhole = x.keys === 0 || (x.lo === x.hi && x.keys === range(KEYS).filter((k) => !deletedIn(k, x.hi)).length);
      return appendWhole && upsertWhole;
    };
    return { seen, partial: seen.filter((x) => !whole(x)), polledPartial: polled.filter((x) => !whole(x)), final: seen.at(-1)!, P, PER, KEYS };
  }

  it('a reader polling during the run never sees part of a checkpoint at parallelism 3', async () => {
    const { seen, partial, polledPartial, P, PER } = await pollWhileWriting('poll', 'auto');
    expect(partial).toEqual([]);
    expect(polledPartial).toEqual([]);
    // Observed after each of the 6 checkpoints (and between their subtasks' commits).
    expect(new Set(seen.map((x) => x.count))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6].map((n) => n * P * PER)));
    const [[count, sum]] = await pg.query('SELECT count(*), sum(v) FROM st.poll_a');
    expect([Number(count), Number(sum)]).toEqual([6 * P * PER, (P * PER * 6 * 7) / 2]);
    expect(await pg.query('SELECT count(*), min(v), max(v) FROM st.poll_u')).toEqual([['180', '6', '6']]);
    expect(await stagingTables()).toBe(0);
    expect(await jobGids('poll-a')).toEqual([]);
    // One applied marker per checkpoint replaced the subtasks' markers; its rows are what became visible.
    expect(await pg.query("SELECT count(*), sum(rows), min(subtask) FROM st._weir_commits WHERE job = 'poll-a'")).toEqual([['6', String(6 * P * PER), '-1']]);
  }, 600_000);

  it('the same reader does see partial checkpoints when each subtask commits on its own (staging off)', async () => {
    const { partial } = await pollWhileWriting('unstaged', 'never');
    expect(partial.length).toBeGreaterThan(0);
  }, 600_000);

  /**
   * Checkpoints 1-2 complete; 3 completes but the process dies after two of the three subtasks
   * committed (before the apply); 4 is prepared by all (newer than the restored checkpoint).
   * Each subtask writes every key of its share twice in a checkpoint (in different flushes), so
   * staged rows must be applied in order.
   */
  async function crashAtParallelism3(table: string, job: string, upsert: boolean) {
    const spec = { columns: COLS, primaryKey: upsert ? ['id'] : [], options: opts(`st.${table}`, { 'sink.buffer-flush.max-rows': '7' }), job, uid: 'sink-r' };
    const model = new Map<number, number>();
    const appended: [number, number][] = [];
    const write = async (sinks: TwoPhaseCommitSink[], n: number, apply: boolean): Promise<JsonValue[]> =>
      Promise.all(
        sinks.map(async (w, s) => {
          const txn = await w.begin(n);
          if (upsert) {
            const keys = range(60).filter((k) => k % sinks.length === s);
            await w.write(txn, batch(keys.map((k) => [k, -n])));
            const kinds = keys.map((k) => ((k + n) % 5 === 0 ? D : I));
            await w.write(
              txn,
              batch(
                keys.map((k) => [k, n]),
                kinds,
              ),
            );
            if (apply) keys.forEach((k, i) => (kinds[i] === D ? model.delete(k) : model.set(k, n)));
          } else {
            const rows = range(20).map((i) => [n * 1000 + s * 100 + i, n] as [number, number]);
            await w.write(txn, batch(rows));
            if (apply) appended.push(...rows);
          }
          return w.preCommit(txn);
        }),
      );
    const old = await sinkOperator(spec, 3);
    for (const n of [1, 2]) await complete(old, await write(old, n, true), n);
    const c3 = await write(old, 3, true);
    await old[0].commit(c3[0]);
    await old[1].commit(c3[1]);
    await write(old, 4, false);
    await Promise.all(old.map((w) => w.close()));
    const expected = () => (upsert ? [...model.entries()] : appended).map(([id, v]) => [String(id), String(v)]).sort((a, b) => Number(a[0]) - Number(b[0]));
    return { spec, c3, write, expected };
  }

  it.each([1, 2])(
    'restoring a parallelism-3 checkpoint at parallelism %i gives the exact result (append and upsert)',
    async (p) => {
      for (const upsert of [false, true]) {
        const table = `restore_${p}_${upsert ? 'u' : 'a'}`;
        const job = `restore-${p}-${upsert}`;
        const { spec, c3, write, expected } = await crashAtParallelism3(table, job, upsert);
        expect(await jobGids(job)).toHaveLength(4);
        // Old subtask j's committables go to new subtask j % p (as the runtime's restore plan does).
        const restored = range(p).map((s) => c3.filter((_, j) => j % p === s));
        const again = await sinkOperator(spec, p, restored, 3);
        const read = () => pg.query(`SELECT id, v FROM st.${table} ORDER BY id`);
        expect(await read()).toEqual(expected());
        expect(await jobGids(job)).toEqual([]);
        expect(await stagingTables()).toBe(0);
        // The run goes on at its parallelism.
        await complete(again, await write(again, 5, true), 5);
        expect(await read()).toEqual(expected());
        await Promise.all(again.map((w) => w.close()));
        // Recovering once more from checkpoint 3 changes nothing that checkpoint 3 covered.
        const twice = await sinkOperator(spec, p, restored, 5);
        await Promise.all(twice.map((w) => w.close()));
        expect(await read()).toEqual(expected());
      }
    },
    600_000,
  );

  it('a fresh start discards what an earlier parallel run staged but did not apply, so no checkpoint shows in part', async () => {
    const { spec } = await crashAtParallelism3('fresh_u', 'fresh-u', true);
    const before = await pg.query('SELECT id, v FROM st.fresh_u ORDER BY id');
    expect(await stagingTables()).toBe(2);
    const again = await sinkOperator(spec, 1, [], 0);
    // Checkpoint 3 was committed by two of three subtasks: none of it shows.
    expect(await pg.query('SELECT id, v FROM st.fresh_u ORDER BY id')).toEqual(before);
    expect(before.every((r) => Number(r[1]) <= 2)).toBe(true);
    expect(await stagingTables()).toBe(0);
    expect(await jobGids('fresh-u')).toEqual([]);
    await Promise.all(again.map((w) => w.close()));
  }, 600_000);

  it("prepared transactions of a sink operator no longer in the job are rolled back at start, with an info log; other jobs' and live sinks' are kept", async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write: (chunk, _, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const spec = (job: string, uid: string) => ({ columns: COLS, options: opts('st.removed'), job, uid });
    /** One run of `job` with these sinks, each leaving a prepared transaction behind (a crash). */
    const crashedRun = async (job: string, uids: string[]) => {
      const writers = uids.map((uid) => pgWriter(spec(job, uid)));
      const sinks = await Promise.all(writers.map((w) => started(w)));
      const gids = await Promise.all(sinks.map(async (w) => ((await checkpoint(w, 7, batch([[1, 1]]))) as { gid: string }).gid));
      await Promise.all(sinks.map((w) => w.close()));
      return gids;
    };
    const [removed, live] = await crashedRun('removed', ['old-sink', 'kept-sink']);
    const [otherJob] = await crashedRun('removed-2', ['old-sink']);
    expect(await preparedGids(pg)).toEqual([removed, live, otherJob].sort());
    // The job's new run has two sinks: both writers exist before either opens.
    const kept = pgWriter(spec('removed', 'kept-sink'));
    const added = pgWriter({ ...spec('removed', 'new-sink'), log });
    await added.writer.open();
    expect(await preparedGids(pg)).toEqual([live, otherJob].sort());
    expect(lines.join('')).toContain(removed);
    expect(JSON.parse(lines.find((l) => l.includes(removed))!).level).toBe(30);
    await added.writer.close();
    await kept.writer.close();
    for (const gid of [live, otherJob]) await pg.query(`ROLLBACK PREPARED '${gid}'`);
    expect(await pg.query('SELECT count(*) FROM st.removed')).toEqual([['0']]);
  });
});
