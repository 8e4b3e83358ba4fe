/**
 * Bound (resolved and typed) expressions: what the planner hands to the expression compiler.
 * Column references are input indexes; every node has its result type.
 */
import type { SqlType } from '../model/types.js';
import type { Pos } from '../sql/ir.js';

export type BoundExpr =
  | { readonly kind: 'input'; readonly index: number; readonly type: SqlType }
  | { readonly kind: 'literal'; readonly value: unknown; readonly type: SqlType }
  /**
   * A scalar operator or function: `fn` is the upper-case SQL name ('+', '=', 'AND', 'LIKE',
   * 'UPPER', 'COALESCE', 'CASE', 'CAST', 'IS NULL', 'IN', ...). Operands are already coerced to
   * the types the function expects (the binder inserts casts).
   */
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly BoundExpr[]; readonly type: SqlType; readonly pos?: Pos };

/** Evaluates an expression for row `row` of a batch's columns. */
export type RowFn = (columns: readonly unknown[][], row: number) => unknown;
