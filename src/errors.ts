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
export function userError(code: string, message: string, extra: Omit<WeirErrorFields, 'domain' | 'code'> = {}): WeirError {
  return new WeirError(message, { ...extra, domain: 'user', code, retriable: false });
}

/** A failure of a system outside weir; retriable unless said otherwise. */
export function externalError(code: string, message: string, extra: Omit<WeirErrorFields, 'domain' | 'code'> = {}): WeirError {
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
