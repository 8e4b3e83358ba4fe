/**
 * Options of 'connector' = 'postgres-cdc' (Flink CDC's names) and the resolved configuration the
 * source and its reader use.
 */
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, invalidOption, opt, optionError, validateOptions } from '../../src/connector/options.js';
import { userError } from '../../src/errors.js';

export const POSTGRES_CDC_OPTIONS = defineOptions('postgres-cdc', {
  hostname: opt.nonEmptyString('the PostgreSQL server host').required(),
  port: opt.int('the PostgreSQL server port', { min: 1, max: 65535 }).default(5432),
  username: opt.nonEmptyString('the user (needs the REPLICATION attribute and SELECT on the tables)').required(),
  password: opt.string('the password').default(''),
  'database-name': opt.nonEmptyString('the database').required(),
  'schema-name': opt.nonEmptyString('the schema of the table (a regular expression)').default('public'),
  'table-name': opt.nonEmptyString('the table (a regular expression)').required(),
  'slot.name': opt.nonEmptyString('the logical replication slot weir creates and owns').required(),
  'decoding.plugin.name': opt.enum(['pgoutput'], 'the logical decoding plugin').default('pgoutput'),
  'publication.name': opt.nonEmptyString('the publication streamed').default('weir_publication'),
  'publication.autocreate.mode': opt
    .enum(
      ['filtered', 'disabled'],
      'filtered: create the publication for the captured tables when it is missing and add captured tables it lacks; disabled: use it as it is',
    )
    .default('filtered'),
  'scan.startup.mode': opt
    .enum(['initial', 'latest-offset', 'snapshot'], 'initial: snapshot then stream; latest-offset: stream only; snapshot: the snapshot only (bounded)')
    .default('initial'),
  'scan.incremental.snapshot.chunk.size': opt.int('rows per primary-key chunk of the snapshot', { min: 1 }).default(8096),
  'slot.retained-checkpoints': opt.int(
    "acknowledge to the slot only the oldest of the last N completed checkpoints' LSNs, so any of them can be restored (default: 'state.checkpoints.num-retained')",
    { min: 1, max: 100 },
  ),
  'heartbeat.interval.ms': opt.duration('how often an idle stream writes a heartbeat into the WAL so the slot advances (0: never)').default(30_000),
  'changelog-mode': opt
    .enum(['all', 'upsert'], 'all: -U/+U from REPLICA IDENTITY FULL before-images; upsert: keyed updates and deletes (REPLICA IDENTITY DEFAULT)')
    .default('all'),
  'schema-change.mode': opt
    .enum(
      ['fail', 'allow', 'stop'],
      'fail: a column added or dropped fails the job; allow: the job goes on (new columns are NULL until CREATE TABLE declares them, dropped ones read as NULL); stop: the source stops right before the change and counts it (schema-changes), so a driver (weir cdc) can stop the job, evolve the target and resume',
    )
    .default('fail'),
});

export interface CdcConfig {
  readonly table: TableDef;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly schemaPattern: RegExp;
  readonly tablePattern: RegExp;
  readonly slotName: string;
  readonly publicationName: string;
  readonly autocreatePublication: boolean;
  readonly startupMode: 'initial' | 'latest-offset' | 'snapshot';
  readonly chunkSize: number;
  readonly heartbeatMs: number;
  /**
   * How many of the newest completed checkpoints stay restorable: the slot is acked at the oldest
   * one's LSN. Undefined: the job's 'state.checkpoints.num-retained'.
   */
  readonly retainedCheckpoints: number | undefined;
  readonly changelogMode: 'all' | 'upsert';
  readonly schemaChange: 'fail' | 'allow' | 'stop';
  /** host:port/database, for messages (never the password). */
  readonly server: string;
}

function anchored(table: TableDef, key: string, text: string): RegExp {
  try {
    return new RegExp(`^(?:${text})$`);
  } catch {
    throw invalidOption(table, key, 'a valid regular expression');
  }
}

export function resolveCdcConfig(table: TableDef): CdcConfig {
  const o = validateOptions(POSTGRES_CDC_OPTIONS, table);
  const slot = o['slot.name'];
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) {
    throw invalidOption(table, 'slot.name', 'lower-case letters, digits and underscores (at most 63), as PostgreSQL requires of slot names');
  }
  if (table.primaryKey.length === 0) {
    throw userError(
      'CDC_NO_PRIMARY_KEY',
      `table '${table.name}': a postgres-cdc table needs PRIMARY KEY (...) NOT ENFORCED matching the PostgreSQL table's primary key`,
      { position: table.pos, details: { table: table.name } },
    );
  }
  if (!/^[A-Za-z0-9_]+$/.test(o['publication.name'])) {
    throw optionError(table, 'publication.name', 'INVALID_OPTION', "option 'publication.name' must be letters, digits and underscores");
  }
  return {
    table,
    host: o.hostname,
    port: o.port,
    user: o.username,
    password: o.password,
    database: o['database-name'],
    schemaPattern: anchored(table, 'schema-name', o['schema-name']),
    tablePattern: anchored(table, 'table-name', o['table-name']),
    slotName: slot,
    publicationName: o['publication.name'],
    autocreatePublication: o['publication.autocreate.mode'] !== 'disabled',
    startupMode: o['scan.startup.mode'],
    chunkSize: o['scan.incremental.snapshot.chunk.size'],
    heartbeatMs: o['heartbeat.interval.ms'],
    retainedCheckpoints: o['slot.retained-checkpoints'],
    changelogMode: o['changelog-mode'],
    schemaChange: o['schema-change.mode'],
    server: `${o.hostname}:${o.port}/${o['database-name']}`,
  };
}
