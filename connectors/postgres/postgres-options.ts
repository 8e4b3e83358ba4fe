/**
 * Options of 'connector' = 'postgres' (and Flink's 'connector' = 'jdbc' with a
 * jdbc:postgresql:// url): where the server is, which table, and how the sink delivers.
 * The resolved config holds the password; only `describeTarget()` and `describeSink()` may be
 * shown to people, and they never include credentials.
 */
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, invalidOption, opt, optionError, validateOptions } from '../../src/connector/options.js';
import { splitQualifiedName } from '../common/qualified-name.js';

const COMMON = {
  url: opt.nonEmptyString("the server: 'postgresql://host:port/database' or 'jdbc:postgresql://host:port/database' (user and password may be given here too)"),
  hostname: opt.nonEmptyString("the server's host name (instead of 'url')"),
  port: opt.int("the server's port (with 'hostname'; default 5432)", { min: 1, max: 65535 }),
  'database-name': opt.nonEmptyString("the database (with 'hostname')"),
  username: opt.nonEmptyString('the user weir connects as'),
  password: opt.string("the user's password (never shown in messages, EXPLAIN or checkpoints)"),
  'table-name': opt.nonEmptyString("target table, optionally schema-qualified ('analytics.orders'); default: the table's name"),
  'sink.delivery-guarantee': opt
    .enum(
      ['exactly-once', 'at-least-once'] as const,
      "'exactly-once' (PREPARE TRANSACTION per checkpoint) or 'at-least-once' (rows committed as they are flushed)",
    )
    .default('exactly-once'),
  'sink.buffer-flush.max-rows': opt
    .int('rows (distinct keys for upsert tables) buffered before they are written into the open transaction; 0: only at checkpoints', { min: 0 })
    .default(10_000),
  'sink.buffer-flush.interval': opt
    .duration("write buffered rows once this long has passed since the last write ('0': only by row count and at checkpoints)")
    .default(1000),
  'sink.create-table': opt.bool('create the table (with mapped types and the primary key) when it does not exist').default(false),
};

export const POSTGRES_OPTIONS = defineOptions('postgres', COMMON);

export const JDBC_OPTIONS = defineOptions('jdbc', {
  ...COMMON,
  url: COMMON.url.required(),
  driver: opt.nonEmptyString("the JDBC driver class (accepted for Flink compatibility: 'org.postgresql.Driver')"),
});

export type DeliveryGuarantee = 'exactly-once' | 'at-least-once';

/** Where to connect. `password` is a secret. */
export interface PgConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** undefined: no TLS; otherwise pg's `ssl` option. */
  readonly ssl: undefined | { rejectUnauthorized: boolean };
}

export interface PostgresSinkConfig {
  readonly connection: PgConnectionConfig;
  /** Unquoted schema name (undefined: the connection's search_path, usually 'public'). */
  readonly schemaName: string | undefined;
  readonly tableName: string;
  readonly delivery: DeliveryGuarantee;
  /** 0: no row limit. */
  readonly flushMaxRows: number;
  /** 0: no interval. */
  readonly flushIntervalMs: number;
  readonly createTable: boolean;
}

interface ParsedUrl {
  host: string;
  port: number | undefined;
  database: string | undefined;
  user: string | undefined;
  password: string | undefined;
  sslmode: string | undefined;
}

