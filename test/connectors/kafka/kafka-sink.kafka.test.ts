/**
 * The Kafka sinks against a real broker: the exactly-once conformance suite (reading back with
 * isolation read_committed), upsert-kafka's latest-value-per-key view, and the other guarantees.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kafkaConnector, upsertKafkaConnector } from '../../../connectors/kafka/index.js';
import { jsonObjectDecoder } from '../../../connectors/formats/json-format.js';
import { RowKind } from '../../../src/model/changelog.js';
import { CONFORMANCE_SCHEMA, runTwoPhaseCommitConformance, type ConformanceTarget } from '../../sink/conformance/two-phase-commit-suite.js';
import { createTopics, kafkaOrSkip, readTopic, uniqueTopic } from '../../support/kafka.js';
import { makeTable, sinkContext } from '../table-helper.js';

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';

const fields = CONFORMANCE_SCHEMA.fields.map((f, i) => ({ field: f, position: i, column: i }));
const decodeRow = jsonObjectDecoder(fields, { failOnMissingField: true });

function rowOf(value: Buffer): unknown[] {
  const cols: unknown[][] = CONFORMANCE_SCHEMA.fields.map(() => []);
  decodeRow(JSON.parse(value.toString('utf8')), cols, 0);
  return cols.map((c) => c[0]);
}

const created = new Set<string>();

/** Same dir, same topic and transactional ids: a new sink instance there is a restarted process. */
function kafkaTarget(upsert: boolean) {
  return async (dir: string): Promise<ConformanceTarget> => {
    const tag = createHash('sha1').update(dir).digest('hex').slice(0, 10);
    const topic = `conf-${upsert ? 'up' : 'ap'}-${tag}`;
    if (!created.has(topic)) {
      await createTopics(bootstrap, [{ topic, partitions: 3 }]);
      created.add(topic);
    }
    const cols = CONFORMANCE_SCHEMA.fields.map((f) => [f.name, f.type] as const);
    const options: Record<string, string> = upsert
      ? { connector: 'upsert-kafka', topic, 'properties.bootstrap.servers': bootstrap, 'key.format': 'json', 'value.format': 'json' }
      : { connector: 'kafka', topic, 'properties.bootstrap.servers': bootstrap, format: 'json' };
    options['sink.delivery-guarantee'] = 'exactly-once';
    options['sink.transactional-id-prefix'] = `conf-${tag}`;
    const table = makeTable('out', cols, options, { primaryKey: upsert ? ['id'] : [] });
    const sink = (upsert ? upsertKafkaConnector : kafkaConnector).createSink!(table, CONFORMANCE_SCHEMA);
    expect(sink.acceptsUpdates).toBe(upsert);
    return {
      sink: sink.createWriter(sinkContext(CONFORMANCE_SCHEMA, upsert ? [0] : [])),
      async readCommitted() {
        const messages = await readTopic(bootstrap, topic);
        if (!upsert) return messages.map((m) => rowOf(m.value!));
        // The table an upsert topic stands for: the last value per key, tombstones delete.
        const latest = new Map<string, unknown[]>();
        for (const m of messages) {
          const k = m.key!.toString('utf8');
          if (m.value === null) latest.delete(k);
          else latest.set(k, rowOf(m.value));
        }
        return [...latest.values()];
      },
    };
  };
}

describe.skipIf(!kafka)('kafka sinks', () => {
  runTwoPhaseCommitConformance('kafka (exactly-once, json)', kafkaTarget(false));
  runTwoPhaseCommitConformance('upsert-kafka (exactly-once, json)', kafkaTarget(true), { upsert: true });

  it.each(['at-least-once', 'none'])('%s writes every row once in a run without failures', async (guarantee) => {
    const topic = uniqueTopic('plain');
    await createTopics(bootstrap, [{ topic, partitions: 2 }]);
    const table = makeTable(
      'out',
      [
        ['id', CONFORMANCE_SCHEMA.fields[0].type],
        ['name', CONFORMANCE_SCHEMA.fields[1].type],
      ],
      {
        connector: 'kafka',
        topic,
        'properties.bootstrap.servers': bootstrap,
        format: 'csv',
        'sink.delivery-guarantee': guarantee,
      },
    );
    const schema = { fields: table.schema.fields };
    const writer = kafkaConnector.createSink!(table, schema).createWriter(sinkContext(schema));
    await writer.open();
    await writer.recover([], 0);
    const txn = await writer.begin(1);
    const n = 20_000;
    await writer.write(txn, {
      size: n,
      kinds: new Uint8Array(n),
      columns: [Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => `n,${i}`)],
    });
    const c = await writer.preCommit(txn);
    await writer.commit(c);
    await writer.close();
    const messages = await readTopic(bootstrap, topic);
    expect(messages.length).toBe(n);
    const values = messages.map((m) => m.value!.toString()).sort();
    expect(values[0]).toBe('0,"n,0"');
    expect(new Set(values).size).toBe(n);
  });

  it.each([
    ['fixed', [0, 2]],
    ['round-robin', [1, 1]],
  ] as const)('sink.partitioner = %s', async (partitioner, expected) => {
    const topic = uniqueTopic('part');
    await createTopics(bootstrap, [{ topic, partitions: 2 }]);
    const table = makeTable('out', [['id', CONFORMANCE_SCHEMA.fields[0].type]], {
      connector: 'kafka',
      topic,
      'properties.bootstrap.servers': bootstrap,
      format: 'json',
      'sink.partitioner': partitioner,
    });
    const schema = { fields: table.schema.fields };
    // subtask 1 of 2: 'fixed' writes everything to partition 1
    const writer = kafkaConnector.createSink!(table, schema).createWriter({ ...sinkContext(schema), subtaskIndex: 1, parallelism: 2 });
    await writer.open();
    const txn = await writer.begin(1);
    await writer.write(txn, { size: 2, kinds: new Uint8Array(2), columns: [[1, 2]] });
    await writer.commit(await writer.preCommit(txn));
    await writer.close();
    const messages = await readTopic(bootstrap, topic);
    const counts = [0, 0];
    for (const m of messages) counts[m.partition]++;
    expect(counts).toEqual(expected);
  });

  it('debezium-json sink writes the changelog as change events', async () => {
    const topic = uniqueTopic('dbz');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    const table = makeTable(
      'out',
      [
        ['id', CONFORMANCE_SCHEMA.fields[0].type],
        ['name', CONFORMANCE_SCHEMA.fields[1].type],
      ],
      {
        connector: 'kafka',
        topic,
        'properties.bootstrap.servers': bootstrap,
        format: 'debezium-json',
      },
    );
    const schema = { fields: table.schema.fields };
    const sink = kafkaConnector.createSink!(table, schema);
    expect(sink.acceptsUpdates).toBe(true);
    const writer = sink.createWriter(sinkContext(schema));
    await writer.open();
    const txn = await writer.begin(1);
    const { INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE } = RowKind;
    await writer.write(txn, {
      size: 4,
      kinds: Uint8Array.from([INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE]),
      columns: [
        [1, 1, 1, 1],
        ['a', 'a', 'b', 'b'],
      ],
    });
    await writer.commit(await writer.preCommit(txn));
    await writer.close();
    const values = (await readTopic(bootstrap, topic)).map((m) => JSON.parse(m.value!.toString()));
    expect(values).toEqual([
      { before: null, after: { id: 1, name: 'a' }, op: 'c' },
      { before: { id: 1, name: 'a' }, after: null, op: 'd' },
      { before: null, after: { id: 1, name: 'b' }, op: 'c' },
      { before: { id: 1, name: 'b' }, after: null, op: 'd' },
    ]);
  });
});
