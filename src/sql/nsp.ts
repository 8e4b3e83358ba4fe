/**
 * The one place that calls node-sql-parser (FlinkSQL dialect). It parses query bodies and, by
 * wrapping them in `SELECT <expr>`, single expressions. Its peggy syntax errors become
 * SQL_PARSE user errors at the file position of the offending token.
 */
import type { Parser } from 'node-sql-parser/build/flinksql.js';
import { isWeirError } from '../errors.js';
import { lazyModule } from '../util/lazy-module.js';
import { didYouMean, expectedKeywords, parseError, summarizeExpected, type PeggyExpectation } from './sql-errors.js';
import { describeToken, type Token } from './tokenizer.js';
import type { NspNode, StatementContext } from './nsp-node.js';
import { splitNested, substitutePlaceholders, type Piece } from './nested-parse.js';

// The FlinkSQL build only (not the all-dialects one), required at the first parse.
const nsp = lazyModule<{ Parser: typeof Parser }>('node-sql-parser/build/flinksql.js');
let parser: Parser | undefined;
const OPTIONS = { database: 'FlinkSQL', trimQuery: false, parseOptions: { includeLocations: false } };
const EXPR_PREFIX = 'SELECT ';

/**
 * Parses a query. `text` is the (rewritten, same-length) text of tokens [start, end) of the
 * statement; offsets in it map 1:1 onto the statement text from tokens[start].start.
 */
export function parseQueryAst(ctx: StatementContext, start: number, end: number, text: string): NspNode {
  const base = ctx.tokens[start]!.start;
  const split = splitNested(ctx, start, end, text);
  const parsed = split ? run(ctx, split.text, split.toStatement, start, end, 'statement') : run(ctx, text, (o) => base + o, start, end, 'statement');
  const ast = split ? parseInnerPieces(ctx, split, parsed) : parsed;
  if (Array.isArray(ast)) {
    if (ast.length === 1) return ast[0];
    throw parseError('expected a single query', ctx.src.pos(base));
  }
  return ast;
}

/** Parses one expression (tokens [start, end), rewritten `text`); returns its AST and alias. */
export function parseExprAst(ctx: StatementContext, start: number, end: number, text: string): { expr: NspNode; alias: unknown } {
  const split = splitNested(ctx, start, end, text);
  if (!split) return parseOneExpr(ctx, start, end, text);
  const { expr, alias } = parseOneExpr(ctx, start, end, split.text, split.toStatement);
  return { expr: parseInnerPieces(ctx, split, expr), alias };
}

/** `toStatement` maps offsets in `text` to statement offsets (default: `text` starts at token `start`). */
function parseOneExpr(ctx: StatementContext, start: number, end: number, text: string, toStatement?: (o: number) => number): { expr: NspNode; alias: unknown } {
  const base = ctx.tokens[start]!.start;
  const len = text.length;
  const inText = (o: number): number => Math.min(Math.max(o - EXPR_PREFIX.length, 0), len);
  const toLocal = toStatement ? (o: number) => toStatement(inText(o)) : (o: number) => base + inText(o);
  const ast = run(ctx, EXPR_PREFIX + text, toLocal, start, end, 'expression');
  const select = Array.isArray(ast) ? ast[0] : ast;
  const columns: NspNode[] = select?.columns ?? [];
  if (select?.type !== 'select' || columns.length !== 1 || select._next || select.where || select.groupby) {
    throw parseError('expected a single expression', ctx.src.pos(base));
  }
  return { expr: columns[0].expr, alias: columns[0].as };
}

/**
 * Parses the pieces nested-parse.ts cut out of `outer` (already parsed as `ast`) and puts their
 * ASTs back, innermost first (no recursion: the pieces nest as deeply as the text).
 */