/** Parses `postgresql://`, `postgres://` and `jdbc:postgresql:` urls; undefined when malformed. */
export function parsePostgresUrl(text: string): ParsedUrl | undefined {
  let rest: string;
  const t = text.trim();
  if (/^jdbc:postgresql:\/\//i.test(t)) rest = t.slice('jdbc:postgresql:'.length);
  else if (/^postgres(ql)?:\/\//i.test(t)) rest = t.slice(t.indexOf(':') + 1);
  else return undefined;
  let url: URL;
  try {
    url = new URL(`postgresql:${rest}`);
  } catch {
    return undefined;
  }
  // Several hosts (failover lists) are not supported.
  if (url.hostname === '' || url.hostname.includes(',')) return undefined;
  const dec = (s: string): string | undefined => (s === '' ? undefined : decodeURIComponent(s));
  const q = url.searchParams;
  const path = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? undefined : Number(url.port),
    database: path === '' ? undefined : decodeURIComponent(path),
    user: q.get('user') ?? dec(url.username),
    password: q.get('password') ?? dec(url.password),
    sslmode: q.get('sslmode') ?? (q.get('ssl') === 'true' ? 'require' : undefined),
  };
}

function sslOf(mode: string | undefined): PgConnectionConfig['ssl'] {
  switch (mode) {
    case undefined:
    case 'disable':
    case 'allow':
    case 'prefer':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      return undefined;
  }
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function resolvePostgresConfig(table: TableDef, connector: 'postgres' | 'jdbc'): PostgresSinkConfig {
  const o = validateOptions(connector === 'jdbc' ? JDBC_OPTIONS : POSTGRES_OPTIONS, table);
  const driver = (o as { driver?: string }).driver;
  if (driver !== undefined && driver !== 'org.postgresql.Driver') {
    throw invalidOption(table, 'driver', "'org.postgresql.Driver' (weir's jdbc connector writes to PostgreSQL only)");
  }
  let host: string;
  let port = 5432;
  let database: string;
  let user: string | undefined;
  let password: string | undefined;
  let sslmode: string | undefined;
  if (o.url !== undefined) {
    for (const k of ['hostname', 'port', 'database-name'] as const) {
      if (o[k] !== undefined) throw optionError(table, k, 'INVALID_OPTION', `give either 'url' or '${k}', not both`);
    }
    const parsed = parsePostgresUrl(o.url);
    const expected = "a PostgreSQL url such as 'postgresql://host:5432/database' or 'jdbc:postgresql://host:5432/database'";
    if (!parsed) throw urlError(table, expected);
    if (parsed.database === undefined) throw urlError(table, `${expected} (with the database)`);
    if (parsed.sslmode !== undefined && !SSL_MODES.includes(parsed.sslmode)) throw urlError(table, `a url whose sslmode is one of ${SSL_MODES.join(', ')}`);
    host = parsed.host;
    port = parsed.port ?? 5432;
    database = parsed.database;
    user = parsed.user;
    password = parsed.password;
    sslmode = parsed.sslmode;
  } else {
    if (o.hostname === undefined) {
      throw optionError(table, 'url', 'MISSING_OPTION', `connector '${connector}' needs 'url', or 'hostname' and 'database-name'`);
    }
    if (o['database-name'] === undefined) throw optionError(table, 'hostname', 'MISSING_OPTION', "missing required option 'database-name' (with 'hostname')");
    host = o.hostname;
    port = o.port ?? 5432;
    database = o['database-name'];
  }
  if (o.username !== undefined) user = o.username;
  if (o.password !== undefined) password = o.password;

  let schemaName: string | undefined;
  let tableName = table.name;
  if (o['table-name'] !== undefined) {
    const parts = splitQualifiedName(o['table-name']);
    if (!parts || parts.length > 2) throw invalidOption(table, 'table-name', "a table name or 'schema.table'");
    [schemaName, tableName] = parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
  }
  return {
    connection: { host, port, database, user, password, ssl: sslOf(sslmode) },
    schemaName,
    tableName,
    delivery: o['sink.delivery-guarantee'],
    flushMaxRows: o['sink.buffer-flush.max-rows'],
    flushIntervalMs: o['sink.buffer-flush.interval'],
    createTable: o['sink.create-table'],
  };
}

/** The url is never echoed back: it may hold a password. */
function urlError(table: TableDef, expected: string) {
  return optionError(table, 'url', 'INVALID_OPTION', `option 'url' must be ${expected}`);
}

/** `host:port/database` (never credentials). */
export function describeServer(c: PgConnectionConfig): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `${host}:${c.port}/${c.database}`;
}

/** `"schema"."table"` or `"table"`. */
export function qualifiedTarget(config: PostgresSinkConfig): string {
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  return config.schemaName === undefined ? q(config.tableName) : `${q(config.schemaName)}.${q(config.tableName)}`;
}

/** For EXPLAIN / describe(): no user, no password, no url. */
export function describeSink(config: PostgresSinkConfig): string {
  const parts = [
    `table=${qualifiedTarget(config)}`,
    `server=${describeServer(config.connection)}`,
    `delivery=${config.delivery}`,
    `buffer-flush.max-rows=${config.flushMaxRows}`,
    `buffer-flush.interval=${config.flushIntervalMs}ms`,
  ];
  if (config.createTable) parts.push('create-table=true');
  return `postgres(${parts.join(', ')})`;
}
