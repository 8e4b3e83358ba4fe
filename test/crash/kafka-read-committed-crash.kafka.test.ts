import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { consumeCommittedWithJava, createTopics, kafkaClient, kafkaOrSkip, produce, uniqueTopic } from '../support/kafka.js';
import { seededRandom, tempDir } from '../support/weir-process.js';
import {
  aggregateOf,
  compareRows,
  expectedMiddle,
  InterleavingProducers,
  runKilledAfterCheckpoints,
  writeCountJob,
  writeFilterJob,
  type ChainRow,
} from './kafka-chain-scenarios.js';
import { PARTITIONS, produceEvents } from './kafka-scenarios.js';

/**
 * Exactly-once through a chain of two weir jobs (issue 12 §1), both killed with SIGKILL again
 * and again while they run:
 *   job A: Kafka -> WHERE v > 0 -> Kafka ('sink.delivery-guarantee' = 'exactly-once'),
 *   job B: that middle topic (read_committed) -> GROUP BY k -> DuckDB,
 * while test-side transactional producers write into the middle topic too, aborting most of their
 * transactions, so aborted transactions of several producers (A's killed ones and the test's)
 * interleave and end in another order than they began. The middle topic's committed content is
 * read with Kafka's own Java consumer (ConsoleConsumer, read_committed) and must be exactly the
 * filtered events plus the test's committed rows; B's DuckDB table must be exactly their
 * aggregate: not one record of an aborted transaction counted, nothing lost, nothing twice.
 *
 * Kills are placed after each run completed a checkpoint of its own (so every run makes
 * progress), at a random moment after it. A cannot finish before its last kill: the last part of
 * its bounded input is written only then. B is unbounded and runs alongside A: killed KILLS times,
 * then its last run reads on until A is done and is stopped (SIGTERM, a final checkpoint) once its
 * committed group offsets show it has read the whole topic. (Every restart costs a process start,
 * which on a loaded 2-core machine is most of this test's time: B is not killed more than needed.)
 */
const KILLS = 5;
/** Input events, written in KILLS + 1 parts (one more after each kill of A). */
const RECORDS = 120_000;
const PART = RECORDS / (KILLS + 1);
const INTERLEAVING_PRODUCERS = 3;

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';

async function groupCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return committed.partitions.every((p) => Number(p.offset) >= ends.get(p.partition)!);
  } finally {
    await admin.disconnect();
  }
}

