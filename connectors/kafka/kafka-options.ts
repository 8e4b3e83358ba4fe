/**
 * Options of 'connector' = 'kafka' and 'connector' = 'upsert-kafka' (Flink's names), validated
 * into one KafkaConfig shared by the source and the sink.
 */
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, invalidOption, opt, optionError, validateOptions, type AnyOpt } from '../../src/connector/options.js';
import { userError } from '../../src/errors.js';
import { physicalFields } from '../common/columns.js';
import { DEFAULT_FORMAT_OPTIONS, FORMAT_NAMES, type FormatName, type FormatOptions } from '../formats/index.js';

export const STARTUP_MODES = ['earliest-offset', 'latest-offset', 'group-offsets', 'timestamp', 'specific-offsets'] as const;
export type StartupMode = (typeof STARTUP_MODES)[number];
export const BOUNDED_MODES = ['unbounded', 'latest-offset', 'group-offsets', 'timestamp', 'specific-offsets'] as const;
export type BoundedMode = (typeof BOUNDED_MODES)[number];
export const DELIVERY_GUARANTEES = ['exactly-once', 'at-least-once', 'none'] as const;
export type DeliveryGuarantee = (typeof DELIVERY_GUARANTEES)[number];
export const PARTITIONERS = ['default', 'fixed', 'round-robin'] as const;
export type SinkPartitioner = (typeof PARTITIONERS)[number];

/** Per-format options, accepted as '<fmt>.<opt>' (for 'format') and 'key.<fmt>.<opt>' / 'value.<fmt>.<opt>'. */
const FORMAT_OPTION_DEFS: Record<string, Record<string, AnyOpt>> = {
  json: {
    'ignore-parse-errors': opt.bool('skip malformed messages (counted) instead of failing the job'),
    'fail-on-missing-field': opt.bool('fail when a field is missing from a JSON object'),
    'timestamp-format.standard': opt.enum(['sql', 'iso-8601'], "timestamp text: 'SQL' (yyyy-MM-dd HH:mm:ss.SSS) is written; both are read"),
  },
  csv: {
    'ignore-parse-errors': opt.bool('skip malformed messages (counted) instead of failing the job'),
    'field-delimiter': opt.char('field delimiter'),
    'quote-character': opt.char('quote character'),
    'disable-quote-character': opt.bool('treat quotes as ordinary characters'),
    'null-literal': opt.string('text read and written as NULL'),
  },
  'debezium-json': {
    'ignore-parse-errors': opt.bool('skip malformed messages (counted) instead of failing the job'),
    'schema-include': opt.bool('messages are wrapped as {"schema":...,"payload":...} (also detected)'),
  },
  raw: {},
};

function formatOptionDefs(prefixes: readonly string[]): Record<string, AnyOpt> {
  const out: Record<string, AnyOpt> = {};
  for (const [fmt, defs] of Object.entries(FORMAT_OPTION_DEFS)) {
    for (const [name, def] of Object.entries(defs)) for (const p of prefixes) out[`${p}${fmt}.${name}`] = def;
  }
  return out;
}

/** Kafka client properties weir understands (kafkajs is not the Java client: others are errors). */
const PROPERTY_DEFS = {
  'properties.bootstrap.servers': opt.nonEmptyString("the brokers, 'host:port[,host:port...]'").required(),
  'properties.group.id': opt.nonEmptyString(
    'consumer group: offsets are committed to it when a checkpoint completes (for monitoring), and group-offsets startup reads them',
  ),
  'properties.client.id': opt.nonEmptyString('client id sent to the brokers'),
  'properties.auto.offset.reset': opt.enum(['earliest', 'latest', 'none'], 'group-offsets startup: where to start a partition without a committed offset'),
  'properties.isolation.level': opt.enum(['read_committed', 'read_uncommitted'], 'which records the source reads'),
  'properties.transaction.timeout.ms': opt.int('exactly-once sink: transaction timeout (the broker caps it at transaction.max.timeout.ms)', { min: 1000 }),
  'properties.request.timeout.ms': opt.int('request timeout', { min: 100 }),
  'properties.security.protocol': opt.enum(['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'], 'how to connect'),
  'properties.sasl.mechanism': opt.enum(['plain', 'scram-sha-256', 'scram-sha-512'], 'SASL mechanism'),
  'properties.sasl.username': opt.string('SASL user name'),
  'properties.sasl.password': opt.string('SASL password'),
  'properties.max.partition.fetch.bytes': opt.int('bytes fetched per partition and request', { min: 1024 }),
  'properties.fetch.max.wait.ms': opt.int('how long a fetch waits for data', { min: 0 }),
} as const;

