/**
 * The Kafka source against a real broker: startup modes, exact positions and restores, formats,
 * metadata columns, malformed messages, read_committed, partition discovery, upsert-kafka.
 */
import { describe, expect, it } from 'vitest';
import { kafkaConnector, upsertKafkaConnector } from '../../../connectors/kafka/index.js';
import type { TableDef } from '../../../src/catalog/table.js';
import { type SqlType, type } from '../../../src/model/types.js';
import { ROW_KIND_SHORT, rowAt } from '../../../src/model/changelog.js';
import type { Source, SourceReader, SplitPosition } from '../../../src/runtime/source.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { createTopics, kafkaClient, kafkaOrSkip, produce, retryTransient, uniqueTopic, type TestMessage } from '../../support/kafka.js';
import { makeTable, sourceContext } from '../table-helper.js';

const kafka = await kafkaOrSkip();
const bootstrap = kafka?.bootstrap ?? '127.0.0.1:1';

interface Readers {
  readers: SourceReader[];
  counters: Record<string, number>;
}

function table(
  topic: string,
  columns: readonly (readonly [string, SqlType])[],
  options: Record<string, string>,
  extra: Parameters<typeof makeTable>[3] = {},
): TableDef {
  const connector = options.connector ?? 'kafka';
  return makeTable('src', columns, { connector, topic, 'properties.bootstrap.servers': bootstrap, ...options }, extra);
}

function sourceOf(t: TableDef, names?: string[]): Source {
  const factory = t.options.connector === 'upsert-kafka' ? upsertKafkaConnector : kafkaConnector;
  const schema = names ? { fields: names.map((n) => t.schema.fields.find((f) => f.name === n)!) } : t.schema;
  return factory.createSource!(t, schema);
}

/** Enumerates and starts `parallelism` readers as the runtime does (split j to subtask j % p). */
async function start(source: Source, parallelism = 1, restored: SplitPosition[] = []): Promise<Readers> {
  const splits = await source.enumerate(parallelism, restored);
  const counters: Record<string, number> = {};
  const readers: SourceReader[] = [];
  for (let i = 0; i < parallelism; i++) {
    const mine = splits.filter((_, j) => j % parallelism === i);
    const ids = new Set(mine.map((s) => s.id));
    const r = source.createReader(sourceContext({ fields: [] }, counters, i, parallelism));
    await r.assign(
      mine,
      restored.filter((p) => ids.has(p.split.id)),
    );
    readers.push(r);
  }
  return { readers, counters };
}

/** Polls every reader until `n` rows (or every reader ended); rows as '+I[...]' strings or arrays. */
async function read(rs: Readers, n: number, timeoutMs = HANG_GUARD_MS): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  const ended = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (rows.length < n && ended.size < rs.readers.length) {
    if (Date.now() > deadline) throw new Error(`timed out after ${rows.length} of ${n} rows`);
    let idle = true;
    for (let i = 0; i < rs.readers.length; i++) {
      if (ended.has(i)) continue;
      const b = await rs.readers[i].poll();
      if (b === 'end') ended.add(i);
      else if (b) {
        idle = false;
        for (let k = 0; k < b.size; k++) rows.push([ROW_KIND_SHORT[b.kinds[k]], ...rowAt(b, k)]);
      }
    }
    if (idle) await new Promise((r) => setTimeout(r, 10));
  }
  return rows;
}

async function closeAll(rs: Readers): Promise<void> {
  for (const r of rs.readers) await r.close();
}

const positions = (rs: Readers): SplitPosition[] => rs.readers.flatMap((r) => r.positions());

const json = (o: unknown): string => JSON.stringify(o);
const COLS = [
  ['id', type('BIGINT')],
  ['name', type('STRING')],
] as const;

async function topicWith(partitions: number, messages: (i: number) => TestMessage, n: number, prefix = 'src'): Promise<string> {
  const topic = uniqueTopic(prefix);
  await createTopics(bootstrap, [{ topic, partitions }]);
  await produce(
    bootstrap,
    topic,
    Array.from({ length: n }, (_, i) => messages(i)),
  );
  return topic;
}

const byId = (rows: unknown[][]): unknown[][] => [...rows].sort((a, b) => (a[1] as number) - (b[1] as number));

