import type { Expr, OverClause, Pos } from './ir.js';
import type { ExprConvertContext } from './expr-convert-context.js';
import { call, describeNode, freezeNode, identName, lit, unexpectedAfter } from './expr-nodes.js';
import { convertUnary } from './expr-operators.js';
import { isIdent } from './locator.js';
import type { NspNode } from './nsp-node.js';
import { parseExprAst } from './nsp.js';
import { RANKING_FUNCTIONS } from './over-clause.js';
import { rewriteSegment } from './rewrite.js';
import { notYet, parseError, unsupported } from './sql-errors.js';

export function convertFunction(c: ExprConvertContext, n: NspNode): Expr {
  const parts: string[] = [];
  if (n.name?.schema) parts.push(identName(n.name.schema));
  for (const p of n.name?.name ?? []) parts.push(identName(p));
  if (parts.length === 0) throw unsupported(`function ${describeNode(n)}`, c.loc.lastPos());
  const name = parts.join('.').toUpperCase();
  if (n.over) throw notYet('OVER (window aggregation)', c.loc.lastPos());
  let rawArgs: NspNode[] = n.args?.type === 'expr_list' ? n.args.value : n.args ? [n.args] : [];
  if (name === 'NOT' && rawArgs.length === 1) return convertUnary(c, 'NOT', rawArgs[0]);
  const first = parts[0]!.toUpperCase();
  const i = c.loc.find((t) => isIdent(t) && t.value.toUpperCase() === first);
  if (i >= 0 && parts.length > 1) c.loc.cursor = i + 2 * parts.length - 1;
  const pos = c.at(i);
  const nameAt = i >= 0 ? i + 2 * (parts.length - 1) : -1;
  if (rawArgs.some((a) => a?.ast !== undefined)) throw unsupported('a subquery inside an expression', pos);
  const hasOrigin = rawArgs.some((a) => a?.type === 'origin');
  let extra: Expr[] = [];
  if (hasOrigin) {
    if (name === 'TRIM') {
      const r = trimArgs(rawArgs, pos);
      extra = r.prefix;
      rawArgs = r.rest;
    } else if (name === 'SUBSTRING' || name === 'POSITION') {
      rawArgs = rawArgs.filter((a) => a?.type !== 'origin');
    } else {
      throw unsupported(`this form of ${name}`, pos);
    }
  }
  let close = -1;
  const args = c.inParens(nameAt, (closeAt) => {
    close = closeAt;
    return [...extra, ...rawArgs.map((a) => c.expr(a))];
  });
  const over = overAfter(c, close);
  if (over) return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct: false, star: false, over, pos });
  if (RANKING_FUNCTIONS.has(name)) throw parseError(`${name}() needs an OVER (PARTITION BY ... ORDER BY ...) clause`, pos);
  return call(name, args, false, false, filterAfter(c, close), pos);
}

function trimArgs(rawArgs: NspNode[], pos: Pos): { prefix: Expr[]; rest: NspNode[] } {
  let k = 0;
  let mode = 'BOTH';
  const m = rawArgs[0];
  if (m?.type === 'origin' && ['BOTH', 'LEADING', 'TRAILING'].includes(String(m.value).toUpperCase())) {
    mode = String(m.value).toUpperCase();
    k = 1;
  }
  const fromAt = rawArgs.findIndex((a) => a?.type === 'origin' && String(a.value).toUpperCase() === 'FROM');
  if (fromAt < 0 || rawArgs.length !== fromAt + 2) throw unsupported('this form of TRIM', pos);
  const chars = rawArgs.slice(k, fromAt);
  if (chars.length > 1) throw unsupported('this form of TRIM', pos);
  const prefix: Expr[] = [lit('string', mode, pos)];
  if (chars.length === 0) prefix.push(lit('string', ' ', pos));
  return { prefix, rest: [...chars, rawArgs[fromAt + 1]] };
}

