/**
 * The conformance suite every source connector passes (src/runtime/source.ts: SourceReader). A
 * test file calls `runSourceConformance(name, fixture)`; the fixture builds a Source over data it
 * prepared. The suite drives readers as the runtime does — splits j to subtask j % p, one poll at
 * a time, positions() captured between polls as a barrier would, positions serialized to JSON as
 * a checkpoint stores them — and checks:
 *
 * - positions restore exactly: a reader restored from positions captured at any point of an
 *   uninterrupted read (after which the first reader read on, then "crashed") yields exactly the
 *   rest: the rows before the capture plus the restored reader's rows equal the uninterrupted
 *   read, nothing twice, nothing lost;
 * - a position captured inside a unit the reader had fetched or started (a Kafka fetch, a file, a
 *   PostgreSQL transaction) restores as exactly as one between units;
 * - positions captured by a restored reader restore exactly too;
 * - a bounded source ends, stays ended, and a reader restored at its end reads nothing.
 *
 * Row comparison: as a multiset of rows with their kinds (`ordered` fixtures: as a sequence), or
 * for changelog sources (`changelogKey`) by folding the changelog per key strictly (+I only for an
 * absent key, -U/-D exactly the held row), which fails on any replayed or missing change.
 */
import { describe, expect, it } from 'vitest';
import { ROW_KIND_SHORT, rowAt } from '../../../src/model/changelog.js';
import type { Source, SourceReader, SplitPosition } from '../../../src/runtime/source.js';
import { sourceContext } from '../../connectors/table-helper.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';

/** A row as `[kind, ...values]` (kind '+I', '-U', '+U', '-D', or 'TRUNCATE' for a truncate marker). */
export type Row = unknown[];

export interface SourceFixture {
  /**
   * A Source over the test data for the job `job`: the same job again is a restarted job (for
   * postgres-cdc the same replication slot), another job a new one.
   */
  source(job: string): Source | Promise<Source>;
  /** Subtasks reading the splits (default 1). */
  readonly parallelism?: number;
  /** Changelog sources: the key columns (indexes into the values, kind excluded) to fold by. */
  readonly changelogKey?: readonly number[];
  /** The uninterrupted read's order is deterministic: compare sequences, not just multisets. */
  readonly ordered?: boolean;
  /**
   * Called once the first reader of a case was assigned: a source that reads changes made after
   * it started (postgres-cdc) gets them here. Returns nothing the suite uses.
   */
  afterAssign?(): Promise<void>;
  /**
   * Unbounded sources: the read is complete, judged from the rows read (with those before a
   * restore) and the readers' current positions (e.g. past the end of what afterAssign wrote).
   */
  complete?(rows: readonly Row[], positions: readonly SplitPosition[]): boolean;
  /** A split position lying inside a unit the reader fetched or began (mid-file, mid-fetch, mid-transaction). */
  midUnit?(position: SplitPosition): boolean;
  /** Checks the uninterrupted read against what the fixture wrote (so the suite does not trust the reader alone). */
  verify?(rows: readonly Row[]): void | Promise<void>;
  /** Releases what the job holds outside (e.g. drops its replication slot). */
  release?(job: string): Promise<void>;
  /** Restores tried per case (default 6): each reads the rest of the data again. */
  readonly restores?: number;
}

let jobSeq = 0;

interface Readers {
  readonly source: Source;
  readonly readers: SourceReader[];
  readonly ended: boolean[];
}

/** One capture: positions of every subtask after `rows` rows were read (a checkpoint's sources entry). */
interface Capture {
  readonly rows: number;
  readonly positions: SplitPosition[];
}

async function start(fixture: SourceFixture, job: string, restored: SplitPosition[] = []): Promise<Readers> {
  const p = fixture.parallelism ?? 1;
  const source = await fixture.source(job);
  const splits = await source.enumerate(p, restored);
  const readers: SourceReader[] = [];
  for (let i = 0; i < p; i++) {
    const mine = splits.filter((_, j) => j % p === i);
    const ids = new Set(mine.map((s) => s.id));
    const r = source.createReader({ ...sourceContext({ fields: [] }, {}, i, p), jobName: job });
    await r.assign(
      mine,
      restored.filter((x) => ids.has(x.split.id)),
    );
    readers.push(r);
  }
  return { source, readers, ended: readers.map(() => false) };
}

/** Positions of every subtask, through JSON as a checkpoint's metadata stores them. */
function capture(rs: Readers, rows: number): Capture {
  return { rows, positions: JSON.parse(JSON.stringify(rs.readers.flatMap((r) => r.positions()))) as SplitPosition[] };
}

function append(out: Row[], b: NonNullable<Awaited<ReturnType<SourceReader['poll']>>>): number {
  if (b === 'end') return 0;
  if (b.truncate !== undefined) {
    out.push(['TRUNCATE', ...b.truncate.tables]);
    return 1;
  }
  for (let i = 0; i < b.size; i++) out.push([ROW_KIND_SHORT[b.kinds[i]], ...rowAt(b, i)]);
  return b.size;
}

