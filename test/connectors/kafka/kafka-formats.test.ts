/**
 * Message formats and Kafka option validation (no broker needed).
 */
import { describe, expect, it } from 'vitest';
import { kafkaConnector, upsertKafkaConnector } from '../../../connectors/kafka/index.js';
import { resolveKafkaConfig } from '../../../connectors/kafka/kafka-options.js';
import { splitOwner } from '../../../connectors/kafka/kafka-splits.js';
import { MessageEncoder } from '../../../connectors/kafka/message-encoder.js';
import { changelogDecoder, ConvertError, rowDecoder, rowEncoder, DEFAULT_FORMAT_OPTIONS, type FormatField } from '../../../connectors/formats/index.js';
import { type } from '../../../src/model/types.js';
import { RowKind } from '../../../src/model/changelog.js';
import { errorOf, makeTable } from '../table-helper.js';

const FIELDS: FormatField[] = [
  { field: { name: 'id', type: type('BIGINT') }, position: 0, column: 0 },
  { field: { name: 'name', type: type('STRING') }, position: 1, column: 1 },
  { field: { name: 'amount', type: type('DECIMAL', true, 10, 2) }, position: 2, column: 2 },
  { field: { name: 'ts', type: type('TIMESTAMP', true, 3) }, position: 3, column: 3 },
  { field: { name: 'day', type: type('DATE') }, position: 4, column: 4 },
  { field: { name: 'ok', type: type('BOOLEAN') }, position: 5, column: 5 },
  { field: { name: 'raw', type: type('BYTES') }, position: 6, column: 6 },
];
const ROW = [42, 'a,"b"\nc', -1234n, Date.UTC(2024, 0, 2, 3, 4, 5, 678), 19725, true, new Uint8Array([0, 255, 7])];
const NULLS = [7, null, null, null, null, null, null];

function roundTrip(format: 'json' | 'csv', row: unknown[]): unknown[] {
  const cols = row.map((v) => [v]);
  const bytes = rowEncoder(format, FIELDS, DEFAULT_FORMAT_OPTIONS).encode(cols, 0, RowKind.INSERT)!;
  const out: unknown[][] = FIELDS.map(() => []);
  rowDecoder(format, FIELDS, FIELDS.length, DEFAULT_FORMAT_OPTIONS).decode(bytes, out, 0);
  return out.map((c) => c[0]);
}