const SINK_DEFS = {
  'sink.delivery-guarantee': opt
    .enum(DELIVERY_GUARANTEES, 'exactly-once (transactions committed with checkpoints), at-least-once or none')
    .default('at-least-once'),
  'sink.transactional-id-prefix': opt.nonEmptyString(
    "exactly-once: prefix of the producers' transactional ids, unique per sink (default: weir-<job>-<sink operator uid>)",
  ),
  'sink.parallelism': opt.int('ignored: sinks run at the job parallelism', { min: 1 }),
} as const;

const SCAN_BOUNDED_DEFS = {
  'scan.bounded.mode': opt.enum(BOUNDED_MODES, 'where a bounded read ends; unbounded reads forever').default('unbounded'),
  'scan.bounded.timestamp-millis': opt.int('bounded mode timestamp: end at the first record at or after this epoch millisecond', { min: 0 }),
  'scan.bounded.specific-offsets': opt.nonEmptyString("bounded mode specific-offsets: 'partition:0,offset:42;partition:1,offset:300'"),
} as const;

export const KAFKA_OPTIONS = defineOptions('kafka', {
  topic: opt.nonEmptyString("topic name, or several separated by ';'"),
  'topic-pattern': opt.nonEmptyString('regular expression of topics to read (a whole-name match)'),
  format: opt.enum(FORMAT_NAMES, 'value format (same as value.format)'),
  'value.format': opt.enum(FORMAT_NAMES, 'value format'),
  'key.format': opt.enum(['json', 'csv', 'raw'], 'key format (with key.fields)'),
  'key.fields': opt.nonEmptyString("physical columns read from / written to the key, separated by ';'"),
  'key.fields-prefix': opt.string('prefix of key columns, removed to get the field names in the key'),
  'value.fields-include': opt.enum(['all', 'except_key'], "whether the value also holds the key columns ('ALL') or not ('EXCEPT_KEY')").default('all'),
  'scan.startup.mode': opt.enum(STARTUP_MODES, 'where reading starts (default: group-offsets with properties.group.id, else earliest-offset)'),
  'scan.startup.timestamp-millis': opt.int('startup mode timestamp: the first record at or after this epoch millisecond', { min: 0 }),
  'scan.startup.specific-offsets': opt.nonEmptyString("startup mode specific-offsets: 'partition:0,offset:42;partition:1,offset:300'"),
  'scan.topic-partition-discovery.interval': opt
    .duration('how often new partitions (and topics of topic-pattern) are looked for; 0 turns it off')
    .default(300_000),
  ...SCAN_BOUNDED_DEFS,
  'sink.partitioner': opt.enum(PARTITIONERS, 'default (by key hash, else spread), fixed (subtask i writes partition i % n) or round-robin').default('default'),
  ...SINK_DEFS,
  ...PROPERTY_DEFS,
  ...formatOptionDefs(['', 'key.', 'value.']),
});