/**
 * Reads in rounds (one poll per unfinished subtask, as the runtime interleaves subtasks) until
 * every subtask ended (bounded) or `complete` holds, calling `onRound` after each round that read
 * something. `before` are rows read before (by the reader this one was restored from).
 */
async function readRounds(
  rs: Readers,
  fixture: SourceFixture,
  out: Row[],
  before: readonly Row[],
  onRound?: (rowsSoFar: number) => Promise<boolean | void> | boolean | void,
): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  for (;;) {
    if (rs.ended.every(Boolean)) return;
    if (
      !rs.source.bounded &&
      fixture.complete?.(
        [...before, ...out],
        rs.readers.flatMap((r) => r.positions()),
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`source read did not finish within the hang guard (${out.length} rows read)`);
    let read = 0;
    for (let i = 0; i < rs.readers.length; i++) {
      if (rs.ended[i]) continue;
      const b = await rs.readers[i].poll();
      if (b === 'end') rs.ended[i] = true;
      else if (b !== undefined) read += append(out, b);
    }
    if (read > 0 && (await onRound?.(out.length)) === true) return;
    // An idle source (nothing fetched yet) is polled again after a short pause.
    if (read === 0 && !rs.ended.every(Boolean)) await new Promise((r) => setTimeout(r, 5));
  }
}

async function closeAll(rs: Readers): Promise<void> {
  for (const r of rs.readers) await r.close();
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `0x${Buffer.from(x).toString('hex')}` : x));
}

/** Folds a changelog strictly; throws on a change that does not apply (a replay or a gap). */
function fold(rows: readonly Row[], key: readonly number[]): Map<string, string> {
  const state = new Map<string, string>();
  rows.forEach((r, i) => {
    const [kind, ...values] = r;
    const k = canonical(key.map((c) => values[c]));
    const v = canonical(values);
    if (kind === '+I' || kind === '+U') {
      if (state.has(k)) throw new Error(`row ${i}: ${kind} ${v} for a key already present (held ${state.get(k)}): a change read twice`);
      state.set(k, v);
    } else if (kind === '-U' || kind === '-D') {
      if (state.get(k) !== v) throw new Error(`row ${i}: ${kind} ${v} retracts ${state.get(k) ?? 'nothing'}: a change read twice or lost`);
      state.delete(k);
    } else throw new Error(`row ${i}: unexpected ${String(kind)}`);
  });
  return state;
}

function expectSameRead(fixture: SourceFixture, actual: readonly Row[], expected: readonly Row[], what: string): void {
  if (fixture.changelogKey !== undefined) {
    const got = fold(actual, fixture.changelogKey);
    const want = fold(expected, fixture.changelogKey);
    const diff = [...new Set([...got.keys(), ...want.keys()])].filter((k) => got.get(k) !== want.get(k));
    expect(
      diff.map((k) => `key ${k}: ${got.get(k) ?? 'absent'} instead of ${want.get(k) ?? 'absent'}`),
      what,
    ).toEqual([]);
    return;
  }
  const a = actual.map(canonical);
  const e = expected.map(canonical);
  if (fixture.ordered) {
    expect(a.length, `${what}: row count`).toBe(e.length);
    const at = a.findIndex((x, i) => x !== e[i]);
    expect(at, `${what}: first difference at row ${at}: ${a[at]} instead of ${e[at]}`).toBe(-1);
  } else {
    expect(a.length, `${what}: row count`).toBe(e.length);
    expect(a.sort(), what).toEqual(e.sort());
  }
}

