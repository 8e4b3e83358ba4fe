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
  code: string;
  position?: SqlPosition;
  /** Anything structured worth logging: option name, table, file, line, topic/partition/offset. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class WeirError extends Error {
  readonly domain: ErrorDomain;
  readonly retriable: boolean;
  readonly code: string;
  readonly position?: SqlPosition;
  readonly details?: Record<string, unknown>;

  constructor(message: string, fields: WeirErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
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

/** A mistake in what the user wrote or asked for. */
export function userError(
  code: string,
  message: string,
  extra: Omit<WeirErrorFields, 'domain' | 'code'> = {},
): WeirError {
  return new WeirError(message, { ...extra, domain: 'user', code, retriable: false });
}

/** A failure of a system outside weir; retriable unless said otherwise. */
export function externalError(
  code: string,
  message: string,
  extra: Omit<WeirErrorFields, 'domain' | 'code'> = {},
): WeirError {
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
