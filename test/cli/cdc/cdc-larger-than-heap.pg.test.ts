/**
 * Issue 14: `weir cdc` over a table whose captured rows do not fit in the weir process's heap,
 * with `state.backend.type = 'rocksdb'` (set with `--set`, as any configuration key). The
 * changelog-normalize step holds every captured row in keyed value state; with `rocksdb` that
 * state lives on disk behind a cache of bounded size, so the job completes the snapshot in a
 * small heap, then streams updates, deletes and inserts made after it, and the target ends up
 * equal to the source, every row (compared in SQL).
 *
 * Sizes, measured on this project's 2-core test machine (Node 20): a held row of this table (an
 * int key and a 64-character text) costs ~280 bytes of heap with `hashmap` (Map entry, the row's
 * array filled by push, the string), so ROWS rows need ~336 MB there: twice the 160 MiB old
 * generation the weir process gets (`--max-old-space-size`, the part of the heap that holds
 * long-lived data) and 1.5 times its whole 208 MiB heap limit (V8 adds the young generation).
 * With `rocksdb` the process peaked at ~100 MB live after a full GC: the cache (100,000 rows per
 * state), the incremental checkpoint's map of changed keys (no checkpoint completes while the
 * snapshot is read, so it ends up with an entry per row), rows in flight, and weir itself. That
 * map is why the old generation is not smaller: with 96 MiB, 700,000 rows ran out of heap.
 *
 * No `hashmap` contrast here: that job fails with HEAP_EXHAUSTED once live data after a full GC
 * passes 75% of the old generation (test/job/heap-watch.test.ts shows it for a join), after a
 * minute of snapshot that this test would only repeat. With `rocksdb` live data stays at ~100 MB,
 * under that 120 MiB mark.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHK_RE, METADATA_FILE } from '../../../src/checkpoint/layout.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { postgresOrSkip } from '../../support/postgres.js';
import { runWeir, spawnWeir, tempDir, type WeirRun } from '../../support/weir-process.js';

/** Rows of the source table: ~280 bytes each held in the heap with `hashmap` (see above). */
const ROWS = 1_200_000;
/** The weir process's old generation (MiB); V8 adds the young generation to its heap limit. */
const OLD_SPACE_MIB = 160;
/** A held row's heap cost with `hashmap`, as measured (see above). */
const HELD_ROW_BYTES = 280;
const NODE_OPTIONS = `--max-old-space-size=${OLD_SPACE_MIB}`;

const server = await postgresOrSkip();
afterAll(() => server?.stop());

