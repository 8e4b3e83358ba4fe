/**
 * Expressions embedded in weir's own statement grammar (computed columns, WATERMARK): finding
 * where they end, and converting them through node-sql-parser.
 */
import type { Expr } from './ir.js';
import { ExprConverter } from './expr-convert.js';
import { unexpectedAfter } from './expr-nodes.js';
import { Locator } from './locator.js';
import type { StatementContext } from './nsp-node.js';
import { parseExprAst } from './nsp.js';
import { rewriteSegment, type RewriteTables } from './rewrite.js';
import { parseError } from './sql-errors.js';
import type { Token } from './tokenizer.js';

/**
 * Index of the first token at or after `start` that ends an expression: a `,` or unmatched `)`
 * at depth 0, one of `stopWords` at depth 0, or `end`.
 */
export function expressionEnd(tokens: readonly Token[], start: number, end: number, stopWords: readonly string[] = []): number {
  let depth = 0;
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    if (t.kind === 'op') {
      if (t.text === '(') depth++;
      else if (t.text === ')') {
        if (depth === 0) return i;
        depth--;
      } else if (t.text === ',' && depth === 0) return i;
    } else if (t.kind === 'word' && depth === 0 && stopWords.includes(t.upper)) {
      return i;
    }
  }
  return end;
}

/** Parses and converts tokens [start, end) as one expression; `what` names it in errors. */
export function convertExprSegment(ctx: StatementContext, start: number, end: number, tables: RewriteTables, what: string): Expr {
  if (start >= end) {
    const t = ctx.tokens[start];
    throw parseError(`expected an expression for ${what}`, ctx.src.pos(t ? t.start : (ctx.tokens[start - 1]?.end ?? 0)));
  }
  const text = rewriteSegment(ctx, start, end, tables);
  const { expr, alias } = parseExprAst(ctx, start, end, text);
  const loc = new Locator(ctx, start, end);
  const result = new ExprConverter(loc, tables).expr(expr);
  if (alias !== null && alias !== undefined) throw unexpectedAfter(loc, end);
  const leftover = tables.filters.values().next();
  if (!leftover.done) {
    throw parseError('FILTER (WHERE ...) must directly follow an aggregate call', ctx.src.pos(ctx.tokens[leftover.value.filterToken]!.start));
  }
  return result;
}