/** Picks up to n captures, spread evenly, always including the first and the last. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.round((i * (items.length - 1)) / (n - 1))]);
  return [...new Set(out)];
}

export function runSourceConformance(name: string, fixture: SourceFixture): void {
  /**
   * The uninterrupted read of a new job, capturing positions after every round that read rows
   * (distinct captures only). The first capture is "completed": notifyCheckpointComplete runs
   * right after it, as after a completed checkpoint, so a source that acknowledges positions
   * (a slot, group offsets) does; restores only use captures from there on.
   */
  async function uninterrupted(): Promise<{ job: string; rows: Row[]; captures: Capture[]; bounded: boolean }> {
    const job = `conformance_${process.pid}_${jobSeq++}`;
    const rs = await start(fixture, job);
    await fixture.afterAssign?.();
    const rows: Row[] = [];
    const captures: Capture[] = [];
    let notified = false;
    try {
      await readRounds(rs, fixture, rows, [], async (n) => {
        const c = capture(rs, n);
        const last = captures.at(-1);
        if (last === undefined || canonical(last.positions) !== canonical(c.positions)) captures.push(c);
        if (!notified) {
          notified = true;
          for (const r of rs.readers) await r.notifyCheckpointComplete(1);
        }
      });
      // The end of the read is a capture too (for bounded sources: every split finished).
      const end = capture(rs, rows.length);
      if (canonical(captures.at(-1)?.positions) !== canonical(end.positions)) captures.push(end);
    } finally {
      await closeAll(rs);
    }
    await fixture.verify?.(rows);
    return { job, rows, captures, bounded: rs.source.bounded };
  }

  /** Restores `job` from `c` and reads the rest; returns the restored reader's rows. */
  async function restoreAndRead(
    job: string,
    c: Capture,
    before: readonly Row[],
    onRound?: (rs: Readers, rows: number) => void,
  ): Promise<{ rows: Row[]; readers: Readers }> {
    const rs = await start(fixture, job, c.positions);
    const rows: Row[] = [];
    try {
      await readRounds(rs, fixture, rows, before, onRound ? (n) => onRound(rs, n) : undefined);
    } finally {
      await closeAll(rs);
    }
    return { rows, readers: rs };
  }

  describe(`source conformance: ${name}`, () => {
    it('positions restore exactly: the rows before a capture plus a restored reader equal the uninterrupted read', async () => {
      const { job, rows, captures } = await uninterrupted();
      try {
        expect(rows.length, 'the fixture reads some rows').toBeGreaterThan(0);
        expect(captures.length, 'the read spans several batches').toBeGreaterThan(2);
        for (const c of spread(captures, fixture.restores ?? 6)) {
          const before = rows.slice(0, c.rows);
          const { rows: rest } = await restoreAndRead(job, c, before);
          expectSameRead(fixture, [...before, ...rest], rows, `restored after ${c.rows} of ${rows.length} rows`);
        }
      } finally {
        await fixture.release?.(job);
      }
    });

    it('a position captured inside a fetched or started unit replays nothing twice', async () => {
      const { job, rows, captures } = await uninterrupted();
      try {
        const inside = fixture.midUnit ? captures.filter((c) => c.positions.some((p) => fixture.midUnit!(p))) : captures;
        expect(inside.length, 'the fixture has a capture inside a unit').toBeGreaterThan(0);
        for (const c of spread(inside, fixture.restores ?? 6)) {
          const before = rows.slice(0, c.rows);
          const { rows: rest } = await restoreAndRead(job, c, before);
          expectSameRead(fixture, [...before, ...rest], rows, `restored inside a unit after ${c.rows} of ${rows.length} rows`);
        }
      } finally {
        await fixture.release?.(job);
      }
    });

    it('positions captured by a restored reader restore exactly too', async () => {
      const { job, rows, captures } = await uninterrupted();
      try {
        const first = captures[Math.min(1, captures.length - 1)];
        const before = rows.slice(0, first.rows);
        // The restored reader is captured after its first round with rows, and "crashes" later.
        let second: Capture | undefined;
        const { rows: middle } = await restoreAndRead(job, first, before, (rs, n) => {
          second ??= capture(rs, n);
        });
        expectSameRead(fixture, [...before, ...middle], rows, 'first restore');
        expect(second, 'the restored reader read something').toBeDefined();
        const upTo = [...before, ...middle.slice(0, second!.rows)];
        const { rows: rest } = await restoreAndRead(job, second!, upTo);
        expectSameRead(fixture, [...upTo, ...rest], rows, 'restore of a restore');
      } finally {
        await fixture.release?.(job);
      }
    });

    it('a bounded source ends and stays ended; an unbounded one does not end', async () => {
      const { job, rows, captures, bounded } = await uninterrupted();
      try {
        const last = captures.at(-1)!;
        if (bounded) {
          expect(last.positions.length).toBeGreaterThan(0);
          expect(
            last.positions.every((p) => p.finished === true),
            'every split is finished at the end',
          ).toBe(true);
          // Restored at the end: 'end' at once, nothing replayed, and 'end' again on later polls.
          const rs = await start(fixture, job, last.positions);
          try {
            for (const r of rs.readers) {
              let sawEnd = 0;
              const deadline = Date.now() + HANG_GUARD_MS;
              while (sawEnd < 3) {
                if (Date.now() > deadline) throw new Error('a reader restored at the end never answered end');
                const b = await r.poll();
                if (b === 'end') sawEnd++;
                else if (b !== undefined) expect(b.size, 'a reader restored at the end replays nothing').toBe(0);
                else await new Promise((res) => setTimeout(res, 5));
              }
            }
          } finally {
            await closeAll(rs);
          }
        } else {
          expect(fixture.complete, 'an unbounded fixture says when its read is complete').toBeDefined();
          // Restored at the end of everything written: polls find nothing more, and never 'end'.
          const rs = await start(fixture, job, last.positions);
          try {
            for (let k = 0; k < 3; k++) {
              for (const r of rs.readers) {
                const b = await r.poll();
                expect(b, 'an unbounded source does not end').not.toBe('end');
                if (b !== undefined && b !== 'end') expect(b.size, 'nothing is replayed after the last capture').toBe(0);
              }
            }
          } finally {
            await closeAll(rs);
          }
        }
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await fixture.release?.(job);
      }
    });
  });
}
