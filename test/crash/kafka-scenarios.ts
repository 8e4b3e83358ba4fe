import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { produce, type TestMessage } from '../support/kafka.js';

/**
 * The Kafka crash-test job: RECORDS JSON events over PARTITIONS partitions (written while the job
 * runs), read with a bounded end fixed in the job (offset RECORDS / PARTITIONS of every
 * partition: stable across restarts), into
 *   - a keyed aggregation upserted into DuckDB (Kafka -> GROUP BY -> DuckDB), and
 *   - a filter into another topic with an exactly-once transactional sink (Kafka -> filter -> Kafka).
 * Events are deterministic, so the expected outputs are computed here from the generator.
 */
export const PARTITIONS = 4;

export interface KafkaEvent {
  readonly id: number;
  readonly k: number;
  readonly v: number;
}

export function event(i: number): KafkaEvent {
  return { id: i, k: (i * 7919) % 1000, v: ((i * 31) % 2001) - 1000 };
}

/** Writes events [from, to) (event i to partition i % PARTITIONS), in chunks. */
export async function produceEvents(bootstrap: string, topic: string, from: number, to: number): Promise<void> {
  const chunk = 10_000;
  for (let s = from; s < to; s += chunk) {
    const messages: TestMessage[] = [];
    for (let i = s; i < Math.min(to, s + chunk); i++) messages.push({ value: JSON.stringify(event(i)), partition: i % PARTITIONS });
    await produce(bootstrap, topic, messages, chunk);
  }
}

/** The aggregate (k, cnt, total) rows over events [0, n), sorted by k (numbers, as queryDuckDb returns them). */
export function expectedAggregate(n: number): unknown[][] {
  const cnt = new Map<number, number>();
  const total = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const e = event(i);
    cnt.set(e.k, (cnt.get(e.k) ?? 0) + 1);
    total.set(e.k, (total.get(e.k) ?? 0) + e.v);
  }
  return [...cnt.keys()].sort((a, b) => a - b).map((k) => [k, cnt.get(k)!, total.get(k)!]);
}

/** Ids of the events [0, n) the filter keeps, sorted. */
export function expectedFiltered(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (event(i).v > 0) out.push(i);
  return out;
}

export interface KafkaJobFiles {
  readonly jobFile: string;
  readonly duckdb: string;
  readonly outTopic: string;
}

/**
 * `second` chooses the other sink: 'filter' (Kafka -> filter -> Kafka, append, exactly-once) or
 * 'upsert' (the same keyed aggregation into an upsert-kafka topic, exactly-once).
 */
export function writeKafkaJob(
  dir: string,
  opts: {
    bootstrap: string;
    topic: string;
    outTopic: string;
    records: number;
    parallelism: number;
    name: string;
    second?: 'filter' | 'upsert';
    extraSettings?: string;
    /** The source's `properties.max.partition.fetch.bytes` (the connector's default, 1 MiB, when unset). */
    fetchBytes?: number;
  },
): KafkaJobFiles {
  const duckdb = join(dir, 'out.duckdb');
  const perPartition = opts.records / PARTITIONS;
  const ends = Array.from({ length: PARTITIONS }, (_, p) => `partition:${p},offset:${perPartition}`).join(';');
  const sql = `
SET 'pipeline.name' = '${opts.name}';
SET 'execution.checkpointing.interval' = '250ms';
SET 'parallelism.default' = '${opts.parallelism}';
SET 'restart-strategy.type' = 'none';
${opts.extraSettings ?? ''}

CREATE TABLE events (id BIGINT, k INT, v INT) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.topic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'format' = 'json',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'specific-offsets',
  'scan.bounded.specific-offsets' = '${ends}'${opts.fetchBytes === undefined ? '' : `,\n  'properties.max.partition.fetch.bytes' = '${opts.fetchBytes}'`}
);

CREATE TABLE per_key (k INT, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED)
WITH ('connector' = 'duckdb', 'path' = '${duckdb}', 'table-name' = 'per_key');

${(opts.second ?? 'filter') === 'filter' ? filterSink(opts) : upsertSink(opts)}
END;
`;
  const jobFile = join(dir, `${opts.name}.sql`);
  writeFileSync(jobFile, sql);
  return { jobFile, duckdb, outTopic: opts.outTopic };
}

function filterSink(opts: { bootstrap: string; outTopic: string; name: string }): string {
  return `
CREATE TABLE positives (id BIGINT, k INT, v INT) WITH (
  'connector' = 'kafka',
  'topic' = '${opts.outTopic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${opts.name}'
);

EXECUTE STATEMENT SET BEGIN
INSERT INTO per_key SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)) FROM events GROUP BY k;
INSERT INTO positives SELECT id, k, v FROM events WHERE v > 0;`;
}

function upsertSink(opts: { bootstrap: string; outTopic: string; name: string }): string {
  return `
CREATE TABLE per_key_topic (k INT, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${opts.outTopic}',
  'properties.bootstrap.servers' = '${opts.bootstrap}',
  'key.format' = 'json',
  'value.format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${opts.name}'
);

EXECUTE STATEMENT SET BEGIN
INSERT INTO per_key SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)) FROM events GROUP BY k;
INSERT INTO per_key_topic SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)) FROM events GROUP BY k;`;
}
