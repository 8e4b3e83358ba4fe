/**
 * `node --import tsx bench/kafka.ts [throughput] [latency]`: weir against a real Kafka broker
 * (scripts/kafka.sh starts one, or KAFKA_BOOTSTRAP=host:port uses yours).
 * - throughput: 1,000,000 JSON page views (~100 bytes each) over 4 partitions, Kafka -> GROUP BY
 *   user -> blackhole, checkpoints every 1 s, in this process: records/s.
 * - latency: events written at a steady rate with their send time, Kafka -> projection -> Kafka
 *   with the exactly-once sink (checkpoints every 1 s) in a `weir run` process, read back with
 *   read_committed: end-to-end latency p50/p99 (a row becomes visible when its checkpoint commits).
 * WEIR_BENCH_KAFKA_RECORDS and WEIR_BENCH_LATENCY_SECONDS / _RATE change the sizes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { prepareJob } from '../src/cli/job-file.js';
import { silentLogger } from '../src/log.js';
import { planJob } from '../src/plan/physical.js';
import { startJob } from '../src/job/job.js';
import '../connectors/index.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const PROJECT = resolve(import.meta.dirname, '..');
const RECORDS = Number(process.env.WEIR_BENCH_KAFKA_RECORDS ?? 1_000_000);
const PARTITIONS = 4;
const LATENCY_SECONDS = Number(process.env.WEIR_BENCH_LATENCY_SECONDS ?? 20);
const LATENCY_RATE = Number(process.env.WEIR_BENCH_LATENCY_RATE ?? 5000);

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function broker(): Promise<{ bootstrap: string; stop: () => Promise<void> }> {
  if (process.env.KAFKA_BOOTSTRAP) return { bootstrap: process.env.KAFKA_BOOTSTRAP, stop: async () => {} };
  const env = { ...process.env, WEIR_KAFKA_STATE_DIR: join(PROJECT, '.weir/kafka-bench') };
  const script = join(PROJECT, 'scripts/kafka.sh');
  const { stdout } = await promisify(execFile)(script, ['start'], { env });
  const bootstrap = /KAFKA_BOOTSTRAP=(\S+)/.exec(stdout)![1];
  return { bootstrap, stop: async () => void (await promisify(execFile)(script, ['stop'], { env })) };
}

function client(bootstrap: string): InstanceType<typeof Kafka> {
  return new Kafka({ brokers: [bootstrap], clientId: 'weir-bench', logLevel: logLevel.NOTHING });
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
  await admin.disconnect();
}

/** ~100 bytes of JSON per page view. */
function pageview(i: number): string {
  return JSON.stringify({
    id: i,
    user_id: (i * 7919) % 100_000,
    page: `/products/item-${String(i % 5000).padStart(5, '0')}`,
    referrer: `campaign-${i % 17}`,
    ts: '2024-01-01 00:00:00.000',
  });
}

