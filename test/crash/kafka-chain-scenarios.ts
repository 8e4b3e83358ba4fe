/**
 * The chained exactly-once crash scenario (issue 12 §1): job A reads events from Kafka, filters
 * them and writes the result to a middle topic with Kafka transactions ('exactly-once'); job B
 * reads the middle topic (read_committed) and upserts a GROUP BY into DuckDB. Test-side
 * transactional producers write into the middle topic at the same time, most of their
 * transactions aborted, with random lengths, so the aborted transactions of several producers
 * interleave and are aborted in another order than they began (the broker lists them in abort
 * order). Their aborted records carry a huge value, so any that a reader lets through show in the
 * aggregate; their committed records are part of the expected result.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { kafkaClient } from '../support/kafka.js';
import { spawnWeir, type WeirRun } from '../support/weir-process.js';
import { event, expectedFiltered } from './kafka-scenarios.js';

export interface ChainRow {
  readonly id: number;
  readonly k: number;
  readonly v: number;
}

/** v of the records of aborted test transactions: a leak adds millions to a total. */
export const ABORTED_V = 1_000_000;

/** Job A: Kafka (bounded at `records / partitions` per partition) -> WHERE v > 0 -> Kafka exactly-once. */
export function writeFilterJob(
  dir: string,
  opts: { bootstrap: string; inTopic: string; midTopic: string; records: number; partitions: number; parallelism: number; name: string },
): string {
  const perPartition = opts.records / opts.partitions;
  const ends = Array.from({ length: opts.partitions }, (_, p) => `partition:${p},offset:${perPartition}`).join(';');
  const file = join(dir, `${opts.name}.sql`);
  writeFileSync(
    file,
    `
SET 'pipeline.name' = '${opts.name}';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${opts.parallelism}';
SET 'restart-strategy.type' = 'none';

CREATE TABLE events (id BIGINT, k INT, v INT) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.inTopic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'format' = 'json',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'specific-offsets',
  'scan.bounded.specific-offsets' = '${ends}'
);

CREATE TABLE positives (id BIGINT, k INT, v INT) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.midTopic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${opts.name}'
);

INSERT INTO positives SELECT id, k, v FROM events WHERE v > 0;
`,
  );
  return file;
}

/**
 * Job B: the middle topic (unbounded, read_committed) -> GROUP BY k -> DuckDB. It commits its
 * positions to `groupId` on completed checkpoints, which is how the test sees that it has read
 * everything before it stops it (SIGTERM: a final checkpoint).
 */
export function writeCountJob(
  dir: string,
  opts: { bootstrap: string; midTopic: string; groupId: string; parallelism: number; name: string },
): { jobFile: string; duckdb: string } {
  const duckdb = join(dir, `${opts.name}.duckdb`);
  const jobFile = join(dir, `${opts.name}.sql`);
  writeFileSync(
    jobFile,
    `
SET 'pipeline.name' = '${opts.name}';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${opts.parallelism}';
SET 'restart-strategy.type' = 'none';

CREATE TABLE positives (id BIGINT, k INT, v INT) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.midTopic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'properties.group.id' = '${opts.groupId}',
  'properties.isolation.level' = 'read_committed',
  'format' = 'json',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE per_key (k INT, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED)
WITH ('connector' = 'duckdb', 'path' = '${duckdb}', 'table-name' = 'per_key');

INSERT INTO per_key SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)) FROM positives GROUP BY k;
`,
  );
  return { jobFile, duckdb };
}

/** What job A must leave in the middle topic: the filtered events [0, records) and the committed test rows. */
export function expectedMiddle(records: number, committed: readonly ChainRow[]): ChainRow[] {
  const rows: ChainRow[] = expectedFiltered(records).map(event);
  return [...rows, ...committed].sort((a, b) => a.id - b.id);
}

/** (k, cnt, total) per k over the rows, sorted by k: what job B must leave in DuckDB. */
export function aggregateOf(rows: readonly ChainRow[]): number[][] {
  const per = new Map<number, [number, number]>();
  for (const r of rows) {
    const a = per.get(r.k);
    if (a) {
      a[0]++;
      a[1] += r.v;
    } else per.set(r.k, [1, r.v]);
  }
  return [...per].sort((a, b) => a[0] - b[0]).map(([k, [cnt, total]]) => [k, cnt, total]);
}