function parseInnerPieces(ctx: StatementContext, outer: Piece, ast: NspNode): NspNode {
  const order: Piece[] = [];
  for (let k = 0, queue: Piece[] = [outer]; k < queue.length; k++) {
    order.push(queue[k]!);
    for (const p of queue[k]!.inner.values()) queue.push(p);
  }
  const resolved = new Map<Piece, NspNode>();
  for (let k = order.length - 1; k >= 0; k--) {
    const piece = order[k]!;
    let parsed: NspNode = ast;
    if (piece !== outer) {
      const { expr, alias } = parseOneExpr(ctx, piece.first, piece.last + 1, piece.text, piece.toStatement);
      if (alias !== null && alias !== undefined) throw parseError('expected a single expression', ctx.src.pos(ctx.tokens[piece.first]!.start));
      parsed = expr;
    }
    const byName = new Map<string, NspNode>();
    for (const [name, p] of piece.inner) byName.set(name, resolved.get(p));
    // `((x))` has no node for its parentheses: a piece can be nothing but an inner piece.
    resolved.set(piece, substitutePlaceholders(parsed, byName));
  }
  return resolved.get(outer);
}

function run(ctx: StatementContext, text: string, toLocal: (o: number) => number, start: number, end: number, what: 'statement' | 'expression'): NspNode {
  try {
    return (parser ??= new (nsp().Parser)()).astify(text, OPTIONS);
  } catch (e) {
    if (isWeirError(e)) throw e;
    const retried = withQuotedAliases(text, e);
    if (retried !== undefined) return retried;
    throw translate(ctx, e, toLocal, start, end, what);
  }
}

/**
 * node-sql-parser reserves words Flink does not (`SELECT 1 AS one` fails with '"one" is a reserved
 * word, can not as alias clause'): such aliases are parsed again in backquotes. Only the AST is
 * used (positions come from weir's own tokens), so the text may change length here.
 */
function withQuotedAliases(text: string, first: unknown): NspNode | undefined {
  let e = first;
  const quoted = new Set<string>();
  for (let attempt = 0; attempt < 8; attempt++) {
    const word = /^(?:Error: )?"([A-Za-z_][A-Za-z0-9_]*)" is a reserved word, can not as alias clause/.exec((e as { message?: string })?.message ?? '')?.[1];
    if (word === undefined || quoted.has(word.toLowerCase())) return undefined;
    quoted.add(word.toLowerCase());
    text = text.replace(new RegExp(`(\\bAS\\s+)(${word})\\b`, 'gi'), (_, as: string, w: string) => `${as}\`${w}\``);
    try {
      return (parser ??= new (nsp().Parser)()).astify(text, OPTIONS);
    } catch (next) {
      e = next;
    }
  }
  return undefined;
}

interface PeggyError {
  message?: string;
  location?: { start?: { offset?: number } };
  expected?: PeggyExpectation[] | null;
}

function translate(ctx: StatementContext, e: unknown, toLocal: (o: number) => number, start: number, end: number, what: 'statement' | 'expression'): Error {
  const err = (e ?? {}) as PeggyError;
  const offset = err.location?.start?.offset;
  if (typeof offset !== 'number') {
    // Not a syntax error (node-sql-parser sometimes throws plain errors from grammar actions).
    return parseError(`could not parse this ${what === 'statement' ? 'query' : 'expression'}`, ctx.src.pos(ctx.tokens[start]!.start));
  }
  const local = toLocal(offset);
  let found: Token | undefined;
  let foundAt = end;
  for (let j = start; j < end; j++) {
    if (ctx.tokens[j]!.end > local) {
      found = ctx.tokens[j];
      foundAt = j;
      break;
    }
  }
  // A misspelled keyword: `ORDER BY a DSC` fails at DSC; `SELECT a FORM t` fails at t, because
  // the parser takes FORM for an alias.
  const keywords = expectedKeywords(err.expected ?? undefined);
  for (const t of [found, foundAt > start ? ctx.tokens[foundAt - 1] : undefined]) {
    if (t?.kind !== 'word' || t.text.length < 2) continue;
    const guess = didYouMean(t.upper, t === found ? keywords : [...keywords, 'FROM', 'WHERE']);
    if (guess) return parseError(`unexpected '${t.text}', did you mean ${guess}?`, ctx.src.pos(t.start));
  }
  let expected = summarizeExpected(err.expected ?? undefined);
  // After a complete expression the parser expects the rest of a SELECT; that is noise here.
  if (what === 'expression' && expected?.includes('FROM')) expected = undefined;
  const foundText = found ? describeToken(found) : `end of ${what}`;
  const where = found ? found.start : ctx.tokens[end - 1]!.end;
  return parseError(`unexpected ${foundText}${expected ? `, expected ${expected}` : ''}`, ctx.src.pos(where));
}