describe('formats', () => {
  it.each(['json', 'csv'] as const)('%s round-trips every value exactly, NULLs included', (format) => {
    expect(roundTrip(format, ROW)).toEqual(ROW);
    expect(roundTrip(format, NULLS)).toEqual(NULLS);
  });

  it('json writes Flink SQL text for time types and plain numbers for DECIMAL', () => {
    const bytes = rowEncoder('json', FIELDS, DEFAULT_FORMAT_OPTIONS).encode(
      ROW.map((v) => [v]),
      0,
      RowKind.INSERT,
    )!;
    expect(JSON.parse(bytes.toString())).toEqual({
      id: 42,
      name: 'a,"b"\nc',
      amount: -12.34,
      ts: '2024-01-02 03:04:05.678',
      day: '2024-01-03',
      ok: true,
      raw: 'AP8H',
    });
  });

  it('json reports a bad field by name; csv a wrong field count', () => {
    const out: unknown[][] = FIELDS.map(() => []);
    const json = rowDecoder('json', FIELDS, FIELDS.length, DEFAULT_FORMAT_OPTIONS);
    expect(() => json.decode(Buffer.from('{"id": "x"}'), out, 0)).toThrow(ConvertError);
    expect(() => json.decode(Buffer.from('{"id": "x"}'), out, 0)).toThrow(/field 'id'/);
    expect(() => json.decode(Buffer.from('[1]'), out, 0)).toThrow(/expected a JSON object/);
    expect(() => json.decode(Buffer.from('{'), out, 0)).toThrow(SyntaxError);
    const csv = rowDecoder('csv', FIELDS, FIELDS.length, DEFAULT_FORMAT_OPTIONS);
    expect(() => csv.decode(Buffer.from('1,2'), out, 0)).toThrow(/expected 7 fields, got 2/);
  });

  it('invalid UTF-8 is a malformed record in every text format, never a silent U+FFFD', () => {
    const out: unknown[][] = FIELDS.map(() => []);
    const bad = (text: string): Buffer => Buffer.concat([Buffer.from(text), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const json = rowDecoder('json', FIELDS, FIELDS.length, DEFAULT_FORMAT_OPTIONS);
    expect(() => json.decode(bad('{"name": "x'), out, 0)).toThrow(ConvertError);
    expect(() => json.decode(bad('{"name": "x'), out, 0)).toThrow(/invalid UTF-8 at byte offset 11/);
    const csv = rowDecoder('csv', FIELDS, FIELDS.length, DEFAULT_FORMAT_OPTIONS);
    expect(() => csv.decode(bad('1,'), out, 0)).toThrow(/invalid UTF-8 at byte offset 2/);
    const str = [{ field: { name: 's', type: type('STRING') }, position: 0, column: 0 }];
    const raw = rowDecoder('raw', str, 1, DEFAULT_FORMAT_OPTIONS);
    expect(() => raw.decode(Buffer.from([0x61, 0xff]), [[]], 0)).toThrow(/invalid UTF-8 at byte offset 1/);
    const dbz = changelogDecoder(FIELDS.slice(0, 2), DEFAULT_FORMAT_OPTIONS);
    expect(() => dbz.decode(bad('{"op": "c", "after": {"id": 1, "name": "x'), { cols: [[], []], startRow: () => 0 })).toThrow(ConvertError);
    // valid multi-byte text still decodes
    raw.decode(Buffer.from('żółw 🐢'), out, 0);
    expect(out[0][0]).toBe('żółw 🐢');
  });

  it('debezium-json decodes c/r/u/d and rejects an update without a before image', () => {
    const dec = changelogDecoder(FIELDS.slice(0, 2), DEFAULT_FORMAT_OPTIONS);
    const kinds: number[] = [];
    const cols: unknown[][] = [[], []];
    const out = { cols, startRow: (k: number) => kinds.push(k) - 1 };
    dec.decode(Buffer.from(JSON.stringify({ op: 'u', before: { id: 1, name: 'a' }, after: { id: 1, name: 'b' } })), out);
    dec.decode(Buffer.from(JSON.stringify({ op: 'd', before: { id: 1, name: 'b' }, after: null })), out);
    expect(kinds).toEqual([RowKind.UPDATE_BEFORE, RowKind.UPDATE_AFTER, RowKind.DELETE]);
    expect(cols).toEqual([
      [1, 1, 1],
      ['a', 'b', 'b'],
    ]);
    expect(() => dec.decode(Buffer.from(JSON.stringify({ op: 'u', before: null, after: { id: 1 } })), out)).toThrow(/REPLICA IDENTITY FULL/);
    expect(() => dec.decode(Buffer.from(JSON.stringify({ op: 'x' })), out)).toThrow(/unknown Debezium operation/);
  });

  it('upsert-kafka writes -D as a tombstone and drops -U', () => {
    const t = makeTable(
      't',
      [
        ['id', type('BIGINT', false)],
        ['name', type('STRING')],
      ],
      {
        connector: 'upsert-kafka',
        topic: 'x',
        'properties.bootstrap.servers': 'h:1',
        'key.format': 'json',
        'value.format': 'json',
        'value.fields-include': 'EXCEPT_KEY',
      },
      { primaryKey: ['id'] },
    );
    const enc = new MessageEncoder(resolveKafkaConfig(t, 'upsert-kafka'), t.schema);
    const messages: { key?: unknown; value: unknown }[] = [];
    const { INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE } = RowKind;
    enc.encode(
      {
        size: 4,
        kinds: Uint8Array.from([INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE]),
        columns: [
          [1, 1, 1, 1],
          ['a', 'a', 'b', 'b'],
        ],
      },
      messages as never[],
    );
    expect(messages.map((m) => [String(m.key), m.value === null ? null : String(m.value)])).toEqual([
      ['{"id":1}', '{"name":"a"}'],
      ['{"id":1}', '{"name":"b"}'],
      ['{"id":1}', null],
    ]);
  });
});

describe('kafka options', () => {
  const base = { connector: 'kafka', topic: 't', 'properties.bootstrap.servers': '127.0.0.1:9092', format: 'json' };
  const cols = [['id', type('BIGINT')]] as const;
  const err = (options: Record<string, string>, connector = kafkaConnector) =>
    errorOf(() => connector.createSource!(makeTable('t', cols, options), makeTable('t', cols, options).schema));

  it('names unknown and invalid options with the valid values', () => {
    expect(err({ ...base, 'scan.startup.mode': 'beginning' }).message).toMatch(
      /'scan.startup.mode' must be one of 'earliest-offset', 'latest-offset', 'group-offsets', 'timestamp', 'specific-offsets'/,
    );
    expect(err({ ...base, 'properties.auto.commit': 'true' }).message).toMatch(/unknown option 'properties.auto.commit'/);
    expect(err({ ...base, 'csv.field-delimiter': ';' }).message).toMatch(/'csv.field-delimiter' applies to format 'csv', but the value format is 'json'/);
    expect(err({ ...base, 'scan.startup.mode': 'timestamp' }).message).toMatch(/needs 'scan.startup.timestamp-millis'/);
    expect(err({ ...base, 'scan.startup.mode': 'specific-offsets', 'scan.startup.specific-offsets': 'p0:1' }).message).toMatch(/partition:0,offset:42/);
    expect(err({ ...base, 'scan.startup.mode': 'group-offsets' }).message).toMatch(/needs 'properties.group.id'/);
    expect(err({ ...base, 'topic-pattern': 'x.*' }).message).toMatch(/exclude each other/);
    expect(err({ ...base, 'properties.bootstrap.servers': 'nohost' }).message).toMatch(/host:port/);
    expect(err({ ...base, 'key.fields': 'id' }).message).toMatch(/'key.fields' needs 'key.format'/);
    expect(err({ ...base, 'key.format': 'json', 'key.fields': 'nope' }).message).toMatch(/key column 'nope' is not a physical column/);
  });

  it('defaults: group-offsets with a group id, earliest-offset without; read_committed; at-least-once', () => {
    const t = makeTable('t', cols, base);
    const c = resolveKafkaConfig(t, 'kafka');
    expect(c.startup.mode).toBe('earliest-offset');
    expect(c.readCommitted).toBe(true);
    expect(c.sink.guarantee).toBe('at-least-once');
    expect(resolveKafkaConfig(makeTable('t', cols, { ...base, 'properties.group.id': 'g' }), 'kafka').startup.mode).toBe('group-offsets');
    expect(
      resolveKafkaConfig(
        makeTable('t', cols, {
          ...base,
          'scan.startup.mode': 'specific-offsets',
          'scan.startup.specific-offsets': 'partition:0,offset:42;partition:3,offset:7',
        }),
        'kafka',
      ).startup.specificOffsets,
    ).toEqual(
      new Map([
        [0, 42],
        [3, 7],
      ]),
    );
  });

  it('an append-only kafka sink refuses updates; upsert-kafka and debezium-json take them', () => {
    const t = makeTable('t', cols, base);
    expect(kafkaConnector.createSink!(t, t.schema).acceptsUpdates).toBe(false);
    const d = makeTable('t', cols, { ...base, format: 'debezium-json' });
    expect(kafkaConnector.createSink!(d, d.schema).acceptsUpdates).toBe(true);
    const u = makeTable(
      't',
      cols,
      { connector: 'upsert-kafka', topic: 't', 'properties.bootstrap.servers': 'h:1', 'key.format': 'json', 'value.format': 'json' },
      { primaryKey: ['id'] },
    );
    expect(upsertKafkaConnector.createSink!(u, u.schema).acceptsUpdates).toBe(true);
    const withPk = makeTable('t', cols, base, { primaryKey: ['id'] });
    expect(errorOf(() => kafkaConnector.createSink!(withPk, withPk.schema)).message).toMatch(/use connector 'upsert-kafka' or format 'debezium-json'/);
  });

  it('discovered partitions get the owner Flink gives them', () => {
    // ((hash("topic") * 31) & 0x7fffffff) % 3 = 1 for Java's "topic".hashCode() = 110546223
    expect([0, 1, 2, 3].map((p) => splitOwner('topic', p, 3))).toEqual([1, 2, 0, 1]);
  });
});