describe.skipIf(!kafka)('kafka source', () => {
  it('reads every partition from the earliest offset, and a restore continues exactly at the positions', async () => {
    const n = 3000;
    const topic = await topicWith(3, (i) => ({ value: json({ id: i, name: `n${i}` }), partition: i % 3 }), n);
    const t = table(topic, COLS, { format: 'json', 'scan.startup.mode': 'earliest-offset' });
    const first = await start(sourceOf(t), 2);
    const part1 = await read(first, 1000);
    const pos = positions(first);
    await closeAll(first);
    // Positions describe exactly the rows handed out.
    const counted = pos.reduce((acc, p) => acc + (p.position as { offset: number }).offset, 0);
    expect(counted).toBe(part1.length);
    const second = await start(sourceOf(t), 3, pos);
    const part2 = await read(second, n - part1.length);
    expect(await second.readers[0].poll()).toBeUndefined();
    await closeAll(second);
    const all = byId([...part1, ...part2]);
    expect(all.length).toBe(n);
    expect(all[0]).toEqual(['+I', 0, 'n0']);
    expect(new Set(all.map((r) => r[1])).size).toBe(n);
  });

  it('latest-offset skips what is there, timestamp and specific-offsets start where told', async () => {
    const base = Date.UTC(2024, 0, 1);
    const topic = await topicWith(1, (i) => ({ value: json({ id: i, name: 'x' }), timestamp: base + i * 1000 }), 10);
    const latest = await start(sourceOf(table(topic, COLS, { format: 'json', 'scan.startup.mode': 'latest-offset' })));
    expect(await read(latest, 1, 300).catch(() => [])).toEqual([]);
    await produce(bootstrap, topic, [{ value: json({ id: 10, name: 'late' }) }]);
    expect(await read(latest, 1)).toEqual([['+I', 10, 'late']]);
    await closeAll(latest);

    const byTs = await start(
      sourceOf(table(topic, COLS, { format: 'json', 'scan.startup.mode': 'timestamp', 'scan.startup.timestamp-millis': String(base + 7500) })),
    );
    expect((await read(byTs, 3)).map((r) => r[1])).toEqual([8, 9, 10]);
    await closeAll(byTs);

    const specific = await start(
      sourceOf(table(topic, COLS, { format: 'json', 'scan.startup.mode': 'specific-offsets', 'scan.startup.specific-offsets': 'partition:0,offset:9' })),
    );
    expect((await read(specific, 2)).map((r) => r[1])).toEqual([9, 10]);
    await closeAll(specific);
  });

  it('group-offsets: commits only when a checkpoint completes, and starts from them', async () => {
    const topic = await topicWith(2, (i) => ({ value: json({ id: i, name: 'g' }), partition: i % 2 }), 100);
    const group = uniqueTopic('group');
    const missing = sourceOf(table(topic, COLS, { format: 'json', 'properties.group.id': group }));
    await expect(start(missing)).rejects.toThrow(/no committed offset for .*auto\.offset\.reset/);

    const t = table(topic, COLS, { format: 'json', 'properties.group.id': group, 'scan.startup.mode': 'earliest-offset' });
    const rs = await start(sourceOf(t));
    const rows = await read(rs, 100);
    rs.readers[0].positions();
    const admin = kafkaClient(bootstrap).admin();
    await admin.connect();
    const committed = async () =>
      (await retryTransient(() => admin.fetchOffsets({ groupId: group, topics: [topic] })))[0].partitions.map((p) => Number(p.offset)).sort();
    expect(await committed()).toEqual([-1, -1]);
    await rs.readers[0].notifyCheckpointComplete(1);
    expect(await committed()).toEqual([50, 50]);
    await closeAll(rs);
    expect(rows.length).toBe(100);

    await produce(bootstrap, topic, [{ value: json({ id: 100, name: 'after' }), partition: 1 }]);
    const resumed = await start(sourceOf(table(topic, COLS, { format: 'json', 'properties.group.id': group })));
    expect(await read(resumed, 1)).toEqual([['+I', 100, 'after']]);
    await closeAll(resumed);
    await admin.disconnect();
  });

  it('a topic that does not exist is a user error naming it', async () => {
    const src = sourceOf(table('no-such-topic-weir', COLS, { format: 'json' }));
    const err = await src.enumerate(1, []).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; domain?: string },
    );
    expect(err?.code).toBe('TOPIC_NOT_FOUND');
    expect(err?.domain).toBe('user');
    expect(err?.message).toMatch(/topic 'no-such-topic-weir' does not exist/);
  });

  it('a malformed message fails the job naming topic, partition and offset, or is skipped and counted', async () => {
    const msgs: TestMessage[] = [
      { value: json({ id: 1, name: 'a' }) },
      { value: '{"id": 2, "name": ' },
      { value: json({ id: 'x', name: 'c' }) },
      { value: json({ id: 4, name: 'd' }) },
    ];
    const topic = uniqueTopic('bad');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    await produce(bootstrap, topic, msgs);
    const strict = await start(sourceOf(table(topic, COLS, { format: 'json' })));
    const err = await read(strict, 4).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; details?: Record<string, unknown> },
    );
    await closeAll(strict);
    expect(err?.code).toBe('MALFORMED_RECORD');
    expect(err?.message).toContain(`topic '${topic}' partition 0 offset 1`);
    expect(err?.details).toMatchObject({ topic, partition: 0, offset: 1 });

    const lenient = await start(sourceOf(table(topic, COLS, { format: 'json', 'json.ignore-parse-errors': 'true', 'scan.bounded.mode': 'latest-offset' })));
    const rows = await read(lenient, 10);
    await closeAll(lenient);
    expect(rows).toEqual([
      ['+I', 1, 'a'],
      ['+I', 4, 'd'],
    ]);
    expect(lenient.counters['parse-errors-skipped']).toBe(2);
  });

  it('csv and raw values, key fields, metadata columns', async () => {
    const topic = uniqueTopic('fmt');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    await produce(bootstrap, topic, [
      { key: json({ k: 7 }), value: '1,"a,b",12.50', timestamp: 1_700_000_000_123 },
      { key: null, value: '2,,' },
    ]);
    const cols = [
      ['k', type('INT')],
      ['id', type('INT')],
      ['name', type('STRING')],
      ['amount', type('DECIMAL', true, 10, 2)],
      ['part', type('INT')],
      ['off', type('BIGINT')],
      ['ts', type('TIMESTAMP_LTZ', true, 3)],
      ['tp', type('STRING')],
    ] as const;
    const t = table(
      topic,
      cols,
      { 'key.format': 'json', 'key.fields': 'k', 'value.format': 'csv', 'value.fields-include': 'EXCEPT_KEY', 'scan.bounded.mode': 'latest-offset' },
      { metadata: { part: 'partition', off: 'offset', ts: 'timestamp', tp: 'topic' } },
    );
    const rs = await start(sourceOf(t));
    expect(await read(rs, 5)).toEqual([
      ['+I', 7, 1, 'a,b', 1250n, 0, 0, 1_700_000_000_123, topic],
      ['+I', null, 2, null, null, 0, 1, expect.any(Number), topic],
    ]);
    await closeAll(rs);

    const raw = await start(sourceOf(table(topic, [['line', type('STRING')]], { format: 'raw', 'scan.bounded.mode': 'latest-offset' })));
    expect(await read(raw, 5)).toEqual([
      ['+I', '1,"a,b",12.50'],
      ['+I', '2,,'],
    ]);
    await closeAll(raw);
    expect(() => sourceOf(table(topic, COLS, { format: 'raw' }))).toThrow(/format 'raw' reads and writes exactly one column/);
  });

  it('debezium-json is a changelog: c/r as +I, u as -U/+U, d as -D', async () => {
    const topic = uniqueTopic('dbz');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    const ev = (op: string, before: unknown, after: unknown) => ({ value: json({ before, after, op, ts_ms: 1 }) });
    await produce(bootstrap, topic, [
      ev('r', null, { id: 1, name: 'a' }),
      ev('c', null, { id: 2, name: 'b' }),
      { value: json({ schema: {}, payload: { before: { id: 1, name: 'a' }, after: { id: 1, name: 'A' }, op: 'u' } }) },
      ev('d', { id: 2, name: 'b' }, null),
      { value: null },
    ]);
    const src = sourceOf(table(topic, COLS, { format: 'debezium-json', 'scan.bounded.mode': 'latest-offset' }));
    expect(src.changelogMode).toBe('updating');
    const rs = await start(src);
    expect(await read(rs, 10)).toEqual([
      ['+I', 1, 'a'],
      ['+I', 2, 'b'],
      ['-U', 1, 'a'],
      ['+U', 1, 'A'],
      ['-D', 2, 'b'],
    ]);
    await closeAll(rs);
  });

  it('read_committed: aborted transactions are skipped, open ones hold the reader back', async () => {
    const topic = uniqueTopic('txn');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    const client = kafkaClient(bootstrap);
    const producer = client.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: json({ id: 1, name: 'aborted' }) }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: json({ id: 2, name: 'committed' }) }] });
    await committed.commit();
    const open = await producer.transaction();
    await open.send({ topic, messages: [{ value: json({ id: 3, name: 'open' }) }] });
    const rs = await start(sourceOf(table(topic, COLS, { format: 'json' })));
    expect(await read(rs, 2, 1000).catch(() => 'timeout')).toBe('timeout');
    await open.commit();
    const rows = await read(rs, 1);
    expect(rows).toEqual([['+I', 3, 'open']]);
    await closeAll(rs);
    await producer.disconnect();
  });

  it('discovers partitions added while running', async () => {
    const topic = await topicWith(1, (i) => ({ value: json({ id: i, name: 'p0' }) }), 2);
    const rs = await start(sourceOf(table(topic, COLS, { format: 'json', 'scan.topic-partition-discovery.interval': '200ms' })), 2);
    expect((await read(rs, 2)).length).toBe(2);
    const admin = kafkaClient(bootstrap).admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    await admin.disconnect();
    await produce(bootstrap, topic, [
      { value: json({ id: 10, name: 'p1' }), partition: 1 },
      { value: json({ id: 11, name: 'p2' }), partition: 2 },
    ]);
    const rows = await read(rs, 2);
    expect(byId(rows)).toEqual([
      ['+I', 10, 'p1'],
      ['+I', 11, 'p2'],
    ]);
    const ids = positions(rs)
      .map((p) => p.split.id)
      .sort();
    expect(ids).toEqual([`${topic}-0`, `${topic}-1`, `${topic}-2`]);
    await closeAll(rs);
  });

  it('upsert-kafka: +I, then -U/+U per key, tombstones as -D; a restore rebuilds the last row per key', async () => {
    const topic = uniqueTopic('upsert');
    await createTopics(bootstrap, [{ topic, partitions: 1 }]);
    const kv = (k: number, name: string | null): TestMessage => ({ key: json({ id: k }), value: name === null ? null : json({ id: k, name }) });
    await produce(bootstrap, topic, [kv(1, 'a'), kv(2, 'b'), kv(1, 'a2'), kv(3, null)]);
    const t = table(topic, COLS, { connector: 'upsert-kafka', 'key.format': 'json', 'value.format': 'json' }, { primaryKey: ['id'] });
    const src = sourceOf(t);
    expect(src.changelogMode).toBe('updating');
    const rs = await start(src);
    expect(await read(rs, 4)).toEqual([
      ['+I', 1, 'a'],
      ['+I', 2, 'b'],
      ['-U', 1, 'a'],
      ['+U', 1, 'a2'],
    ]);
    const pos = positions(rs);
    await closeAll(rs);
    await produce(bootstrap, topic, [kv(2, null), kv(1, 'a3')]);
    const restored = await start(sourceOf(t), 1, pos);
    expect(await read(restored, 3)).toEqual([
      ['-D', 2, 'b'],
      ['-U', 1, 'a2'],
      ['+U', 1, 'a3'],
    ]);
    await closeAll(restored);
    expect(() => sourceOf(table(topic, COLS, { connector: 'upsert-kafka', 'key.format': 'json', 'value.format': 'json' }))).toThrow(/needs a PRIMARY KEY/);
  });

  it('bounded reads end at the offsets fixed at the first start, also after a restore', async () => {
    const topic = await topicWith(2, (i) => ({ value: json({ id: i, name: 'b' }), partition: i % 2 }), 40);
    const t = table(topic, COLS, {
      format: 'json',
      'scan.bounded.mode': 'specific-offsets',
      'scan.bounded.specific-offsets': 'partition:0,offset:10;partition:1,offset:15',
    });
    const src = sourceOf(t);
    expect(src.bounded).toBe(true);
    const rs = await start(src);
    const part1 = await read(rs, 12);
    const pos = positions(rs);
    await closeAll(rs);
    await produce(bootstrap, topic, [{ value: json({ id: 99, name: 'beyond' }), partition: 0 }]);
    const rest = await start(sourceOf(t), 2, pos);
    const part2 = await read(rest, 1000);
    expect(part1.length + part2.length).toBe(25);
    expect(await rest.readers[0].poll()).toBe('end');
    await closeAll(rest);
  });
});
