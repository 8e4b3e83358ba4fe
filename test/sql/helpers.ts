import { expect } from 'vitest';
import { isWeirError, type WeirError } from '../../src/errors.js';
import type { Expr, Query, Statement } from '../../src/sql/ir.js';
import { parseStatement } from '../../src/sql/parse.js';

/** Runs fn, expects a user WeirError, returns it. */
export function userErrorOf(fn: () => unknown): WeirError {
  try {
    fn();
  } catch (e) {
    if (!isWeirError(e)) throw e;
    expect(e.domain).toBe('user');
    expect(e.message).not.toMatch(/undefined|\n|\bat \w+ \(/);
    return e;
  }
  throw new Error('expected a user error, but parsing succeeded');
}

/** `line:column: message` of the error thrown by fn. */
export function errorLine(fn: () => unknown): string {
  return userErrorOf(fn).toUserLine();
}

export function query(sql: string): Query {
  const s = parseStatement(sql);
  if (s.kind !== 'query') throw new Error(`expected a query statement, got ${s.kind}`);
  return s.query;
}

/** The expression of `SELECT <expr> FROM t`. */
export function expr(text: string): Expr {
  const q = query(`SELECT ${text} FROM t`);
  if (q.kind !== 'select' || q.items.length !== 1 || q.items[0]!.kind !== 'expr') throw new Error('expected one select item');
  return q.items[0]!.expr;
}

export function statement<K extends Statement['kind']>(sql: string, kind: K): Extract<Statement, { kind: K }> {
  const s = parseStatement(sql);
  expect(s.kind).toBe(kind);
  return s as Extract<Statement, { kind: K }>;
}
