/**
 * The exactly-once conformance suite every TwoPhaseCommitSink passes. A test file calls
 * `runTwoPhaseCommitConformance(name, makeSink, { upsert })`; `makeSink(dir)` builds a fresh sink
 * instance writing rows of CONFORMANCE_SCHEMA into a target under `dir` (the same dir gives the
 * same target and the same job/operator/subtask identity: a new instance there is a restarted
 * process), plus a way to read what is committed.
 *
 * A checkpoint completes as the runtime's sink operator completes it: commit() of the committable,
 * then the optional notifyCheckpointComplete(n) (a sink whose subtasks publish together, such as
 * PostgreSQL with staging tables, makes the rows visible only there).
 */
import { describe, expect, it } from 'vitest';
import type { Schema } from '../../../src/model/types.js';
import { type } from '../../../src/model/types.js';
import type { ChangeBatch } from '../../../src/model/changelog.js';
import { RowKind } from '../../../src/model/changelog.js';
import type { JsonValue } from '../../../src/runtime/operator.js';
import type { TwoPhaseCommitSink } from '../../../src/sink/two-phase-commit.js';
import { tempDir } from '../../support/temp-dirs.js';

/** id is the primary key of upsert targets. */
export const CONFORMANCE_SCHEMA: Schema = {
  fields: [
    { name: 'id', type: type('BIGINT', false) },
    { name: 'name', type: type('STRING') },
    { name: 'amount', type: type('DECIMAL', true, 10, 2) },
    { name: 'ts', type: type('TIMESTAMP', true, 3) },
  ],
};

export interface ConformanceTarget {
  readonly sink: TwoPhaseCommitSink;
  /** Committed rows in weir's representation (columns of CONFORMANCE_SCHEMA), any order. */
  readCommitted(): Promise<unknown[][]>;
  /** Staged (pre-committed, not committed) rows or files of this writer, when it can tell. */
  countStaged?(): Promise<number>;
  /** Releases what readCommitted holds (the sink itself is closed by the suite). */
  dispose?(): Promise<void>;
  /**
   * The planned sink's `acceptsUpdates`: when given, the suite checks it against the `upsert`
   * option, so an upsert sink cannot silently skip the upsert cases.
   */
  readonly acceptsUpdates?: boolean;
}

export interface ConformanceOptions {
  /** The target has primary key (id): -U/-D rows are accepted and updates replace rows. */
  readonly upsert?: boolean;
}

export type MakeSink = (dir: string) => ConformanceTarget | Promise<ConformanceTarget>;

const BASE_TS = Date.UTC(2024, 0, 1, 10, 0, 0);

/** Row `id` with a version, so an updated row differs from the original. */
export function row(id: number, version = 0): unknown[] {
  return [id, id % 7 === 3 ? null : `name-${id}-v${version}`, BigInt(id * 100 + version) * (id % 2 === 0 ? 1n : -1n), BASE_TS + id * 1001 + version];
}

function batchOf(rows: unknown[][], kinds?: number[]): ChangeBatch {
  const columns = CONFORMANCE_SCHEMA.fields.map((_, c) => rows.map((r) => r[c]));
  return { size: rows.length, kinds: Uint8Array.from(kinds ?? rows.map(() => RowKind.INSERT)), columns };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const rowsOf = (ids: number[], version = 0): unknown[][] => ids.map((id) => row(id, version));
const sorted = (rows: unknown[][]): unknown[][] => [...rows].sort((a, b) => (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1])));

async function started(make: MakeSink, dir: string, restored: JsonValue[] = [], restoredId = 0, upsert = false): Promise<ConformanceTarget> {
  const t = await make(dir);
  if (t.acceptsUpdates !== undefined) expect(t.acceptsUpdates, 'the upsert option must match the sink').toBe(upsert);
  await t.sink.open();
  await t.sink.recover(restored, restoredId);
  return t;
}

/** begin(n), one write per batch, preCommit: the committable. */
async function checkpoint(sink: TwoPhaseCommitSink, n: number, ...batches: ChangeBatch[]): Promise<JsonValue> {
  const txn = await sink.begin(n);
  for (const b of batches) await sink.write(txn, b);
  return sink.preCommit(txn);
}

