/**
 * A job survives an outage of its Kafka broker (issue 12 §2). The broker is a private one
 * (scripts/kafka.sh with its own state dir, log dir and port: the run's shared broker is never
 * touched), stopped for 30 seconds mid-job and started again on the same log dir and port.
 *
 * The job, at parallelism 2 with its default restart strategy (no restart settings), runs two
 * pipelines at once: generated rows written at a steady rate into a Kafka topic through the
 * exactly-once sink (mid-write when the broker goes), and a Kafka topic read by the Kafka source
 * (bounded at specific offsets, half of its records written only after the outage) into DuckDB.
 * It must show `RESTARTING (attempt n, ...: Kafka ...)`, end by itself with exit code 0, and leave
 * exactly the uninterrupted output: the sink's topic as Kafka's own Java consumer reads it
 * (read_committed), so the check does not trust weir's or kafkajs' reading of it.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { consumeCommittedWithJava, createTopics, kafkaScript, parseBootstrap, produce } from '../support/kafka.js';
import { spawnWeir, tempDir, type WeirRun } from '../support/weir-process.js';
import { completedCheckpoints } from '../cli/cli-helpers.js';

const GENERATED = 20_000;
/** Records per partition of the source topic, written in two halves (before the job, after the outage). */
const PER_PARTITION = 3000;
const PARTITIONS = 2;
const OUTAGE_MS = 30_000;

const freePort = (): Promise<number> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

const dir = tempDir('outage-kafka');
const env = { WEIR_KAFKA_STATE_DIR: join(dir, 'broker-state'), WEIR_KAFKA_DATA_DIR: join(dir, 'broker-data'), KAFKA_PORT: String(await freePort()) };
let bootstrap: string | undefined;
try {
  bootstrap = parseBootstrap(await kafkaScript('start', env));
} catch (e) {
  if (process.env.CI === 'true') throw e;
  process.stderr.write(`\n*** SKIPPING THE KAFKA OUTAGE TEST: could not start a broker: ${(e as Error).message}\n*** (in CI, CI=true, this is a failure)\n\n`);
}
// Also when the test times out; the broker's log dir goes with the temp folder.
afterAll(() => kafkaScript('stop', env).catch(() => undefined));

/** Polls `cond` until it holds; fails at once (with the job's stderr) when the job exits first. */
async function waitFor(what: string, job: WeirRun, cond: () => Promise<boolean> | boolean, hangGuardMs = HANG_GUARD_MS): Promise<void> {
  const until = Date.now() + hangGuardMs;
  for (;;) {
    if (await cond()) return;
    if (job.child.exitCode !== null) throw new Error(`the job exited (${job.child.exitCode}) before ${what}:\n${job.stderr().slice(-4000)}`);
    if (Date.now() > until) throw new Error(`no ${what} after ${hangGuardMs} ms:\n${job.stderr().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const records = (from: number, to: number, partition: number) =>
  Array.from({ length: to - from }, (_, i) => {
    const n = from + i;
    return { partition, value: JSON.stringify({ id: partition * PER_PARTITION + n + 1, name: `r${n}` }) };
  });

describe.skipIf(!bootstrap)('an outage of the Kafka broker', () => {
  it('stopped for 30 s mid-job: the job recovers by itself and the output is exact', async () => {
    const broker = bootstrap!;
    await createTopics(broker, [
      { topic: 'in', partitions: PARTITIONS },
      { topic: 'out', partitions: PARTITIONS },
    ]);
    for (let p = 0; p < PARTITIONS; p++) await produce(broker, 'in', records(0, PER_PARTITION / 2, p));
    const db = join(dir, 'copied.duckdb');
    const ends = Array.from({ length: PARTITIONS }, (_, p) => `partition:${p},offset:${PER_PARTITION}`).join(';');
    const file = join(dir, 'outage.sql');
    writeFileSync(
      file,
      `SET 'pipeline.name' = 'outage-kafka';
SET 'execution.checkpointing.interval' = '300ms';
SET 'parallelism.default' = '2';
CREATE TABLE gen (id BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${GENERATED}'
);
CREATE TABLE gen_topic (id BIGINT, sq BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '${broker}', 'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'outage'
);
CREATE TABLE src (id BIGINT, name STRING) WITH (
  'connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = '${broker}', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'specific-offsets', 'scan.bounded.specific-offsets' = '${ends}'
);
CREATE TABLE copied (id BIGINT, name STRING) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'copied');
EXECUTE STATEMENT SET BEGIN
INSERT INTO gen_topic SELECT id, id * id FROM gen;
INSERT INTO copied SELECT id, name FROM src;
END;
`,
    );
    // Not -q: the status line goes to stderr (a plain line at every change of state).
    const job = spawnWeir(['run', file, '--checkpoint-dir', join(dir, 'chk')]);
    await waitFor('a completed checkpoint', job, () => completedCheckpoints(join(dir, 'chk', 'outage-kafka')).length > 0);

    await kafkaScript('stop', env);
    const downAt = Date.now();
    try {
      await waitFor('RESTARTING on the status line', job, () => /RESTARTING \(attempt \d+, next in \d+s: /.test(job.stderr()), OUTAGE_MS * 10);
      const rest = downAt + OUTAGE_MS - Date.now();
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      expect(job.child.exitCode, job.stderr().slice(-4000)).toBe(null);
    } finally {
      await kafkaScript('start', env);
    }
    // The second half of the source topic exists only after the outage.
    for (let p = 0; p < PARTITIONS; p++) await produce(broker, 'in', records(PER_PARTITION / 2, PER_PARTITION, p));

    const { code } = await job.exit;
    const stderr = job.stderr();
    expect(code, stderr.slice(-4000)).toBe(0);
    expect(stderr).not.toMatch(/^error: /m);
    expect(stderr).toMatch(/RESTARTING \(attempt \d+, next in \d+s: .*Kafka.*\)/);
    expect(stderr).toMatch(/job 'outage-kafka' finished/);
    // Every restart was for a retriable external error (none counted as a bug).
    const restarts = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; err?: { domain?: string; retriable?: boolean } })
      .filter((l) => l.msg === 'job failed; restarting from the latest checkpoint');
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts.map((r) => [r.err?.domain, r.err?.retriable])).toEqual(restarts.map(() => ['external', true]));

    // The Kafka source's copy: every record once.
    const total = PER_PARTITION * PARTITIONS;
    expect(
      await queryDuckDb(db, "SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE name <> 'r' || ((id - 1) % 3000)) FROM copied"),
    ).toEqual([[total, total, 1, total, 0]]);

    // The sink's topic as a Java read_committed consumer sees it, up to a sentinel per partition
    // written now that the job is over.
    for (let p = 0; p < PARTITIONS; p++) await produce(broker, 'out', [{ partition: p, value: `END-${p}` }]);
    const seen = new Set<string>();
    const lines = await consumeCommittedWithJava(broker, 'out', (line) => {
      if (line.startsWith('END-')) seen.add(line);
      return seen.size === PARTITIONS;
    });
    const rows = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id: number; sq: number });
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    expect(rows.length).toBe(GENERATED);
    expect(new Set(ids).size).toBe(GENERATED);
    expect([ids[0], ids[ids.length - 1]]).toEqual([1, GENERATED]);
    expect(rows.filter((r) => r.sq !== r.id * r.id)).toEqual([]);
  }, 900_000);
});
