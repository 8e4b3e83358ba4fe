/**
 * Everything the reader checks and prepares in PostgreSQL before it reads: wal_level, the
 * replication privilege, the captured table (its primary key, columns and replica identity), the
 * publication (created when missing unless autocreate is disabled) and the slot (its state, who
 * holds it). Every failure is one line naming what to change.
 */
import type pg from 'pg';
import { externalError, isWeirError, userError, type WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { lazyModule } from '../../src/util/lazy-module.js';
import type { CdcConfig } from './cdc-options.js';
import { parseLsn, type Lsn } from './lsn.js';

/** pg, loaded when the reader first connects: planning a CDC table does not need it. */
const pgModule = lazyModule<typeof pg>('pg');

export interface PgColumn {
  readonly name: string;
  /** format_type(): 'integer', 'numeric(12,2)', 'text', 'timestamp with time zone', ... */
  readonly type: string;
  /** atttypid and atttypmod, as relation messages carry them (to notice a changed type). */
  readonly typeOid: number;
  readonly typeMod: number;
}

export interface CapturedTable {
  readonly schema: string;
  readonly name: string;
  /** "schema"."name" */
  readonly qualified: string;
  readonly columns: readonly PgColumn[];
  readonly primaryKey: readonly string[];
  readonly replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
}

export interface SlotInfo {
  readonly exists: boolean;
  readonly confirmedFlush?: Lsn;
  readonly activePid?: number;
  readonly walStatus?: string;
}

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export function clientConfig(config: CdcConfig, replication: boolean): pg.ClientConfig {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: `weir-cdc-${config.slotName}`.slice(0, 63),
    // Text output of timestamptz and dates must not depend on the server's defaults.
    options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c bytea_output=hex',
    ...(replication ? { replication: 'database' } : {}),
  } as pg.ClientConfig;
}

/** A connected client whose values all stay text. */
export async function connect(config: CdcConfig, replication = false): Promise<pg.Client> {
  const c = new (pgModule().Client)({ ...clientConfig(config, replication), types: { getTypeParser: () => (v: string) => v } } as pg.ClientConfig);
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => undefined);
    throw cdcError(config, e, 'connecting');
  }
  return c;
}

/** A PostgreSQL failure as a WeirError: permission problems name the grant to add. */
export function cdcError(config: CdcConfig, e: unknown, what: string): WeirError {
  if (isWeirError(e)) return e;
  const err = e as { code?: string; message?: string };
  const where = `postgres-cdc table '${config.table.name}' at ${config.server}`;
  if (err.code === '42501' && /replication/i.test(err.message ?? '')) {
    return userError(
      'CDC_REPLICATION_DENIED',
      `${where}: permission denied for replication (${what}): run ALTER ROLE ${quoteIdent(config.user)} WITH REPLICATION`,
      { cause: e },
    );
  }
  if (err.code === '28000' || err.code === '28P01' || err.code === '3D000' || err.code === '42501') {
    return userError('CDC_ACCESS', `${where}: ${what} failed: ${err.message} (SQLSTATE ${err.code})`, { cause: e });
  }
  return externalError('POSTGRES', `${where}: ${what} failed: ${err.message ?? String(e)}${err.code ? ` (SQLSTATE ${err.code})` : ''}`, { cause: e });
}

/** The declared columns that carry a metadata key (e.g. 'table_name' → the column's name). */
export function metadataColumn(config: CdcConfig, key: string): string | undefined {
  const col = config.table.columns.find((c) => c.kind === 'metadata' && c.key === key);
  return col?.name;
}