export const UPSERT_KAFKA_OPTIONS = defineOptions('upsert-kafka', {
  topic: opt.nonEmptyString('topic name').required(),
  'key.format': opt.enum(['json', 'csv', 'raw'], 'format of the key (the PRIMARY KEY columns)').required(),
  'value.format': opt.enum(['json', 'csv', 'raw'], 'format of the value').required(),
  'key.fields-prefix': opt.string('prefix of key columns, removed to get the field names in the key'),
  'value.fields-include': opt.enum(['all', 'except_key'], "whether the value also holds the key columns ('ALL') or not ('EXCEPT_KEY')").default('all'),
  ...SCAN_BOUNDED_DEFS,
  ...SINK_DEFS,
  ...PROPERTY_DEFS,
  ...formatOptionDefs(['key.', 'value.']),
});

export interface FormatSpec {
  readonly format: FormatName;
  readonly options: FormatOptions;
  /** Table column names this format covers, in message order. */
  readonly columns: readonly string[];
  /** The field name in the message of each covered column (a key prefix removed). */
  readonly fieldNames: readonly string[];
  readonly ignoreParseErrors: boolean;
}

export interface OffsetSpec {
  readonly mode: StartupMode | BoundedMode;
  readonly timestamp?: number;
  /** partition -> offset (specific-offsets; a single topic). */
  readonly specificOffsets?: ReadonlyMap<number, number>;
}

export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string | undefined;
  readonly ssl: boolean;
  readonly sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
  readonly requestTimeoutMs: number | undefined;
}

export interface KafkaConfig {
  readonly connector: 'kafka' | 'upsert-kafka';
  readonly table: TableDef;
  /** Explicit topics (or undefined with topicPattern). */
  readonly topics: readonly string[] | undefined;
  readonly topicPattern: RegExp | undefined;
  readonly client: KafkaClientConfig;
  readonly readCommitted: boolean;
  readonly autoOffsetReset: 'earliest' | 'latest' | 'none';
  readonly startup: OffsetSpec;
  readonly bounded: OffsetSpec;
  /** 0: off. */
  readonly discoveryIntervalMs: number;
  readonly maxPartitionFetchBytes: number;
  readonly fetchMaxWaitMs: number;
  readonly key: FormatSpec | undefined;
  readonly value: FormatSpec;
  readonly sink: {
    readonly guarantee: DeliveryGuarantee;
    readonly transactionalIdPrefix: string | undefined;
    readonly partitioner: SinkPartitioner;
    readonly transactionTimeoutMs: number;
  };
}

const SPECIFIC_RE = /^\s*partition\s*:\s*(\d+)\s*,\s*offset\s*:\s*(\d+)\s*$/;

function parseSpecificOffsets(table: TableDef, key: string, text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const m = SPECIFIC_RE.exec(part);
    if (!m) throw invalidOption(table, key, "a list such as 'partition:0,offset:42;partition:1,offset:300'");
    out.set(Number(m[1]), Number(m[2]));
  }
  if (out.size === 0) throw invalidOption(table, key, "a list such as 'partition:0,offset:42;partition:1,offset:300'");
  return out;
}

type Raw = Record<string, unknown>;

function formatSpec(raw: Raw, format: FormatName, prefix: '' | 'key.' | 'value.', columns: readonly string[], fieldNames: readonly string[]): FormatSpec {
  // 'value.json.x' wins over 'json.x'; keys of other formats are errors.
  const get = (name: string): unknown => raw[`${prefix}${format}.${name}`] ?? (prefix === 'value.' ? raw[`${format}.${name}`] : undefined);
  const bool = (name: string, dflt: boolean): boolean => (get(name) as boolean | undefined) ?? dflt;
  const options: FormatOptions = {
    ...DEFAULT_FORMAT_OPTIONS,
    ignoreParseErrors: bool('ignore-parse-errors', false),
    failOnMissingField: bool('fail-on-missing-field', false),
    csvDelimiter: (get('field-delimiter') as string | undefined) ?? ',',
    csvQuote: bool('disable-quote-character', false) ? undefined : ((get('quote-character') as string | undefined) ?? '"'),
    csvNullLiteral: get('null-literal') as string | undefined,
  };
  return { format, options, columns, fieldNames, ignoreParseErrors: options.ignoreParseErrors };
}