async function fill(bootstrap: string, topic: string, n: number): Promise<void> {
  const producer = client(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const chunk = 20_000;
  const inflight: Promise<unknown>[] = [];
  for (let s = 0; s < n; s += chunk) {
    const messages = [];
    for (let i = s; i < Math.min(n, s + chunk); i++) messages.push({ value: pageview(i), partition: i % PARTITIONS });
    inflight.push(producer.send({ topic, acks: 1, messages }));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

async function throughput(bootstrap: string): Promise<void> {
  const topic = `bench-pageviews-${Date.now()}`;
  await createTopic(bootstrap, topic, PARTITIONS);
  const t0 = performance.now();
  await fill(bootstrap, topic, RECORDS);
  console.log(`kafka      wrote ${fmt(RECORDS)} page views (~${pageview(RECORDS - 1).length} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const sql = `
CREATE TABLE pageviews (id BIGINT, user_id BIGINT, page STRING, referrer STRING, ts TIMESTAMP(3)) WITH (
  'connector' = 'kafka', 'topic' = '${topic}', 'properties.bootstrap.servers' = '${bootstrap}', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE per_user (user_id BIGINT, views BIGINT, pages BIGINT, PRIMARY KEY (user_id) NOT ENFORCED) WITH ('connector' = 'blackhole');
INSERT INTO per_user SELECT user_id, COUNT(*), MAX(id) FROM pageviews GROUP BY user_id;`;
  for (const parallelism of [1, 2]) {
    const dir = mkdtempSync(join(tmpdir(), 'weir-bench-kafka-'));
    try {
      const job = prepareJob(sql, 'bench.sql', []);
      const graph = planJob(job.inserts, job.catalog, { jobName: 'bench-kafka', parallelism });
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const running = startJob(graph, {
        checkpointDir: dir,
        checkpointing: { intervalMs: 1000, mode: 'EXACTLY_ONCE', timeoutMs: 600_000, minPauseMs: 0, numRetained: 1 },
        restartStrategy: { type: 'none' },
        log: silentLogger,
      });
      await running.done;
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      console.log(
        `kafka      Kafka -> GROUP BY -> blackhole, parallelism ${parallelism}, checkpoints every 1 s: ${fmt(RECORDS / seconds)} records/s ` +
          `(${fmt(RECORDS)} in ${seconds.toFixed(2)} s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ${running.status().checkpointsCompleted} checkpoints)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function latency(bootstrap: string): Promise<void> {
  const topic = `bench-lat-in-${Date.now()}`;
  const out = `bench-lat-out-${Date.now()}`;
  await createTopic(bootstrap, topic, PARTITIONS);
  await createTopic(bootstrap, out, PARTITIONS);
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-lat-'));
  const file = join(dir, 'latency.sql');
  writeFileSync(
    file,
    `
SET 'pipeline.name' = 'bench-latency';
SET 'execution.checkpointing.interval' = '1 s';
SET 'parallelism.default' = '2';
CREATE TABLE events (id BIGINT, sent_at BIGINT, payload STRING) WITH (
  'connector' = 'kafka', 'topic' = '${topic}', 'properties.bootstrap.servers' = '${bootstrap}', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset', 'properties.fetch.max.wait.ms' = '50');
CREATE TABLE delivered (id BIGINT, sent_at BIGINT) WITH (
  'connector' = 'kafka', 'topic' = '${out}', 'properties.bootstrap.servers' = '${bootstrap}', 'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'bench-latency-${Date.now()}');
INSERT INTO delivered SELECT id, sent_at FROM events;`,
  );
  const job = spawn(process.execPath, [join(PROJECT, 'bin/weir.mjs'), 'run', file, '--checkpoint-dir', join(dir, 'chk'), '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  job.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

  const kafka = client(bootstrap);
  const latencies: number[] = [];
  const warmupUntil = Date.now() + 3000;
  const consumer = kafka.consumer({ groupId: `bench-lat-${Date.now()}`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topic: out, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const sentAt = (JSON.parse(m.value!.toString()) as { sent_at: number }).sent_at;
        if (sentAt >= warmupUntil) latencies.push(now - sentAt);
      }
    },
  });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const perTick = Math.max(1, Math.round(LATENCY_RATE / 100));
  const end = Date.now() + LATENCY_SECONDS * 1000;
  let id = 0;
  while (Date.now() < end) {
    const tick = Date.now();
    const messages = [];
    for (let i = 0; i < perTick; i++, id++)
      messages.push({ value: JSON.stringify({ id, sent_at: Date.now(), payload: 'x'.repeat(60) }), partition: id % PARTITIONS });
    await producer.send({ topic, acks: 1, messages });
    const wait = 10 - (Date.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await producer.disconnect();
  // The last events commit with the next checkpoint.
  await new Promise((r) => setTimeout(r, 2500));
  job.kill('SIGTERM');
  await new Promise((r) => job.on('exit', r));
  await consumer.disconnect();
  rmSync(dir, { recursive: true, force: true });
  if (latencies.length === 0) {
    console.log(`kafka      latency: no events came back (weir: ${stderr.trim().split('\n').pop()})`);
    return;
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  console.log(
    `kafka      end-to-end latency to the exactly-once Kafka sink (${fmt(LATENCY_RATE)} events/s, checkpoints every 1 s, parallelism 2): ` +
      `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${latencies[latencies.length - 1]} ms (${fmt(latencies.length)} events after warm-up)`,
  );
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const b = await broker();
  try {
    console.log(`weir kafka bench — node ${process.version}, broker ${b.bootstrap}`);
    if (!only.length || only.includes('throughput')) await throughput(b.bootstrap);
    if (!only.length || only.includes('latency')) await latency(b.bootstrap);
  } finally {
    await b.stop();
  }
}

await main();
