import type { SqlPosition } from '../errors.js';
import type { CallExpr, Expr, LiteralExpr, Pos } from './ir.js';
import type { Locator } from './locator.js';
import type { NspNode } from './nsp-node.js';
import { parseError } from './sql-errors.js';

/** "unexpected 'x'" at the first token the locator has not consumed before `end`. */
export function unexpectedAfter(loc: Locator, end: number): Error {
  const t = loc.token(loc.cursor);
  const where: SqlPosition | undefined = t && loc.cursor < end ? loc.pos(loc.cursor) : loc.lastPos();
  return parseError(`unexpected ${t && loc.cursor < end ? `'${t.text}'` : 'text'} after the expression`, where);
}

export function identName(x: NspNode): string {
  if (typeof x === 'string') return x;
  if (x && typeof x === 'object') {
    if (typeof x.value === 'string') return x.value;
    if (x.expr) return identName(x.expr);
  }
  return String(x);
}

export function describeNode(n: NspNode): string {
  if (n && typeof n === 'object' && typeof n.type === 'string') return `'${n.type}'`;
  return '(unknown)';
}

export function lit(literalType: LiteralExpr['literalType'], text: string, pos: Pos): LiteralExpr {
  return freezeNode({ kind: 'literal', literalType, text, pos });
}

export function call(name: string, args: Expr[], distinct: boolean, star: boolean, filter: Expr | undefined, pos: Pos): CallExpr {
  return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct, star, ...(filter ? { filter } : {}), pos });
}

/** Freezes a node and its position; parse.ts deep-freezes the whole statement at the end. */
export function freezeNode<T extends { pos: Pos }>(node: T): T {
  if (node.pos) Object.freeze(node.pos);
  return Object.freeze(node);
}