async function until(what: string, cond: () => Promise<boolean>, hangGuardMs = HANG_GUARD_MS): Promise<void> {
  const deadline = Date.now() + hangGuardMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function parseRows(lines: readonly string[]): { rows: ChainRow[]; sentinels: number } {
  const rows: ChainRow[] = [];
  let sentinels = 0;
  for (const line of lines) {
    const v = JSON.parse(line) as { id?: number; k?: number; v?: number; sentinel?: number };
    if (v.sentinel !== undefined) sentinels++;
    else rows.push({ id: v.id!, k: v.k!, v: v.v! });
  }
  return { rows, sentinels };
}

describe.skipIf(!kafka)('exactly-once through a chain of Kafka jobs (read_committed)', () => {
  it.each([1, 2])(
    'parallelism %i: Kafka -> filter -> Kafka (exactly-once) -> GROUP BY -> DuckDB, both jobs killed while aborted transactions interleave',
    async (parallelism) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const label = `seed ${seed}`;
      const random = seededRandom(seed);
      const dir = tempDir(`kafka-chain-${parallelism}`);
      const inTopic = uniqueTopic('chain-in');
      const midTopic = uniqueTopic('chain-mid');
      await createTopics(bootstrap, [
        { topic: inTopic, partitions: PARTITIONS },
        { topic: midTopic, partitions: PARTITIONS },
      ]);
      const nameA = `chain-a-${parallelism}`;
      const nameB = `chain-b-${parallelism}`;
      const groupId = `${midTopic}-b`;
      const jobA = writeFilterJob(dir, { bootstrap, inTopic, midTopic, records: RECORDS, partitions: PARTITIONS, parallelism, name: nameA });
      const jobB = writeCountJob(dir, { bootstrap, midTopic, groupId, parallelism, name: nameB });
      const chkA = join(dir, 'chk-a');
      const chkB = join(dir, 'chk-b');
      const argsA = ['run', jobA, '--checkpoint-dir', chkA, '--from-checkpoint', 'latest', '-q'];
      const argsB = ['run', jobB.jobFile, '--checkpoint-dir', chkB, '--from-checkpoint', 'latest', '-q'];

      const interleaving = new InterleavingProducers(bootstrap, midTopic, PARTITIONS, seededRandom(seed + 1));
      interleaving.start(INTERLEAVING_PRODUCERS);
      let input = produceEvents(bootstrap, inTopic, 0, PART);
      let failed = false;
      // Job B runs alongside job A: killed KILLS times, then its last run reads on.
      const jobBRuns = runKilledAfterCheckpoints(argsB, join(chkB, nameB), {
        random,
        maxDelayMs: 1500,
        keepKilling: (kills) => !failed && kills < KILLS,
        label: `${label}, job B`,
      });
      // Awaited below; a failure of B before then must not go unhandled meanwhile.
      jobBRuns.catch(() => undefined);
      try {
        const a = await runKilledAfterCheckpoints(argsA, join(chkA, nameA), {
          random,
          maxDelayMs: 1500,
          keepKilling: (kills) => kills < KILLS,
          onKill: (kills) => {
            input = input.then(() => produceEvents(bootstrap, inTopic, kills * PART, (kills + 1) * PART));
          },
          label: `${label}, job A`,
        });
        expect(a.kills, label).toBe(KILLS);
        const endA = await a.last.exit;
        expect(a.last.stderr(), `${label}: job A's last run`).not.toMatch(/error/i);
        expect(endA.code, `${label}: job A's last run (stderr: ${a.last.stderr()})`).toBe(0);
        await input;
        await interleaving.stop();

        const b = await jobBRuns;
        expect(b.kills, label).toBe(KILLS);
        await until(`job B's group '${groupId}' reaching the end of ${midTopic}`, () => groupCaughtUp(groupId, midTopic));
        b.last.child.kill('SIGTERM');
        const endB = await b.last.exit;
        expect(b.last.stderr(), `${label}: job B's last run`).not.toMatch(/error/i);
        expect(endB.code, `${label}: job B's last run (stderr: ${b.last.stderr()})`).toBe(0);

        const expected = expectedMiddle(RECORDS, interleaving.committed);
        const summary = `${label}: ${interleaving.abortedTxns} test transactions aborted (${interleaving.abortedRows} rows), ${interleaving.committed.length} test rows committed`;

        // Job A's output, the middle topic, as Kafka's Java consumer reads it: sentinels written now
        // (after B stopped) mark the end of every partition.
        await produce(
          bootstrap,
          midTopic,
          Array.from({ length: PARTITIONS }, (_, p) => ({ value: JSON.stringify({ sentinel: p }), partition: p })),
        );
        const seen = new Set<number>();
        const lines = await consumeCommittedWithJava(bootstrap, midTopic, (line) => {
          const m = /^\{"sentinel":(\d+)\}$/.exec(line);
          if (m) seen.add(Number(m[1]));
          return seen.size === PARTITIONS;
        });
        const { rows, sentinels } = parseRows(lines);
        expect(sentinels).toBe(PARTITIONS);
        const diff = compareRows(rows, expected);
        expect(
          { extra: diff.extra.length, missing: diff.missing.length, duplicates: diff.duplicates.length },
          `${summary}; the middle topic read by Kafka's Java consumer (first extra: ${JSON.stringify(diff.extra.slice(0, 3))}, first missing: ${JSON.stringify(diff.missing.slice(0, 3))})`,
        ).toEqual({ extra: 0, missing: 0, duplicates: 0 });
        expect(rows.length).toBe(expected.length);

        // Job B's result: exactly the aggregate of the committed records, not one aborted one.
        const got = (await queryDuckDb(jobB.duckdb, 'SELECT k, cnt, total FROM per_key ORDER BY k')) as number[][];
        const counted = got.reduce((s, r) => s + r[1], 0);
        expect(counted - expected.length, `${summary}; rows job B counted beyond the committed ones`).toBe(0);
        expect(got, summary).toEqual(aggregateOf(expected));
      } catch (e) {
        failed = true;
        throw e;
      } finally {
        // No producer or job of this test keeps running, whatever failed.
        await interleaving.stop().catch(() => undefined);
        await input.catch(() => undefined);
        const b = await jobBRuns.catch(() => undefined);
        if (b && !b.exited()) {
          b.last.child.kill('SIGKILL');
          await b.last.exit;
        }
      }
    },
    600_000,
  );
});
