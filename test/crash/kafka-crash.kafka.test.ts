import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { waitFor } from '../runtime/helpers/fixtures.js';
import { createTopics, kafkaOrSkip, readCommittedWithJava, uniqueTopic } from '../support/kafka.js';
import { runWeir, runWithKills, seededRandom, spawnWeir, tempDir, type WeirRun } from '../support/weir-process.js';
import { expectedAggregate, expectedFiltered, PARTITIONS, produceEvents, writeKafkaJob } from './kafka-scenarios.js';

/**
 * Kafka crash tests: `weir run` as a real process reading a topic that a producer is still
 * writing (500,000 records over 4 partitions, the last tenth only once the job has been killed),
 * killed with SIGKILL at random moments at least five times and restarted each time with
 * `--from-checkpoint latest`. When it finally exits 0, the
 * DuckDB aggregate and the exactly-once output topic (read with read_committed) must equal what
 * an uninterrupted run produces: the generator's exact result, nothing lost, nothing twice.
 */
const KILLS = 5;
const RECORDS = 500_000;
/** Where the held-back last tenth of the input starts (a whole number of producer chunks). */
const HELD_BACK_FROM = 450_000;

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';

const AGG_QUERY = 'SELECT k, cnt, total FROM per_key ORDER BY k';

describe.skipIf(!kafka)('kafka crash recovery', () => {
  it.each([1, 3])(
    'parallelism %i: Kafka -> GROUP BY -> DuckDB and Kafka -> filter -> Kafka survive SIGKILLs while the input is written',
    async (parallelism) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const random = seededRandom(seed);
      const dir = tempDir(`kafka-crash-${parallelism}`);
      const topic = uniqueTopic('crash-in');
      const outTopic = uniqueTopic('crash-out');
      await createTopics(bootstrap, [
        { topic, partitions: PARTITIONS },
        { topic: outTopic, partitions: PARTITIONS },
      ]);
      // Small fetches (~2,000 records a partition, not ~30,000): a run's first checkpoint then
      // mostly covers tens of thousands of records more, not a few hundred thousand, so the job is
      // still mid-stream when the later kills (after a checkpoint of the killed run) land.
      const job = writeKafkaJob(dir, { bootstrap, topic, outTopic, records: RECORDS, parallelism, name: `kafka-crash-${parallelism}`, fetchBytes: 64 * 1024 });
      // The last tenth of the input is written once the job has been killed KILLS times: its end
      // offsets lie there, so it cannot end before every kill has landed, however fast it runs.
      let killed = 0;
      const producing = (async () => {
        await produceEvents(bootstrap, topic, 0, HELD_BACK_FROM);
        await waitFor(() => killed >= KILLS);
        await produceEvents(bootstrap, topic, HELD_BACK_FROM, RECORDS);
      })();
      const args = ['run', job.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
      const kills = await runWithKills(args, { kills: KILLS, random, label: `seed ${seed}`, onKill: (n) => (killed = n) });
      await producing;
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);

      expect(await queryDuckDb(job.duckdb, AGG_QUERY), `seed ${seed}`).toEqual(expectedAggregate(RECORDS));
      // Read by Kafka's Java read_committed consumer, not by the code under test.
      const out = await readCommittedWithJava(bootstrap, outTopic, PARTITIONS);
      const ids = out.map((m) => (JSON.parse(m.value) as { id: number }).id).sort((a, b) => a - b);
      const expected = expectedFiltered(RECORDS);
      expect(ids.length, `seed ${seed}: rows in the output topic`).toBe(expected.length);
      expect(ids, `seed ${seed}`).toEqual(expected);
    },
    300_000,
  );

  it('a restart from an older checkpoint (not the latest) reproduces the same final output', async () => {
    // The older checkpoint is one that had read only the first half of the input, and the job went
    // on past it (later checkpoints committed later output) to the end. Each step waits on a
    // condition (what the completed checkpoints have read), never on time.
    const records = 200_000;
    const dir = tempDir('kafka-older');
    const topic = uniqueTopic('older-in');
    const outTopic = uniqueTopic('older-out');
    await createTopics(bootstrap, [
      { topic, partitions: PARTITIONS },
      { topic: outTopic, partitions: 2 },
    ]);
    const settings = {
      bootstrap,
      topic,
      outTopic,
      records,
      parallelism: 2,
      name: 'kafka-older',
      second: 'upsert' as const,
      extraSettings: "SET 'state.checkpoints.num-retained' = '100000';\nSET 'execution.checkpointing.interval' = '100ms';",
    };
    const job = writeKafkaJob(dir, settings);
    const chk = join(dir, 'chk');
    const completed = (): number[] =>
      (existsSync(join(chk, 'kafka-older')) ? readdirSync(join(chk, 'kafka-older')) : [])
        .map((f) => /^chk-(\d+)$/.exec(f)?.[1])
        .filter((x): x is string => x !== undefined && existsSync(join(chk, 'kafka-older', `chk-${x}`, '_metadata')))
        .map(Number)
        .sort((a, b) => a - b);
    /** Records a completed checkpoint's source positions have read (the sum of its offsets). */
    const readBy = (id: number): number => {
      const file = join(chk, 'kafka-older', `chk-${id}`, '_metadata');
      if (!existsSync(file)) return -1; // removed by retention since it was listed
      const meta = JSON.parse(readFileSync(file, 'utf8')) as {
        sources: Record<string, { positions: { position: { offset: number } }[] }>;
      };
      return Object.values(meta.sources)
        .flatMap((s) => s.positions)
        .reduce((sum, p) => sum + p.position.offset, 0);
    };
    /** Waits until a completed checkpoint has read `records` records; returns the newest such id. */
    const until = async (what: string, records: number, run: WeirRun): Promise<number> => {
      for (;;) {
        const id = completed()
          .filter((c) => readBy(c) === records)
          .at(-1);
        if (id !== undefined) return id;
        expect(run.child.exitCode, `the job ended while waiting for ${what}: ${run.stderr()}`).toBeNull();
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    // The job's bounded end is the whole input; only its first half is written before it starts.
    await produceEvents(bootstrap, topic, 0, records / 2);
    const first = spawnWeir(['run', job.jobFile, '--checkpoint-dir', chk, '-q']);
    // Only the first half exists yet: the checkpoint that has read all of it has read no more.
    const older = await until('a checkpoint that has read the first half', records / 2, first);
    await produceEvents(bootstrap, topic, records / 2, records);
    const { code } = await first.exit;
    expect(first.stderr()).toBe('');
    expect(code).toBe(0);
    expect(completed().at(-1)).toBeGreaterThan(older);
    const expected = expectedAggregate(records);
    expect(await queryDuckDb(job.duckdb, AGG_QUERY)).toEqual(expected);

    const latestPerKey = async (): Promise<unknown[][]> => {
      const last = new Map<number, unknown[]>();
      for (const m of await readCommittedWithJava(bootstrap, outTopic, 2)) {
        const k = (JSON.parse(m.key) as { k: number }).k;
        if (m.value === 'null') last.delete(k);
        else {
          const v = JSON.parse(m.value) as { k: number; cnt: number; total: number };
          last.set(k, [v.k, v.cnt, v.total]);
        }
      }
      return [...last.values()].sort((a, b) => (a[0] as number) - (b[0] as number));
    };
    expect(await latestPerKey()).toEqual(expected);

    const from = join(chk, 'kafka-older', `chk-${older}`);
    const second = await runWeir(['run', job.jobFile, '--checkpoint-dir', chk, '--from-checkpoint', from, '-q']);
    expect(second.stderr.trim()).toBe(`restoring job 'kafka-older' from ${from}`);
    expect(second.code).toBe(0);
    expect(await queryDuckDb(job.duckdb, AGG_QUERY)).toEqual(expected);
    expect(await latestPerKey()).toEqual(expected);
  }, 600_000);
});
