/**
 * PostgreSQL failures as WeirErrors. Lost connections, server restarts, serialization failures,
 * deadlocks and lock timeouts are retriable external errors (the restart strategy restores the
 * last checkpoint); what the data or the table definition causes (constraint violations, values
 * the column cannot take, missing permissions or columns) fails the job with a user error naming
 * the table, the column and the offending value. Messages never hold credentials: they name the
 * server as host:port/database only.
 */
import type { DatabaseError } from 'pg';
import { externalError, isWeirError, userError, type WeirError } from '../../src/errors.js';

/** Node socket errors that a reconnect may cure. */
const RETRIABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const RETRIABLE_MESSAGES = /Connection terminated|not queryable|timeout expired|Client was closed|terminating connection/i;

/** SQLSTATEs whose cause is in the data or the table definition: retrying cannot help. */
function isUserSqlState(code: string): boolean {
  const cls = code.slice(0, 2);
  return cls === '22' || cls === '23' || cls === '42' || cls === '28' || cls === '3D' || cls === '3F' || cls === '44';
}

function isRetriableSqlState(code: string): boolean {
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '40' || cls === '53' || cls === '57') return true;
  return code === '55P03' || code === '55006' || code === '58000' || code === '58030';
}

export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isRetriablePgError(e: unknown): boolean {
  if (isWeirError(e)) return e.retriable;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RETRIABLE_NODE_CODES.has(code)) return true;
  const state = sqlState(e);
  if (state !== undefined) return isRetriableSqlState(state);
  return RETRIABLE_MESSAGES.test((e as Error)?.message ?? '');
}

export interface PgErrorContext {
  /** The weir table name (as in CREATE TABLE). */
  readonly table: string;
  /** `"schema"."table"` in PostgreSQL. */
  readonly target: string;
  /** host:port/database */
  readonly server: string;
}

const MAX_VALUE = 200;
const shorten = (s: string): string => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}...` : s);

/** The column and offending value an error names in its fields, detail or COPY context. */
export function offendingOf(e: DatabaseError): { column?: string; value?: string } {
  if (e.column) return { column: e.column, value: e.code === '23502' ? 'NULL' : undefined };
  const where = e.where ?? '';
  const copy = /column ("(?:[^"]|"")*"|[^\s:]+): (?:"([\s\S]*)"|(null input))/.exec(where);
  if (copy) return { column: copy[1].replace(/^"|"$/g, '').replace(/""/g, '"'), value: copy[2] !== undefined ? `'${shorten(copy[2])}'` : 'NULL' };
  const key = /^Key \((.*?)\)=\(([\s\S]*?)\)/.exec(e.detail ?? '');
  if (key) return { column: key[1], value: shorten(key[2]) };
  return {};
}

/** A user error for a failure caused by the data or the table (see module comment). */
export function dataError(e: DatabaseError, ctx: PgErrorContext, what: string, diagnosis?: { column?: string; value?: string }): WeirError {
  const found = offendingOf(e);
  const column = found.column ?? diagnosis?.column;
  const value = found.value ?? diagnosis?.value;
  const at = column === undefined ? '' : value === undefined ? `, column ${column}` : `, column ${column}, value ${value}`;
  const constraint = e.constraint ? ` (constraint ${e.constraint})` : '';
  const detail = e.detail && !/^Failing row contains/.test(e.detail) && !found.column ? ` ${e.detail}` : '';
  const hint =
    e.code === '42501'
      ? `; grant the user INSERT, UPDATE, DELETE on ${ctx.target} (exactly-once also SELECT, INSERT, DELETE on _weir_commits in its schema, and CREATE on the schema to create it)`
      : '';
  return userError(
    'PG_WRITE_REJECTED',
    `table '${ctx.table}': PostgreSQL table ${ctx.target} at ${ctx.server} rejected the ${what}${at}: ${e.message}${constraint}${detail}${hint} (SQLSTATE ${e.code})`,
    { cause: e, details: { table: ctx.table, target: ctx.target, ...(column ? { column } : {}), sqlState: e.code } },
  );
}

/**
 * Any failure of a PostgreSQL call as a WeirError: retriable external errors for connection
 * trouble, user errors for data or definition problems, non-retriable external errors otherwise.
 */
export function pgError(e: unknown, ctx: PgErrorContext, what: string): WeirError {
  if (isWeirError(e)) return e;
  const state = sqlState(e);
  const err = e as Error;
  if (state !== undefined && isUserSqlState(state)) return dataError(e as DatabaseError, ctx, what);
  const retriable = isRetriablePgError(e);
  return externalError(
    'POSTGRES',
    `PostgreSQL at ${ctx.server}: ${what} of table ${ctx.target} failed: ${err?.message ?? String(e)}${state ? ` (SQLSTATE ${state})` : ''}`,
    { retriable, cause: e, details: { table: ctx.table, target: ctx.target, ...(state ? { sqlState: state } : {}) } },
  );
}
