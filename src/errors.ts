/**
 * The one error root of weir. Every error that can reach a user is a WeirError:
 * - domain 'user': the user must change something (SQL, an option, a path). Printed as one line,
 *   never with a stack trace. Carries the SQL position or the option name where there is one.
 * - domain 'external': a system outside weir failed (file system, DuckDB, Kafka, PostgreSQL).
 *   Names the system and what was tried. Often retriable.
 * - domain 'internal': a bug in weir. Printed with a stack trace.
 * `retriable` tells the restart strategy whether restoring from the last checkpoint may help.
 */
export type ErrorDomain = 'user' | 'external' | 'internal';

/**
 * Every code weir gives a WeirError: stable and machine-readable (tests, logs and scripts match on
 * them), so a new one is added here and a misspelt one fails to compile.
 */
export type ErrorCode =
  | 'AGGREGATE_NOT_ALLOWED'
  | 'AMBIGUOUS_COLUMN'
  | 'AMBIGUOUS_JOB'
  | 'BAD_CHECKPOINT'
  | 'CDC_ACCESS'
  | 'CDC_CHECKPOINT_BEHIND_SLOT'
  | 'CDC_COLUMN_NOT_FOUND'
  | 'CDC_EVOLVE'
  | 'CDC_EVOLVE_UNSUPPORTED'
  | 'CDC_NO_PRIMARY_KEY'
  | 'CDC_NO_PUBLICATION'
  | 'CDC_PRIMARY_KEY_MISMATCH'
  | 'CDC_PUBLICATION_LACKS_TABLE'
  | 'CDC_REPLICATION_DENIED'
  | 'CDC_REPLICA_IDENTITY'
  | 'CDC_SCHEMA_CHANGED'
  | 'CDC_SEVERAL_TABLES_KEY'
  | 'CDC_SLOT_ACTIVE'
  | 'CDC_SLOT_INVALIDATED'
  | 'CDC_SLOT_MISMATCH'
  | 'CDC_SLOT_MISSING'
  | 'CDC_TABLE_NOT_FOUND'
  | 'CDC_TRUNCATE_DURING_SNAPSHOT'
  | 'CDC_UNCHANGED_TOAST'
  | 'CDC_VALUE'
  | 'CDC_WAL_LEVEL'
  | 'CHECKPOINT_ABORTED'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_DIR'
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_WRITE'
  | 'COLLECT_SINK'
  | 'CONTROL_DIR'
  | 'CONTROL_FAILED'
  | 'CONTROL_PATH_TOO_LONG'
  | 'CONTROL_PATH_UNSAFE'
  | 'CONTROL_TIMEOUT'
  | 'DUCKDB'
  | 'DUCKDB_OPEN'
  | 'DUCKDB_WRITE'
  | 'DUPLICATE_COLUMN'
  | 'DUPLICATE_INSERT_COLUMN'
  | 'DUPLICATE_OPTION'
  | 'EMPTY_INTERVAL_JOIN'
  | 'EXPLAIN_IN_JOB_FILE'
  | 'EXPR_EVAL'
  | 'FILE_NOT_FOUND'
  | 'FILE_READ'
  | 'FILE_SINK'
  | 'HEAP_EXHAUSTED'
  | 'INSERT_COLUMN_COUNT'
  | 'INSERT_INTO_VIEW'
  | 'INSERT_TYPE_MISMATCH'
  | 'INTERNAL'
  | 'INVALID_CONFIG'
  | 'INVALID_DURATION'
  | 'INVALID_FLAG'
  | 'INVALID_FORMAT'
  | 'INVALID_JOB_NAME'
  | 'INVALID_METADATA_TYPE'
  | 'INVALID_OPTION'
  | 'INVALID_PRIMARY_KEY'
  | 'INVALID_SAVEPOINT_NAME'
  | 'INVALID_WATERMARK'
  | 'JOB_ALREADY_RUNNING'
  | 'JOB_CANCELED'
  | 'JOB_FINISHING'
  | 'JOB_NOT_RUNNING'
  | 'JOIN_WITHOUT_EQUALITY'
  | 'KAFKA'
  | 'KAFKA_AUTH'
  | 'KAFKA_CORRUPT_RECORD'
  | 'KAFKA_OFFSET_OUT_OF_RANGE'
  | 'KAFKA_SINK_PRIMARY_KEY'
  | 'MALFORMED_RECORD'
  | 'MISSING_CONNECTOR'
  | 'MISSING_ENV'
  | 'MISSING_NOT_NULL_COLUMN'
  | 'MISSING_OPTION'
  | 'MISSING_PRIMARY_KEY'
  | 'NESTED_AGGREGATE'
  | 'NOT_A_SINK'
  | 'NOT_A_SOURCE'
  | 'NOT_BOOLEAN'
  | 'NOT_GROUPED'
  | 'NO_COMMITTED_OFFSET'
  | 'NO_INSERT'
  | 'NULL_ROWTIME'
  | 'PATH_NOT_FOUND'
  | 'PG_2PC_DISABLED'
  | 'PG_2PC_LIMIT'
  | 'PG_COMMIT_LOST'
  | 'PG_NO_UNIQUE_KEY'
  | 'PG_RECOVERY_TIMEOUT'
  | 'PG_SUBTASK_CLOSED'
  | 'PG_TABLE_MISSING'
  | 'PG_WRITE_REJECTED'
  | 'PIPELINE_INVALID'
  | 'PIPELINE_MISSING_KEY'
  | 'PIPELINE_ROUTE_SCHEMAS'
  | 'PIPELINE_TRANSFORM_KEY'
  | 'PIPELINE_UNKNOWN_KEY'
  | 'PIPELINE_YAML'
  | 'POSTGRES'
  | 'QUERY_IN_JOB_FILE'
  | 'READ_ONLY_METADATA'
  | 'RECURSIVE_VIEW'
  | 'SAVEPOINT_EXISTS'
  | 'SINK_APPEND_ONLY'
  | 'SINK_SCHEMA_MISMATCH'
  | 'SQL_AGGREGATE'
  | 'SQL_INVALID'
  | 'SQL_PARSE'
  | 'SQL_TOO_DEEP'
  | 'SQL_TYPE'
  | 'SQL_UNKNOWN_FUNCTION'
  | 'SQL_UNSUPPORTED'
  | 'STAR_WITHOUT_FROM'
  | 'STATE_INCOMPATIBLE'
  | 'STATE_NOT_MAPPED'
  | 'TABLE_EXISTS'
  | 'TOPIC_NOT_FOUND'
  | 'UNION_COLUMN_COUNT'
  | 'UNION_TYPE_MISMATCH'
  | 'UNKNOWN_COLUMN'
  | 'UNKNOWN_CONNECTOR'
  | 'UNKNOWN_INSERT_COLUMN'
  | 'UNKNOWN_JOB'
  | 'UNKNOWN_METADATA'
  | 'UNKNOWN_OPTION'
  | 'UNKNOWN_PRIMARY_KEY_COLUMN'
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_VIEW'
  | 'UNKNOWN_WATERMARK_COLUMN'
  | 'UNSUPPORTED_LIMIT'
  | 'UNSUPPORTED_ORDER_BY'
  | 'UNSUPPORTED_OVERWRITE'
  | 'UPDATING_INTO_APPEND_ONLY'
  | 'VIEW_COLUMN_COUNT'
  | 'WINDOW_ARGUMENTS'
  | 'WINDOW_COLUMN_USE'
  | 'WINDOW_GROUP_BY'
  | 'WINDOW_TIME_COLUMN'
  | 'WRONG_ARGUMENTS'
  | 'WRONG_OBJECT_KIND';