const FORMAT_KEY_RE = /^(key\.|value\.)?(debezium-json|json|csv|raw)\./;

/** A format option ('json.x', 'value.csv.x', 'key.json.x') must belong to the format in use. */
function checkFormatKeys(table: TableDef, valueFormat: FormatName, keyFormat: FormatName | undefined): void {
  for (const key of Object.keys(table.options)) {
    const m = FORMAT_KEY_RE.exec(key);
    if (!m) continue;
    const isKey = m[1] === 'key.';
    const inUse = isKey ? keyFormat : valueFormat;
    if (m[2] !== inUse) {
      const which = isKey ? "'key.format'" : m[1] === 'value.' ? "'value.format'" : 'the value format';
      throw optionError(table, key, 'INVALID_OPTION', `option '${key}' applies to format '${m[2]}', but ${which} is ${inUse ? `'${inUse}'` : 'not set'}`);
    }
  }
}

function clientConfig(table: TableDef, raw: Raw): KafkaClientConfig {
  const servers = (raw['properties.bootstrap.servers'] as string)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of servers) {
    if (!/^[^\s:]+:\d+$/.test(s)) throw invalidOption(table, 'properties.bootstrap.servers', "a list of 'host:port' separated by ','");
  }
  const protocol = (raw['properties.security.protocol'] as string | undefined) ?? 'plaintext';
  const useSasl = protocol.startsWith('sasl');
  const mechanism = raw['properties.sasl.mechanism'] as NonNullable<KafkaClientConfig['sasl']>['mechanism'] | undefined;
  const username = raw['properties.sasl.username'] as string | undefined;
  const password = raw['properties.sasl.password'] as string | undefined;
  if (useSasl && (mechanism === undefined || username === undefined || password === undefined)) {
    throw optionError(
      table,
      'properties.security.protocol',
      'MISSING_OPTION',
      `security protocol '${protocol}' needs 'properties.sasl.mechanism', 'properties.sasl.username' and 'properties.sasl.password'`,
    );
  }
  return {
    brokers: servers,
    clientId: (raw['properties.client.id'] as string | undefined) ?? 'weir',
    groupId: raw['properties.group.id'] as string | undefined,
    ssl: protocol === 'ssl' || protocol === 'sasl_ssl',
    sasl: useSasl ? { mechanism: mechanism!, username: username!, password: password! } : undefined,
    requestTimeoutMs: raw['properties.request.timeout.ms'] as number | undefined,
  };
}

function offsetSpec(
  table: TableDef,
  raw: Raw,
  which: 'startup' | 'bounded',
  mode: StartupMode | BoundedMode,
  topics: readonly string[] | undefined,
): OffsetSpec {
  const tsKey = `scan.${which}.timestamp-millis`;
  const soKey = `scan.${which}.specific-offsets`;
  const modeKey = `scan.${which}.mode`;
  const ts = raw[tsKey] as number | undefined;
  const so = raw[soKey] as string | undefined;
  if (mode === 'timestamp' && ts === undefined) throw optionError(table, modeKey, 'MISSING_OPTION', `'${modeKey}' = 'timestamp' needs '${tsKey}'`);
  if (mode !== 'timestamp' && ts !== undefined)
    throw optionError(table, tsKey, 'INVALID_OPTION', `option '${tsKey}' applies only when '${modeKey}' is 'timestamp'`);
  if (mode === 'specific-offsets' && so === undefined)
    throw optionError(table, modeKey, 'MISSING_OPTION', `'${modeKey}' = 'specific-offsets' needs '${soKey}'`);
  if (mode !== 'specific-offsets' && so !== undefined)
    throw optionError(table, soKey, 'INVALID_OPTION', `option '${soKey}' applies only when '${modeKey}' is 'specific-offsets'`);
  if (mode === 'specific-offsets' && (topics === undefined || topics.length !== 1)) {
    throw optionError(table, soKey, 'INVALID_OPTION', `option '${soKey}' names partitions of one topic; the table must read exactly one 'topic'`);
  }
  return { mode, ...(ts !== undefined ? { timestamp: ts } : {}), ...(so !== undefined ? { specificOffsets: parseSpecificOffsets(table, soKey, so) } : {}) };
}