/** Rows in `actual` but not `expected`, rows missing, and ids read more than once (ids are unique). */
export function compareRows(actual: readonly ChainRow[], expected: readonly ChainRow[]): { extra: ChainRow[]; missing: ChainRow[]; duplicates: number[] } {
  const want = new Map(expected.map((r) => [r.id, r]));
  const seen = new Set<number>();
  const extra: ChainRow[] = [];
  const duplicates: number[] = [];
  for (const r of actual) {
    if (seen.has(r.id)) duplicates.push(r.id);
    seen.add(r.id);
    const w = want.get(r.id);
    if (w === undefined || w.k !== r.k || w.v !== r.v) extra.push(r);
  }
  const missing = expected.filter((r) => !seen.has(r.id));
  return { extra, missing, duplicates };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Test-side transactional producers writing into a topic until stopped: each transaction sends
 * 1-3 rounds of rows to every partition with random pauses, then aborts (3 in 4) or commits.
 * Producers run concurrently, so their transactions overlap and end in another order than they
 * began. Ids are negative (events have ids >= 0) and unique.
 */
export class InterleavingProducers {
  readonly committed: ChainRow[] = [];
  abortedRows = 0;
  abortedTxns = 0;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly bootstrap: string,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly random: () => number,
  ) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) this.loops.push(this.loop(i));
  }

  /** Stops after each producer's current transaction; rejects if a producer failed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(n: number): Promise<void> {
    const producer = kafkaClient(this.bootstrap, `interleave-${n}`).producer({
      transactionalId: `${this.topic}-interleave-${n}`,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    let seq = 0;
    try {
      while (!this.stopping) {
        const commit = this.random() < 0.25;
        const rows: ChainRow[] = [];
        const txn = await producer.transaction();
        const rounds = 1 + Math.floor(this.random() * 3);
        for (let r = 0; r < rounds; r++) {
          const messages = [];
          for (let p = 0; p < this.partitions; p++) {
            for (let j = 0; j < 3; j++) {
              seq++;
              const row = { id: -(n * 10_000_000 + seq), k: (seq * 7) % 1000, v: commit ? 1 + (seq % 5) : ABORTED_V };
              rows.push(row);
              messages.push({ value: JSON.stringify(row), partition: p });
            }
          }
          await txn.send({ topic: this.topic, acks: -1, messages });
          await sleep(20 + Math.floor(this.random() * 300));
        }
        if (commit) {
          await txn.commit();
          this.committed.push(...rows);
        } else {
          await txn.abort();
          this.abortedRows += rows.length;
          this.abortedTxns++;
        }
      }
    } finally {
      await producer.disconnect();
    }
  }
}

/** The highest id of a completed checkpoint (one with `_metadata`) of a job, or 0. */
function latestCheckpoint(jobChkDir: string): number {
  if (!existsSync(jobChkDir)) return 0;
  let max = 0;
  for (const f of readdirSync(jobChkDir)) {
    const m = /^chk-(\d+)$/.exec(f);
    if (m && Number(m[1]) > max && existsSync(join(jobChkDir, f, '_metadata'))) max = Number(m[1]);
  }
  return max;
}

/**
 * Waits until the run has completed a checkpoint of its own (so it has made progress and its
 * signal handlers are in place) or has exited; true when it is still running.
 */
async function awaitOwnCheckpoint(run: WeirRun, jobChkDir: string, before: number, exited: () => boolean): Promise<boolean> {
  while (!exited() && latestCheckpoint(jobChkDir) <= before) await Promise.race([sleep(25), run.exit]);
  return !exited();
}

/**
 * The crash loop of this scenario: runs `weir <args>` again and again, each run SIGKILLed at a
 * random moment (0 to `maxDelayMs`) after it completed a checkpoint of its own, while
 * `keepKilling(kills)` says so; `onKill` runs after each kill. A run that ends by itself before it
 * was meant to be killed fails the test. Returns the kills and the first run not to be killed
 * (still running, its first own checkpoint completed).
 */
export async function runKilledAfterCheckpoints(
  args: readonly string[],
  jobChkDir: string,
  opts: { random: () => number; maxDelayMs: number; keepKilling: (kills: number) => boolean; onKill?: (kills: number) => void; label: string },
): Promise<{ kills: number; last: WeirRun; exited: () => boolean }> {
  let kills = 0;
  for (;;) {
    const before = latestCheckpoint(jobChkDir);
    const run = spawnWeir(args);
    let done = false;
    void run.exit.then(() => (done = true));
    const exited = (): boolean => done;
    const kill = opts.keepKilling(kills);
    const running = await awaitOwnCheckpoint(run, jobChkDir, before, exited);
    if (!kill) {
      // A bounded job may finish before its first checkpoint of this run is seen: the caller checks its exit.
      return { kills, last: run, exited };
    }
    if (running) {
      await Promise.race([sleep(Math.floor(opts.random() * opts.maxDelayMs)), run.exit]);
      run.child.kill('SIGKILL');
    }
    const { code, signal } = await run.exit;
    if (signal !== 'SIGKILL') {
      expect.fail(`${opts.label}: run ${kills + 1} ended by itself (code ${code}, signal ${signal}) before it was killed; stderr: ${run.stderr()}`);
    }
    kills++;
    opts.onKill?.(kills);
  }
}