/** Checkpoint n is complete: commit its committable, then tell the sink (as the runtime does). */
async function complete(sink: TwoPhaseCommitSink, n: number, c: JsonValue): Promise<void> {
  await sink.commit(c);
  await sink.notifyCheckpointComplete?.(n);
}

async function stop(t: ConformanceTarget): Promise<void> {
  await t.sink.close();
  await t.dispose?.();
}

export function runTwoPhaseCommitConformance(name: string, makeSink: MakeSink, options: ConformanceOptions = {}): void {
  const newDir = (): string => tempDir('2pc');
  const upsert = options.upsert === true;
  const start = (dir: string, restored: JsonValue[] = [], restoredId = 0) => started(makeSink, dir, restored, restoredId, upsert);

  describe(`two-phase commit conformance: ${name}`, () => {
    it('makes nothing visible before commit, and exactly the checkpoint rows after it', async () => {
      const t = await start(newDir());
      try {
        const c1 = await checkpoint(t.sink, 1, batchOf(rowsOf(range(0, 1500))), batchOf(rowsOf(range(1500, 3000))));
        expect(await t.readCommitted()).toEqual([]);
        // Rows of the next checkpoint are written while c1 waits for its completion.
        const txn2 = await t.sink.begin(2);
        await t.sink.write(txn2, batchOf(rowsOf(range(3000, 3010))));
        await complete(t.sink, 1, c1);
        expect(sorted(await t.readCommitted())).toEqual(rowsOf(range(0, 3000)));
        const c2 = await t.sink.preCommit(txn2);
        expect(sorted(await t.readCommitted())).toEqual(rowsOf(range(0, 3000)));
        await complete(t.sink, 2, c2);
        expect(sorted(await t.readCommitted())).toEqual(rowsOf(range(0, 3010)));
      } finally {
        await stop(t);
      }
    });

    it('round-trips values exactly (nulls, negative decimals, millisecond timestamps)', async () => {
      const t = await start(newDir());
      try {
        const rows = [
          [1, 'ünïcödé, "quoted"\nline', -12345678n, BASE_TS + 123],
          [2, null, null, null],
          [3, '', 0n, 0],
        ];
        await complete(t.sink, 1, await checkpoint(t.sink, 1, batchOf(rows)));
        expect(sorted(await t.readCommitted())).toEqual(rows);
      } finally {
        await stop(t);
      }
    });

    it('commits idempotently: a second commit, also from a new instance, changes nothing', async () => {
      const dir = newDir();
      const t = await start(dir);
      let c1: JsonValue;
      try {
        c1 = await checkpoint(t.sink, 1, batchOf(rowsOf(range(0, 10))));
        await complete(t.sink, 1, c1);
        await complete(t.sink, 1, c1);
        expect(sorted(await t.readCommitted())).toEqual(rowsOf(range(0, 10)));
      } finally {
        await stop(t);
      }
      const t2 = await start(dir, [c1], 1);
      try {
        await complete(t2.sink, 1, c1);
        expect(sorted(await t2.readCommitted())).toEqual(rowsOf(range(0, 10)));
      } finally {
        await stop(t2);
      }
    });

    it('an empty checkpoint commits nothing and fails nothing', async () => {
      const t = await start(newDir());
      try {
        const c1 = await checkpoint(t.sink, 1);
        await complete(t.sink, 1, c1);
        expect(await t.readCommitted()).toEqual([]);
        await complete(t.sink, 2, await checkpoint(t.sink, 2, batchOf([])));
        expect(await t.readCommitted()).toEqual([]);
      } finally {
        await stop(t);
      }
    });

    it('abort discards a pre-committed checkpoint', async () => {
      const t = await start(newDir());
      try {
        const c1 = await checkpoint(t.sink, 1, batchOf(rowsOf(range(0, 5))));
        await t.sink.abort(c1);
        const c2 = await checkpoint(t.sink, 2, batchOf(rowsOf(range(5, 8))));
        await complete(t.sink, 2, c2);
        expect(sorted(await t.readCommitted())).toEqual(rowsOf(range(5, 8)));
        if (t.countStaged) expect(await t.countStaged()).toBe(0);
      } finally {
        await stop(t);
      }
    });

    it('recover() after a crash commits the restored checkpoint exactly once and drops newer staged data', async () => {
      const dir = newDir();
      const a = await start(dir);
      const c1 = await checkpoint(a.sink, 1, batchOf(rowsOf(range(0, 100))));
      await complete(a.sink, 1, c1);
      // Checkpoint 2 completes, but the process dies before commit(2) ...
      const c2 = await checkpoint(a.sink, 2, batchOf(rowsOf(range(100, 200))));
      // ... after checkpoint 3 had pre-committed (3 never completed).
      await checkpoint(a.sink, 3, batchOf(rowsOf(range(200, 300))));
      expect(sorted(await a.readCommitted())).toEqual(rowsOf(range(0, 100)));
      await stop(a);

      const b = await start(dir, [c2], 2);
      try {
        expect(sorted(await b.readCommitted())).toEqual(rowsOf(range(0, 200)));
        if (b.countStaged) expect(await b.countStaged()).toBe(0);
        const c3 = await checkpoint(b.sink, 3, batchOf(rowsOf(range(300, 310))));
        await complete(b.sink, 3, c3);
        expect(sorted(await b.readCommitted())).toEqual([...rowsOf(range(0, 200)), ...rowsOf(range(300, 310))]);
      } finally {
        await stop(b);
      }

      // A second restore from the same checkpoint (a crash during recovery) adds nothing twice.
      const c = await start(dir, [c2], 2);
      try {
        expect(sorted(await c.readCommitted())).toEqual([...rowsOf(range(0, 200)), ...rowsOf(range(300, 310))]);
      } finally {
        await stop(c);
      }
    });

    it('recover([]) on a fresh start drops leftovers of an earlier run', async () => {
      const dir = newDir();
      const a = await start(dir);
      await checkpoint(a.sink, 1, batchOf(rowsOf(range(0, 10))));
      await stop(a);
      const b = await start(dir, [], 0);
      try {
        if (b.countStaged) expect(await b.countStaged()).toBe(0);
        await complete(b.sink, 1, await checkpoint(b.sink, 1, batchOf(rowsOf(range(50, 52)))));
        expect(sorted(await b.readCommitted())).toEqual(rowsOf(range(50, 52)));
      } finally {
        await stop(b);
      }
    });

    if (!options.upsert) return;

    it('upsert: the last change of a key wins, within and across checkpoints', async () => {
      const t = await start(newDir());
      const { INSERT: I, UPDATE_BEFORE: UB, UPDATE_AFTER: UA, DELETE: D } = RowKind;
      try {
        const c1 = await checkpoint(t.sink, 1, batchOf([row(1), row(2), row(3), row(1), row(1, 1)], [I, I, I, UB, UA]), batchOf([row(2), row(4)], [D, I]));
        await complete(t.sink, 1, c1);
        expect(sorted(await t.readCommitted())).toEqual([row(1, 1), row(3), row(4)]);
        const c2 = await checkpoint(
          t.sink,
          2,
          batchOf([row(1, 1), row(1, 2), row(3), row(2, 5), row(4), row(4, 9)], [UB, UA, D, I, D, I]),
          batchOf([row(2, 5), row(2, 6)], [UB, UA]),
        );
        expect(sorted(await t.readCommitted())).toEqual([row(1, 1), row(3), row(4)]);
        await complete(t.sink, 2, c2);
        await complete(t.sink, 2, c2);
        expect(sorted(await t.readCommitted())).toEqual([row(1, 2), row(2, 6), row(4, 9)]);
      } finally {
        await stop(t);
      }
    });

    it('upsert: a delete removes the row, and a delete of an unknown key is harmless', async () => {
      const t = await start(newDir());
      try {
        await complete(t.sink, 1, await checkpoint(t.sink, 1, batchOf(rowsOf(range(0, 5)))));
        await complete(t.sink, 2, await checkpoint(t.sink, 2, batchOf([row(2), row(99)], [RowKind.DELETE, RowKind.DELETE])));
        expect(sorted(await t.readCommitted())).toEqual(rowsOf([0, 1, 3, 4]));
      } finally {
        await stop(t);
      }
    });
  });
}
