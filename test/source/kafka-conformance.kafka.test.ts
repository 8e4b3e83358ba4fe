/**
 * The source conformance suite against a real Kafka broker: the kafka connector (bounded and
 * unbounded, 3 partitions over 2 subtasks, more records per partition than one poll returns, so
 * positions fall inside fetched data) and upsert-kafka (updates and tombstones over 2 partitions,
 * folded as a changelog: a restore must rebuild the last row per key without emitting it again).
 */
import { beforeAll, describe, expect } from 'vitest';
import { kafkaConnector, upsertKafkaConnector } from '../../connectors/kafka/index.js';
import { type } from '../../src/model/types.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { makeTable } from '../connectors/table-helper.js';
import { createTopics, kafkaOrSkip, produce, uniqueTopic, type TestMessage } from '../support/kafka.js';
import { runSourceConformance, type Row } from './conformance/source-suite.js';

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';

const COLS = [
  ['id', type('BIGINT')],
  ['name', type('STRING')],
] as const;
const PER_PARTITION = [6000, 9000, 5000];
const TOTAL = PER_PARTITION.reduce((a, b) => a + b, 0);
const appendTopic = uniqueTopic('src-conf');
const upsertTopic = uniqueTopic('src-conf-upsert');
const UPSERT_MESSAGES = 12_000;
const KEYS = 400;

/** Key k's value at message i of the upsert topic: a tombstone every 7th change of a key, else a new name. */
function upsertMessage(i: number): TestMessage {
  const k = (i * 7919) % KEYS;
  const json = (o: unknown): string => JSON.stringify(o);
  return { key: json({ id: k }), value: i % 7 === 3 ? null : json({ id: k, name: `v${i}` }), partition: k % 2 };
}

beforeAll(async () => {
  if (!kafka) return;
  await createTopics(bootstrap, [
    { topic: appendTopic, partitions: PER_PARTITION.length },
    { topic: upsertTopic, partitions: 2 },
  ]);
  const messages: TestMessage[] = [];
  PER_PARTITION.forEach((n, p) => {
    for (let i = 0; i < n; i++)
      messages.push({ key: `k${p}-${i}`, value: JSON.stringify({ id: p * 100_000 + i, name: i % 9 === 0 ? null : `p${p}-${i}` }), partition: p });
  });
  await produce(bootstrap, appendTopic, messages);
  await produce(
    bootstrap,
    upsertTopic,
    Array.from({ length: UPSERT_MESSAGES }, (_, i) => upsertMessage(i)),
  );
});

/** Inside the records of a partition: some were handed out, some not (the fetch went further). */
const insidePartition = (p: SplitPosition): boolean => {
  const pos = p.position as { offset: number; end?: number };
  return pos.offset > 0 && p.finished !== true && (pos.end === undefined || pos.offset < pos.end);
};

function verifyAppend(rows: readonly Row[]): void {
  expect(rows).toHaveLength(TOTAL);
  expect(new Set(rows.map((r) => r[1])).size).toBe(TOTAL);
}

describe.skipIf(!kafka)('kafka sources', () => {
  runSourceConformance('kafka (bounded latest-offset, 3 partitions, 2 subtasks)', {
    source: () => {
      const t = makeTable('src', COLS, {
        connector: 'kafka',
        topic: appendTopic,
        'properties.bootstrap.servers': bootstrap,
        format: 'json',
        'scan.bounded.mode': 'latest-offset',
      });
      return kafkaConnector.createSource!(t, t.schema);
    },
    parallelism: 2,
    midUnit: insidePartition,
    verify: verifyAppend,
  });

  runSourceConformance('kafka (unbounded, 3 partitions, 3 subtasks)', {
    source: () => {
      const t = makeTable('src', COLS, {
        connector: 'kafka',
        topic: appendTopic,
        'properties.bootstrap.servers': bootstrap,
        format: 'json',
        'scan.startup.mode': 'earliest-offset',
      });
      return kafkaConnector.createSource!(t, t.schema);
    },
    parallelism: 3,
    complete: (rows) => rows.length >= TOTAL,
    midUnit: insidePartition,
    verify: verifyAppend,
    restores: 4,
  });

  runSourceConformance('upsert-kafka (bounded latest-offset, 2 partitions, 2 subtasks)', {
    source: () => {
      const t = makeTable(
        'src',
        COLS,
        {
          connector: 'upsert-kafka',
          topic: upsertTopic,
          'properties.bootstrap.servers': bootstrap,
          'key.format': 'json',
          'value.format': 'json',
          'scan.bounded.mode': 'latest-offset',
        },
        { primaryKey: ['id'] },
      );
      return upsertKafkaConnector.createSource!(t, t.schema);
    },
    parallelism: 2,
    changelogKey: [0],
    midUnit: insidePartition,
    verify: (rows) => {
      // The fold of the uninterrupted read is the topic's last value per key.
      const last = new Map<number, string | null>();
      for (let i = 0; i < UPSERT_MESSAGES; i++) {
        const m = upsertMessage(i);
        last.set(JSON.parse(m.key as string).id as number, m.value === null ? null : (JSON.parse(m.value as string).name as string));
      }
      const held = new Map<number, string>();
      for (const [kind, id, name] of rows) {
        if (kind === '+I' || kind === '+U') held.set(id as number, name as string);
        else held.delete(id as number);
      }
      expect(held).toEqual(new Map([...last].filter(([, v]) => v !== null) as [number, string][]));
    },
  });
});