/** Validates a kafka or upsert-kafka table's options. */
export function resolveKafkaConfig(table: TableDef, connector: 'kafka' | 'upsert-kafka'): KafkaConfig {
  const raw = (connector === 'kafka' ? validateOptions(KAFKA_OPTIONS, table) : validateOptions(UPSERT_KAFKA_OPTIONS, table)) as unknown as Raw;
  const physical = physicalFields(table).map((f) => f.name);

  let topics: string[] | undefined;
  let topicPattern: RegExp | undefined;
  const topicText = raw.topic as string | undefined;
  const patternText = raw['topic-pattern'] as string | undefined;
  if (topicText !== undefined && patternText !== undefined) {
    throw optionError(table, 'topic-pattern', 'INVALID_OPTION', "options 'topic' and 'topic-pattern' exclude each other; give one");
  }
  if (topicText !== undefined) {
    topics = topicText
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean);
    if (connector === 'upsert-kafka' && topics.length !== 1) throw invalidOption(table, 'topic', 'one topic name');
  } else if (patternText !== undefined) {
    try {
      topicPattern = new RegExp(`^(?:${patternText})$`);
    } catch {
      throw invalidOption(table, 'topic-pattern', 'a regular expression');
    }
  } else {
    throw userError('MISSING_OPTION', `table '${table.name}': missing required option 'topic' (or 'topic-pattern') for connector '${connector}'`, {
      position: table.pos,
      details: { table: table.name, option: 'topic' },
    });
  }

  // Key and value columns.
  const prefix = (raw['key.fields-prefix'] as string | undefined) ?? '';
  let keyColumns: string[] = [];
  let keyFormat: FormatName | undefined;
  if (connector === 'upsert-kafka') {
    if (table.primaryKey.length === 0) {
      throw userError(
        'MISSING_PRIMARY_KEY',
        `table '${table.name}': connector 'upsert-kafka' needs a PRIMARY KEY (...) NOT ENFORCED; its columns form the message key`,
        {
          position: table.pos,
          details: { table: table.name },
        },
      );
    }
    keyColumns = [...table.primaryKey];
    keyFormat = raw['key.format'] as FormatName;
  } else {
    keyFormat = raw['key.format'] as FormatName | undefined;
    const fieldsText = raw['key.fields'] as string | undefined;
    if (keyFormat !== undefined && fieldsText === undefined)
      throw optionError(table, 'key.format', 'MISSING_OPTION', "option 'key.format' needs 'key.fields' (the key columns)");
    if (fieldsText !== undefined && keyFormat === undefined) throw optionError(table, 'key.fields', 'MISSING_OPTION', "option 'key.fields' needs 'key.format'");
    keyColumns =
      fieldsText === undefined
        ? []
        : fieldsText
            .split(';')
            .map((s) => s.trim())
            .filter(Boolean);
  }
  for (const c of keyColumns) {
    if (!physical.includes(c)) {
      throw optionError(
        table,
        connector === 'kafka' ? 'key.fields' : 'key.format',
        'INVALID_OPTION',
        `key column '${c}' is not a physical column of the table; physical columns: ${physical.join(', ')}`,
      );
    }
    if (prefix !== '' && !c.startsWith(prefix)) {
      throw optionError(table, 'key.fields-prefix', 'INVALID_OPTION', `key column '${c}' does not start with the key.fields-prefix '${prefix}'`);
    }
  }
  const fieldsInclude = raw['value.fields-include'] as 'all' | 'except_key';
  if (prefix !== '' && fieldsInclude === 'all') {
    throw optionError(table, 'key.fields-prefix', 'INVALID_OPTION', "option 'key.fields-prefix' needs 'value.fields-include' = 'EXCEPT_KEY'");
  }
  const valueColumns = fieldsInclude === 'all' ? physical : physical.filter((c) => !keyColumns.includes(c));

  const valueFormat = (connector === 'kafka' ? (raw['value.format'] ?? raw.format) : raw['value.format']) as FormatName | undefined;
  if (connector === 'kafka' && raw.format !== undefined && raw['value.format'] !== undefined) {
    throw optionError(table, 'value.format', 'INVALID_OPTION', "options 'format' and 'value.format' are the same; give one");
  }
  if (valueFormat === undefined) {
    throw userError(
      'MISSING_OPTION',
      `table '${table.name}': missing required option 'format' (or 'value.format') for connector '${connector}'; formats: ${FORMAT_NAMES.join(', ')}`,
      {
        position: table.pos,
        details: { table: table.name, option: 'format' },
      },
    );
  }
  if (valueFormat === 'debezium-json' && keyColumns.length > 0) {
    throw optionError(table, 'key.fields', 'INVALID_OPTION', "format 'debezium-json' carries whole rows; 'key.fields' is not supported with it");
  }
  checkFormatKeys(table, valueFormat, keyFormat);
  const value = formatSpec(raw, valueFormat, 'value.', valueColumns, valueColumns);
  const key =
    keyFormat === undefined
      ? undefined
      : formatSpec(
          raw,
          keyFormat,
          'key.',
          keyColumns,
          keyColumns.map((c) => c.slice(prefix.length)),
        );

  // Startup and end.
  const groupId = raw['properties.group.id'] as string | undefined;
  const startupMode =
    connector === 'upsert-kafka'
      ? 'earliest-offset'
      : ((raw['scan.startup.mode'] as StartupMode | undefined) ?? (groupId ? 'group-offsets' : 'earliest-offset'));
  if (startupMode === 'group-offsets' && groupId === undefined) {
    throw optionError(table, 'scan.startup.mode', 'MISSING_OPTION', "'scan.startup.mode' = 'group-offsets' needs 'properties.group.id'");
  }
  const boundedMode = raw['scan.bounded.mode'] as BoundedMode;
  if (boundedMode === 'group-offsets' && groupId === undefined) {
    throw optionError(table, 'scan.bounded.mode', 'MISSING_OPTION', "'scan.bounded.mode' = 'group-offsets' needs 'properties.group.id'");
  }
  const startup = offsetSpec(table, raw, 'startup', startupMode, topics);
  const bounded = offsetSpec(table, raw, 'bounded', boundedMode, topics);

  return {
    connector,
    table,
    topics,
    topicPattern,
    client: clientConfig(table, raw),
    readCommitted: ((raw['properties.isolation.level'] as string | undefined) ?? 'read_committed') === 'read_committed',
    autoOffsetReset: (raw['properties.auto.offset.reset'] as 'earliest' | 'latest' | 'none' | undefined) ?? 'none',
    startup,
    bounded,
    discoveryIntervalMs: boundedMode === 'unbounded' ? ((raw['scan.topic-partition-discovery.interval'] as number | undefined) ?? 0) : 0,
    maxPartitionFetchBytes: (raw['properties.max.partition.fetch.bytes'] as number | undefined) ?? 1 << 20,
    fetchMaxWaitMs: (raw['properties.fetch.max.wait.ms'] as number | undefined) ?? 200,
    key,
    value,
    sink: {
      guarantee: raw['sink.delivery-guarantee'] as DeliveryGuarantee,
      transactionalIdPrefix: raw['sink.transactional-id-prefix'] as string | undefined,
      partitioner: (raw['sink.partitioner'] as SinkPartitioner | undefined) ?? 'default',
      transactionTimeoutMs: (raw['properties.transaction.timeout.ms'] as number | undefined) ?? 900_000,
    },
  };
}