export interface SqlPosition {
  /** 1-based line in the job file / statement source. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface WeirErrorFields {
  domain: ErrorDomain;
  retriable?: boolean;
  /** Stable machine-readable code, e.g. 'SQL_PARSE', 'UNKNOWN_OPTION', 'CHECKPOINT_CORRUPT'. */
  code: ErrorCode;
  position?: SqlPosition;
  /** Anything structured worth logging: option name, table, file, line, topic/partition/offset. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class WeirError extends Error {
  readonly domain: ErrorDomain;
  readonly retriable: boolean;
  readonly code: ErrorCode;
  readonly position?: SqlPosition;
  readonly details?: Record<string, unknown>;

  constructor(message: string, fields: WeirErrorFields) {
    // Every message a user can see is built here, so this is the one place that keeps text from
    // the input (identifiers, strings, file contents) from driving the terminal.
    super(escapeControlChars(message, fields.domain === 'internal'), fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'WeirError';
    this.domain = fields.domain;
    this.retriable = fields.retriable ?? false;
    this.code = fields.code;
    this.position = fields.position;
    this.details = fields.details;
  }

  /** One line for the terminal: `line:column: message` when a position is known. */
  toUserLine(): string {
    const where = this.position ? `${this.position.line}:${this.position.column}: ` : '';
    return `${where}${this.message}`;
  }
}

/**
 * Escapes what a terminal would act on instead of showing: C0 controls (NUL as `\x00`, ESC as
 * `\x1b`, CR as `\r`, ...), DEL and C1 controls, Unicode bidirectional overrides (which can
 * reorder what the user sees) and unpaired UTF-16 surrogates (which print as garbage). Tabs stay;
 * newlines stay only when `keepNewlines` (an internal error's generated code and stack). Backslashes
 * are left alone, so escaping twice changes nothing.
 */
export function escapeControlChars(text: string, keepNewlines = false): string {
  return text.replace(UNSAFE_CHARS, (c) => {
    if (c === '\t' || (keepNewlines && c === '\n')) return c;
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A mistake in what the user wrote or asked for. */
export function userError(code: ErrorCode, message: string, extra: Omit<WeirErrorFields, 'domain' | 'code'> = {}): WeirError {
  return new WeirError(message, { ...extra, domain: 'user', code, retriable: false });
}

/** A failure of a system outside weir; retriable unless said otherwise. */
export function externalError(code: ErrorCode, message: string, extra: Omit<WeirErrorFields, 'domain' | 'code'> = {}): WeirError {
  return new WeirError(message, { retriable: true, ...extra, domain: 'external', code });
}

/** A broken invariant inside weir. */
export function internalError(message: string, cause?: unknown): WeirError {
  return new WeirError(message, { domain: 'internal', code: 'INTERNAL', cause });
}

export function isWeirError(e: unknown): e is WeirError {
  return e instanceof WeirError;
}

/** For exhaustive switches over `kind`: a new kind fails to compile until handled. */
export function unreachable(x: never): never {
  throw internalError(`unreachable: ${JSON.stringify(x)}`);
}