export function convertAggregate(c: ExprConvertContext, n: NspNode): Expr {
  const name = String(n.name).toUpperCase();
  const i = c.loc.findWord(name);
  const pos = c.at(i);
  if (n.over) throw notYet('OVER (window aggregation)', pos);
  const a = n.args ?? {};
  if (a.orderby) throw unsupported(`ORDER BY inside ${name}(...)`, pos);
  const distinct = typeof a.distinct === 'string' ? a.distinct.toUpperCase() === 'DISTINCT' : Boolean(a.distinct);
  const star = a.expr?.type === 'star';
  let close = -1;
  const args = c.inParens(i, (closeAt) => {
    close = closeAt;
    return star || a.expr === undefined || a.expr === null ? [] : [c.expr(a.expr)];
  });
  const over = overAfter(c, close);
  if (over) return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct, star, over, pos });
  if (RANKING_FUNCTIONS.has(name)) throw parseError(`${name}() needs an OVER (PARTITION BY ... ORDER BY ...) clause`, pos);
  return call(name, args, distinct, star, filterAfter(c, close), pos);
}

export function convertExtract(c: ExprConvertContext, n: NspNode): Expr {
  const i = c.loc.findWord('EXTRACT');
  const pos = c.at(i);
  const unit = String(n.args?.field ?? '').toUpperCase();
  const args = c.inParens(i, () => {
    const u = c.loc.findWord(unit);
    return [lit('string', unit, c.at(u)), c.expr(n.args?.source)];
  });
  return call('EXTRACT', args, false, false, undefined, pos);
}

/** The OVER (...) the rewrite step took from after the call whose `)` is token `close`, if any. */
function overAfter(c: ExprConvertContext, close: number): OverClause | undefined {
  if (close < 0) return undefined;
  const ctx = c.loc.ctx;
  const key = ctx.tokens[close]!.start;
  const syntax = c.tables.overs.get(key);
  if (!syntax) return undefined;
  c.tables.overs.delete(key);
  const conv = (r: readonly [number, number], what: string): Expr => {
    const text = rewriteSegment(ctx, r[0], r[1], c.tables);
    const { expr, alias } = parseExprAst(ctx, r[0], r[1], text);
    return c.loc.range(r[0], r[1], r[1], () => {
      const e = c.expr(expr);
      if (alias !== null && alias !== undefined) throw parseError(`unexpected alias after ${what}`, ctx.src.pos(ctx.tokens[r[0]]!.start));
      return e;
    });
  };
  const partitionBy = syntax.partitionBy.map((r) => conv(r, 'a PARTITION BY expression'));
  const orderBy = syntax.orderBy.map((o) => Object.freeze({ expr: conv(o.range, 'an ORDER BY expression'), descending: o.descending }));
  c.loc.cursor = Math.max(c.loc.cursor, syntax.end + 1);
  return Object.freeze({ partitionBy: Object.freeze(partitionBy), orderBy: Object.freeze(orderBy), pos: ctx.src.pos(ctx.tokens[syntax.start]!.start) });
}

/** The FILTER (WHERE ...) that follows the call whose `)` is token `close`, if any. */
function filterAfter(c: ExprConvertContext, close: number): Expr | undefined {
  if (close < 0) return undefined;
  const tables = c.tables;
  const key = c.loc.ctx.tokens[close]!.start;
  const clause = tables.filters.get(key);
  if (!clause) return undefined;
  tables.filters.delete(key);
  const ctx = c.loc.ctx;
  const text = rewriteSegment(ctx, clause.condStart, clause.condEnd, tables);
  const { expr, alias } = parseExprAst(ctx, clause.condStart, clause.condEnd, text);
  return c.loc.range(clause.condStart, clause.condEnd, clause.condEnd + 1, () => {
    const cond = c.expr(expr);
    if (alias !== null && alias !== undefined) throw unexpectedAfter(c.loc, clause.condEnd);
    return cond;
  });
}