/** Polls `pred` until it holds; fails at once when weir ends (exit code or signal, e.g. V8's abort). */
async function until(pred: () => Promise<boolean>, run: WeirRun, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) {
      throw new Error(`weir cdc ended (${run.child.exitCode ?? run.child.signalCode}) while waiting for ${what}: ${run.stderr().slice(-3000)}`);
    }
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}: ${run.stderr().slice(-3000)}`);
}

describe.skipIf(!server)('weir cdc on a table larger than the heap', () => {
  const pg = server!;

  it("state.backend.type 'rocksdb': the snapshot and the changes after it reach the target exactly, in a heap the held rows would overflow", async () => {
    const help = await runWeir(['run', '--help'], { env: { NODE_OPTIONS } });
    const heapLimitMib = Number(/this process's heap limit is ([\d,]+) MiB/.exec(help.stdout)![1].replaceAll(',', ''));
    // The held rows on `hashmap` would need twice the old generation, and more than the whole heap limit.
    expect(ROWS * HELD_ROW_BYTES).toBeGreaterThanOrEqual(2 * OLD_SPACE_MIB * 1024 * 1024);
    expect(ROWS * HELD_ROW_BYTES).toBeGreaterThan(1.5 * heapLimitMib * 1024 * 1024);

    await pg.createDatabase('big_src');
    await pg.createDatabase('big_dst');
    await pg.query('CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL)', [], 'big_src');
    await pg.query(`INSERT INTO big SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, ${ROWS}) g`, [], 'big_src');
    const dir = tempDir('cdc-big');
    const ck = join(dir, 'ck');
    const run = spawnWeir(
      [
        'cdc',
        '--source',
        `postgres://${pg.user}@${pg.host}:${pg.port}/big_src`,
        '--tables',
        'public.big',
        '--sink',
        `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/big_dst`,
        '--name',
        'big',
        '--checkpoint-interval',
        '2s',
        '--checkpoint-dir',
        ck,
        '--set',
        'state.backend.type=rocksdb',
        '--set',
        'execution.checkpointing.incremental=true',
        '-q',
      ],
      { cwd: dir, env: { PGPASSWORD: pg.password, NODE_OPTIONS } },
    );
    const count = async (db: string): Promise<number> => {
      try {
        return Number((await pg.query('SELECT count(*) FROM big', [], db))[0][0]);
      } catch {
        return -1; // the target table is not created yet
      }
    };
    /**
     * Every row, compared in SQL: per block of 10,000 ids, the row count and an md5 over the
     * block's rows in id order. Equal lists mean equal tables (up to an md5 collision).
     */
    const blocks = (db: string) =>
      pg.query("SELECT id / 10000, count(*), md5(string_agg(id || ':' || payload, ',' ORDER BY id)) FROM big GROUP BY 1 ORDER BY 1", [], db);
    const same = async (): Promise<boolean> =>
      (await count('big_dst')) === (await count('big_src')) && JSON.stringify(await blocks('big_dst')) === JSON.stringify(await blocks('big_src'));

    try {
      // The snapshot: every row visible in the target (the sink commits per checkpoint).
      await until(async () => (await count('big_dst')) === ROWS, run, `the snapshot's ${ROWS} rows in the target`);
      // Changes after it: updates of rows long evicted from the cache (read back from disk),
      // deletes, inserts, and a primary key moved.
      await pg.query("UPDATE big SET payload = 'u' || payload WHERE id % 17 = 0", [], 'big_src');
      await pg.query('DELETE FROM big WHERE id % 23 = 0', [], 'big_src');
      await pg.query(`INSERT INTO big SELECT g, 'new-' || g FROM generate_series(${ROWS + 1}, ${ROWS + 5000}) g`, [], 'big_src');
      await pg.query('UPDATE big SET id = -id WHERE id BETWEEN 1 AND 100', [], 'big_src');
      await until(same, run, 'the changes in the target');
    } finally {
      run.child.kill('SIGTERM');
    }
    const { code, signal } = await run.exit;
    expect({ code, signal, stderr: run.stderr().slice(-3000) }).toMatchObject({ code: 0, signal: null });
    expect(run.stderr()).not.toMatch(/FATAL ERROR|out of memory/);
    expect(await blocks('big_dst')).toEqual(await blocks('big_src'));
    const expected = ROWS + 5000 - Math.floor(ROWS / 23);
    expect(await count('big_dst')).toBe(expected);

    // The normalize step's checkpointed state holds every row (its final checkpoint, whole or a chain).
    const job = join(ck, 'big');
    const last = Math.max(...readdirSync(job).flatMap((n) => (CHK_RE.test(n) ? [Number(CHK_RE.exec(n)![1])] : [])));
    const meta = JSON.parse(readFileSync(join(job, `chk-${last}`, METADATA_FILE), 'utf8')) as {
      operators: Record<string, { name: string; subtasks: { sections?: [number, number, number, string, string?][] }[] }>;
    };
    const normalize = Object.values(meta.operators).find((o) => o.name === 'ChangelogNormalize')!;
    const keyedBytes = normalize.subtasks.flatMap((s) => s.sections ?? []).reduce((n, [g, , len]) => (g >= 0 ? n + len : n), 0);
    expect(keyedBytes).toBeGreaterThan(expected * 64);
  });
});
