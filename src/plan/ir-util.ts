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

/**
 * The first node of `e` (pre-order, `e` itself first) that `match` accepts. A loop, not
 * recursion: a chain of thousands of ORs is that deep.
 */
export function findInExpr<T extends Expr>(e: Expr, match: (x: Expr) => x is T): T | undefined;
export function findInExpr(e: Expr, match: (x: Expr) => boolean): Expr | undefined;
export function findInExpr(e: Expr, match: (x: Expr) => boolean): Expr | undefined {
  const stack: Expr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (match(x)) return x;
    const children = exprChildren(x);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return undefined;
}

/** The first aggregate call inside `e` (including `e` itself), if any. */
export function findAggregate(e: Expr): CallExpr | undefined {
  return findInExpr(e, isAggregateCall);
}

/** True when `e` reads a column (false for a constant expression). */
export function hasColumn(e: Expr): boolean {
  return findInExpr(e, (x) => x.kind === 'column') !== undefined;
}

/**
 * `e` rewritten top-down without recursion: `replace(x)` returns what stands for `x` (its
 * children are then not visited) or undefined to keep `x` and rewrite its children (as
 * mapExprChildren sees them: an aggregate's FILTER stays as it is).
 */
export function rewriteExpr(e: Expr, replace: (x: Expr) => Expr | undefined): Expr {
  const first = replace(e);
  if (first !== undefined) return first;
  const nodes: Expr[] = [e];
  const kids: Expr[][] = [mappedChildren(e)];
  const done: Expr[][] = [[]];
  for (;;) {
    const top = nodes.length - 1;
    const pending = kids[top]!;
    const results = done[top]!;
    if (results.length < pending.length) {
      const child = pending[results.length]!;
      const r = replace(child);
      if (r !== undefined) results.push(r);
      else {
        nodes.push(child);
        kids.push(mappedChildren(child));
        done.push([]);
      }
      continue;
    }
    const x = nodes.pop()!;
    kids.pop();
    done.pop();
    let k = 0;
    const rebuilt = results.every((r, i) => r === pending[i]) ? x : mapExprChildren(x, () => results[k++]!);
    if (nodes.length === 0) return rebuilt;
    done[nodes.length - 1]!.push(rebuilt);
  }
}

/** The children mapExprChildren maps, in the order it maps them. */
function mappedChildren(e: Expr): Expr[] {
  return e.kind === 'call' ? [...e.args] : exprChildren(e);
}

/** `t.a` or `a`, as written. */
export function columnText(c: ColumnExpr): string {
  return c.table !== undefined ? `${c.table}.${c.name}` : c.name;
}
