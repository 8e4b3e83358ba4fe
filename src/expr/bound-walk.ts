/**
 * Walking bound expressions without recursion. A chain such as `a OR b OR ...` or `x + y + ...`
 * binds to a tree as deep as the chain is long (10,000 terms are valid SQL), so every walk over
 * a whole expression keeps its own stack instead of the call stack.
 */
import type { BoundExpr } from './bound.js';

type BoundCall = Extract<BoundExpr, { kind: 'call' }>;

/**
 * Post-order fold: `f(e, results of e's arguments)` for every node, children before parents;
 * returns the root's result. A node found in `known` takes that result without being visited.
 */
export function foldBound<T>(root: BoundExpr, f: (e: BoundExpr, args: readonly T[]) => T, known?: ReadonlyMap<BoundExpr, T>): T {
  const nodes: BoundExpr[] = [root];
  const nextArg: number[] = [0];
  const results: T[][] = [[]];
  for (;;) {
    const top = nodes.length - 1;
    const e = nodes[top]!;
    const i = nextArg[top]!;
    const hit = i === 0 && known !== undefined ? known.get(e) : undefined;
    if (hit === undefined && e.kind === 'call' && i < e.args.length) {
      nextArg[top] = i + 1;
      nodes.push(e.args[i]!);
      nextArg.push(0);
      results.push([]);
      continue;
    }
    const value = hit !== undefined ? hit : f(e, results[top]!);
    nodes.pop();
    nextArg.pop();
    results.pop();
    if (nodes.length === 0) return value;
    results[nodes.length - 1]!.push(value);
  }
}

/** Calls `visit` on every node (pre-order); `visit` returning false skips the node's arguments. */
export function visitBound(root: BoundExpr, visit: (e: BoundExpr) => boolean | void): void {
  const stack: BoundExpr[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (visit(e) === false || e.kind !== 'call') continue;
    for (let i = e.args.length - 1; i >= 0; i--) stack.push(e.args[i]!);
  }
}

/**
 * `e` rebuilt bottom-up: `leaf` maps input references and literals; a call is copied only when
 * one of its arguments changed.
 */
export function mapBoundLeaves(e: BoundExpr, leaf: (e: Exclude<BoundExpr, BoundCall>) => BoundExpr): BoundExpr {
  return foldBound<BoundExpr>(e, (x, args) => {
    if (x.kind !== 'call') return leaf(x);
    if (args.every((a, i) => a === x.args[i])) return x;
    return Object.freeze({ ...x, args: Object.freeze([...args]) });
  });
}

/**
 * The operands of a tree of one associative function (`(a AND b) AND c` -> a, b, c), in order,
 * collected without recursion; operands that are calls of other functions are kept whole.
 */
export function associativeOperands(e: BoundCall): BoundExpr[] {
  const out: BoundExpr[] = [];
  const stack: BoundExpr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.kind === 'call' && x.fn === e.fn) {
      for (let i = x.args.length - 1; i >= 0; i--) stack.push(x.args[i]!);
    } else {
      out.push(x);
    }
  }
  return out;
}

/**
 * `parts.join(sep)` without flattening: `join` copies its parts into a new flat string, so
 * rendering a chain of n terms level by level would copy O(n^2) characters; `+` keeps V8's cheap
 * concatenated strings instead.
 */
export function joinText(parts: readonly string[], sep: string): string {
  let out = parts.length > 0 ? parts[0]! : '';
  for (let i = 1; i < parts.length; i++) out = out + sep + parts[i]!;
  return out;
}
