/**
 * Walking and rewriting IR expressions (before binding): finding aggregate calls and replacing
 * grouped sub-expressions by references to the aggregate's group columns.
 */
import { isAggregateName } from '../expr/bind.js';
import { unreachable } from '../errors.js';
import type { CallExpr, ColumnExpr, Expr } from '../sql/ir.js';

/** The direct sub-expressions of `e` (an aggregate's FILTER counts as a child). */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'column':
    case 'literal':
    case 'interval':
      return [];
    case 'unary':
    case 'is-null':
    case 'is-bool':
    case 'cast':
      return [e.operand];
    case 'binary':
      return [e.left, e.right];
    case 'in':
      return [e.operand, ...e.list];
    case 'between':
      return [e.operand, e.low, e.high];
    case 'like':
      return e.escape ? [e.operand, e.pattern, e.escape] : [e.operand, e.pattern];
    case 'case': {
      const out: Expr[] = e.operand ? [e.operand] : [];
      for (const w of e.whens) out.push(w.when, w.then);
      if (e.else) out.push(e.else);
      return out;
    }
    case 'call':
      return e.filter ? [...e.args, e.filter] : [...e.args];
    default:
      return unreachable(e);
  }
}

/** A copy of `e` with every direct child replaced by `f(child)` (aggregate FILTERs untouched). */
export function mapExprChildren(e: Expr, f: (child: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'column':
    case 'literal':
    case 'interval':
      return e;
    case 'unary':
    case 'is-null':
    case 'is-bool':
    case 'cast':
      return { ...e, operand: f(e.operand) };
    case 'binary':
      return { ...e, left: f(e.left), right: f(e.right) };
    case 'in':
      return { ...e, operand: f(e.operand), list: e.list.map(f) };
    case 'between':
      return { ...e, operand: f(e.operand), low: f(e.low), high: f(e.high) };
    case 'like':
      return { ...e, operand: f(e.operand), pattern: f(e.pattern), ...(e.escape ? { escape: f(e.escape) } : {}) };
    case 'case':
      return {
        ...e,
        ...(e.operand ? { operand: f(e.operand) } : {}),
        whens: e.whens.map((w) => ({ when: f(w.when), then: f(w.then) })),
        ...(e.else ? { else: f(e.else) } : {}),
      };
    case 'call':
      return { ...e, args: e.args.map(f) };
    default:
      return unreachable(e);
  }
}

export function isAggregateCall(e: Expr): e is CallExpr {
  return e.kind === 'call' && isAggregateName(e.name);
}

/** The first aggregate call inside `e` (including `e` itself), if any. */
export function findAggregate(e: Expr): CallExpr | undefined {
  if (isAggregateCall(e)) return e;
  for (const c of exprChildren(e)) {
    const found = findAggregate(c);
    if (found) return found;
  }
  return undefined;
}

/** True when `e` reads no column (a constant expression). */
export function hasColumn(e: Expr): boolean {
  if (e.kind === 'column') return true;
  return exprChildren(e).some(hasColumn);
}

/** `t.a` or `a`, as written. */
export function columnText(c: ColumnExpr): string {
  return c.table !== undefined ? `${c.table}.${c.name}` : c.name;
}