/** Checks the server and the captured tables; creates the publication when allowed. */
export async function prepare(config: CdcConfig, c: pg.Client): Promise<CapturedTable[]> {
  const where = `postgres-cdc table '${config.table.name}' at ${config.server}`;
  const wal = (await c.query('SHOW wal_level')).rows[0].wal_level as string;
  if (wal !== 'logical') {
    throw userError(
      'CDC_WAL_LEVEL',
      `${where}: wal_level is '${wal}', logical decoding needs 'logical': set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL`,
    );
  }
  const role = (await c.query('SELECT rolreplication OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user')).rows[0];
  if (role?.ok !== 't') {
    throw userError(
      'CDC_REPLICATION_DENIED',
      `${where}: permission denied for replication: user '${config.user}' lacks the REPLICATION attribute; run ALTER ROLE ${quoteIdent(config.user)} WITH REPLICATION`,
    );
  }
  const found = (
    await c.query(
      `SELECT n.nspname AS schema, c.relname AS name, c.oid::text AS oid, c.relreplident AS ident
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2`,
    )
  ).rows.filter((r) => config.schemaPattern.test(r.schema) && config.tablePattern.test(r.name));
  const optionPos = config.table.optionPositions['table-name'] ?? config.table.pos;
  if (found.length === 0) {
    throw userError(
      'CDC_TABLE_NOT_FOUND',
      `${where}: no table matches schema-name '${config.schemaPattern.source.slice(4, -2)}' and table-name '${config.tablePattern.source.slice(4, -2)}'`,
      {
        position: optionPos,
      },
    );
  }
  if (found.length > 1) {
    // Rows of several tables meet in one keyed changelog: their keys must not collide.
    const names = found.map((t) => `${t.schema}.${t.name}`).join(', ');
    const need: string[] = [];
    const pk = config.table.primaryKey;
    const tableCol = metadataColumn(config, 'table_name');
    if (tableCol === undefined || !pk.includes(tableCol)) need.push('table_name');
    const schemaCol = metadataColumn(config, 'schema_name');
    if (new Set(found.map((t) => t.schema)).size > 1 && (schemaCol === undefined || !pk.includes(schemaCol))) need.push('schema_name');
    if (need.length > 0) {
      throw userError(
        'CDC_SEVERAL_TABLES_KEY',
        `${where}: table-name matches ${found.length} tables (${names}), whose primary keys may collide: declare ${need.map((k) => `\`${k}\` STRING METADATA FROM '${k}' VIRTUAL`).join(' and ')} and add ${need.length > 1 ? 'them' : 'it'} to the PRIMARY KEY, or narrow the pattern`,
        { position: optionPos },
      );
    }
  }
  const tables: CapturedTable[] = [];
  for (const t of found) tables.push(await describeTable(config, c, t));
  if (config.startupMode !== 'snapshot') await ensurePublication(config, c, tables);
  return tables;
}

async function describeTable(config: CdcConfig, c: pg.Client, t: { schema: string; name: string; oid: string; ident: string }): Promise<CapturedTable> {
  const where = `postgres-cdc table '${config.table.name}' at ${config.server}`;
  const qualified = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
  const columns = (
    await c.query(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, atttypid::int AS "typeOid", atttypmod AS "typeMod" FROM pg_attribute
        WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [t.oid],
    )
  ).rows.map((r) => ({ name: r.name as string, type: r.type as string, typeOid: Number(r.typeOid), typeMod: Number(r.typeMod) }));
  const pk = (
    await c.query(
      `SELECT a.attname AS name FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord`,
      [t.oid],
    )
  ).rows.map((r) => r.name as string);
  if (pk.length === 0) {
    throw userError(
      'CDC_NO_PRIMARY_KEY',
      `${where}: PostgreSQL table ${t.schema}.${t.name} has no primary key; add one (ALTER TABLE ${qualified} ADD PRIMARY KEY (...)): weir reads the snapshot in primary-key chunks and keys changes by it`,
    );
  }
  // Metadata columns (table_name, ...) may extend the declared key; the physical part must match.
  const physical = new Set(config.table.columns.filter((col) => col.kind === 'physical').map((col) => col.name));
  const declared = config.table.primaryKey.filter((k) => physical.has(k));
  if (declared.length !== pk.length || declared.some((k) => !pk.includes(k))) {
    throw userError(
      'CDC_PRIMARY_KEY_MISMATCH',
      `table '${config.table.name}': PRIMARY KEY (${config.table.primaryKey.join(', ')}) does not match the primary key (${pk.join(', ')}) of PostgreSQL table ${t.schema}.${t.name}; declare PRIMARY KEY (${pk.join(', ')}) NOT ENFORCED`,
      {
        position: config.table.pos,
      },
    );
  }
  const names = new Set(columns.map((col) => col.name));
  for (const name of physical) {
    if (!names.has(name)) {
      throw userError(
        'CDC_COLUMN_NOT_FOUND',
        `table '${config.table.name}': column '${name}' does not exist in PostgreSQL table ${t.schema}.${t.name} (it has ${[...names].join(', ')})`,
        { position: config.table.pos },
      );
    }
  }
  const identity = ({ d: 'default', n: 'nothing', f: 'full', i: 'index' } as const)[t.ident as 'd' | 'n' | 'f' | 'i'] ?? 'default';
  // A bounded snapshot reads no WAL: neither identity nor publication matters.
  if (config.changelogMode === 'all' && identity !== 'full' && config.startupMode !== 'snapshot') {
    throw userError(
      'CDC_REPLICA_IDENTITY',
      `${where}: table ${t.schema}.${t.name} has REPLICA IDENTITY ${identity.toUpperCase()}, so the WAL holds no before-images for changelog-mode 'all': run ALTER TABLE ${qualified} REPLICA IDENTITY FULL, or set 'changelog-mode' = 'upsert'`,
    );
  }
  return { schema: t.schema, name: t.name, qualified, columns, primaryKey: pk, replicaIdentity: identity };
}

async function ensurePublication(config: CdcConfig, c: pg.Client, tables: readonly CapturedTable[]): Promise<void> {
  const pub = config.publicationName;
  const exists = (await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [pub])).rowCount! > 0;
  const list = tables.map((t) => t.qualified).join(', ');
  if (!exists) {
    if (!config.autocreatePublication) {
      throw userError(
        'CDC_NO_PUBLICATION',
        `postgres-cdc table '${config.table.name}' at ${config.server}: publication '${pub}' does not exist and 'publication.autocreate.mode' is 'disabled': run CREATE PUBLICATION ${quoteIdent(pub)} FOR TABLE ${list}`,
      );
    }
    try {
      await c.query(`CREATE PUBLICATION ${quoteIdent(pub)} FOR TABLE ${list}`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42710') throw cdcError(config, e, `creating publication '${pub}'`);
    }
  }
  const published = new Set(
    (await c.query('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [pub])).rows.map((r) => `${r.schemaname}.${r.tablename}`),
  );
  const missing = tables.filter((t) => !published.has(`${t.schema}.${t.name}`));
  if (missing.length > 0 && config.autocreatePublication) {
    // 'filtered' (as Debezium's): the publication follows the captured tables, e.g. a table created
    // later that the pattern matches. Its changes are decoded from here on; the snapshot covers
    // everything before.
    try {
      await c.query(`ALTER PUBLICATION ${quoteIdent(pub)} ADD TABLE ${missing.map((t) => t.qualified).join(', ')}`);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== '42501') throw cdcError(config, e, `adding tables to publication '${pub}'`);
      // Not the publication's owner: say what to run.
    }
  }
  if (missing.length > 0) {
    throw userError(
      'CDC_PUBLICATION_LACKS_TABLE',
      `postgres-cdc table '${config.table.name}' at ${config.server}: publication '${pub}' does not include table ${missing.map((t) => `${t.schema}.${t.name}`).join(', ')}: run ALTER PUBLICATION ${quoteIdent(pub)} ADD TABLE ${missing.map((t) => t.qualified).join(', ')}`,
    );
  }
}

export async function slotInfo(config: CdcConfig, c: pg.Client): Promise<SlotInfo> {
  const r = (
    await c.query(
      'SELECT confirmed_flush_lsn::text AS lsn, active_pid::text AS pid, wal_status, plugin, database FROM pg_replication_slots WHERE slot_name = $1',
      [config.slotName],
    )
  ).rows[0];
  if (!r) return { exists: false };
  if (r.plugin !== 'pgoutput' || r.database !== config.database) {
    throw userError(
      'CDC_SLOT_MISMATCH',
      `postgres-cdc table '${config.table.name}' at ${config.server}: replication slot '${config.slotName}' exists for plugin '${r.plugin}' in database '${r.database}'; choose another 'slot.name' or drop it (SELECT pg_drop_replication_slot('${config.slotName}'))`,
    );
  }
  return {
    exists: true,
    confirmedFlush: r.lsn ? parseLsn(r.lsn) : undefined,
    activePid: r.pid ? Number(r.pid) : undefined,
    walStatus: r.wal_status ?? undefined,
  };
}

/** Fails when the slot is unusable: held by another process, or invalidated (WAL removed). */
export function checkSlotUsable(config: CdcConfig, s: SlotInfo): void {
  const where = `postgres-cdc table '${config.table.name}' at ${config.server}`;
  if (s.walStatus === 'lost' || (s.exists && s.confirmedFlush === undefined)) {
    throw userError(
      'CDC_SLOT_INVALIDATED',
      `${where}: replication slot '${config.slotName}' was invalidated (the WAL it needed was removed, e.g. max_slot_wal_keep_size): the changes since the last checkpoint are gone; drop the slot (SELECT pg_drop_replication_slot('${config.slotName}')) and start the job without --from-checkpoint to snapshot the table again`,
    );
  }
  if (s.activePid !== undefined) {
    throw userError(
      'CDC_SLOT_ACTIVE',
      `${where}: replication slot '${config.slotName}' is active for PID ${s.activePid} (another job or client reads it); stop that reader (SELECT pg_terminate_backend(${s.activePid})) or give this table another 'slot.name'`,
    );
  }
}

/**
 * CREATE_REPLICATION_SLOT on a replication connection. With `exportSnapshot` the connection must
 * stay open (and idle) while the snapshot is read; the slot is then temporary (dropped with the
 * connection) unless `temporary` is false.
 */
export async function createSlot(
  config: CdcConfig,
  repl: pg.Client,
  name: string,
  opts: { temporary: boolean; exportSnapshot: boolean },
  log?: Logger,
): Promise<{ consistentPoint: Lsn; snapshotName?: string }> {
  const sql = `CREATE_REPLICATION_SLOT ${quoteIdent(name)} ${opts.temporary ? 'TEMPORARY ' : ''}LOGICAL pgoutput (SNAPSHOT '${opts.exportSnapshot ? 'export' : 'nothing'}')`;
  // Slot creation waits for every transaction open at its start, prepared ones included, which
  // may never end by themselves (a two-phase-commit sink's job that is not running): say which.
  const timer = log ? setTimeout(() => void explainSlotWait(config, name, log), slotWaitWarnMs()) : undefined;
  try {
    const r = (await repl.query(sql)).rows[0];
    return { consistentPoint: parseLsn(r.consistent_point), ...(r.snapshot_name ? { snapshotName: r.snapshot_name } : {}) };
  } catch (e) {
    throw cdcError(config, e, `creating replication slot '${name}'`);
  } finally {
    clearTimeout(timer);
  }
}

/** When a slow slot creation is explained (WEIR_CDC_SLOT_WAIT_WARN_MS overrides, for tests). */
const slotWaitWarnMs = (): number => Number(process.env.WEIR_CDC_SLOT_WAIT_WARN_MS ?? 10_000);

async function explainSlotWait(config: CdcConfig, slot: string, log: Logger): Promise<void> {
  let c: pg.Client | undefined;
  try {
    c = await connect(config);
    const prepared = (await c.query('SELECT gid, database FROM pg_prepared_xacts ORDER BY prepared')).rows.map((r) => `'${r.gid}' (database ${r.database})`);
    const open = (
      await c.query(
        "SELECT pid, state, datname FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY xact_start",
      )
    ).rows.map((r) => `pid ${r.pid} (${r.state}, database ${r.datname})`);
    if (prepared.length === 0 && open.length === 0) return;
    const parts = [
      prepared.length > 0
        ? `prepared transactions ${prepared.slice(0, 5).join(', ')}${prepared.length > 5 ? ` and ${prepared.length - 5} more` : ''} (restart the job that prepared them so it resolves them, or run ROLLBACK PREPARED '<gid>' / COMMIT PREPARED '<gid>')`
        : '',
      open.length > 0 ? `open transactions of ${open.slice(0, 5).join(', ')}` : '',
    ].filter(Boolean);
    log.warn({ slot, server: config.server }, `creating replication slot '${slot}' waits for transactions to end: ${parts.join('; ')}`);
  } catch {
    // Only a hint; the slot creation goes on waiting either way.
  } finally {
    await c?.end().catch(() => undefined);
  }
}
