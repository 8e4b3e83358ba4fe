/**
 * weir's own statement layer (node-sql-parser handles none of these): SET, RESET, DROP, INSERT,
 * statement sets, EXPLAIN and bare queries; CREATE is in create-parser.ts. Query bodies are
 * handed to query-convert.ts with their exact text.
 */
import type { Pos, ExplainStatement, InsertStatement, QueryStatement, Statement, StatementSetStatement } from './ir.js';
import { parseCreate } from './create-parser.js';
import { TokenCursor } from './cursor.js';
import type { StatementContext } from './nsp-node.js';
import { convertQuerySegment } from './query-convert.js';
import { newRewriteTables } from './rewrite.js';
import { parseError, unsupported } from './sql-errors.js';
import { describeToken, type Token } from './tokenizer.js';

const isSemi = (t: Token): boolean => t.kind === 'op' && t.text === ';';
const QUERY_STARTS = new Set(['SELECT', 'WITH', 'VALUES']);
const EXPLAIN_DETAILS = new Set(['ESTIMATED_COST', 'CHANGELOG_MODE', 'JSON_EXECUTION_PLAN', 'PLAN_ADVICE']);

/** Parses tokens [start, end) of `ctx` (no trailing `;`) as one statement. */
export function parseStatementTokens(ctx: StatementContext, start: number, end: number): Statement {
  const c = new TokenCursor(ctx.src, ctx.tokens, start, end);
  const first = c.peek();
  if (!first) throw parseError('expected a statement, found end of statement', c.here());
  const word = first.kind === 'word' ? first.upper : '';
  if (word === 'EXPLAIN') return parseExplain(ctx, c);
  if (isStatementSetStart(c)) return parseStatementSet(ctx, c);
  rejectSemicolons(ctx, start, end);
  if (first.kind === 'op' && first.text === '(') return parseQueryStatement(ctx, c);
  switch (word) {
    case 'SET':
      return parseSet(ctx, c);
    case 'RESET':
      return parseReset(ctx, c);
    case 'CREATE':
      return parseCreate(ctx, c);
    case 'DROP':
      return parseDrop(c);
    case 'INSERT':
      return parseInsert(ctx, c);
    case '':
      throw parseError(`expected a statement, found ${describeToken(first)}`, c.here());
    default:
      if (QUERY_STARTS.has(word)) return parseQueryStatement(ctx, c);
      throw unsupported(`the ${word} statement`, c.here());
  }
}

function rejectSemicolons(ctx: StatementContext, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    if (isSemi(ctx.tokens[i]!)) throw parseError("unexpected ';': expected a single statement", ctx.src.pos(ctx.tokens[i]!.start));
  }
}

function posOf(c: TokenCursor, t: Token): Pos {
  return c.posOf(t);
}

/** Raw text of tokens [from, to) as written (for unquoted SET keys and values). */
function rawText(ctx: StatementContext, from: number, to: number): string {
  return ctx.src.text.slice(ctx.tokens[from]!.start, ctx.tokens[to - 1]!.end);
}

/** `SET`, `SET 'k' = 'v'`, `SET k.x = v` */
function parseSet(ctx: StatementContext, c: TokenCursor): Statement {
  const pos = posOf(c, c.next()!);
  if (c.done) return { kind: 'set', pos };
  const key = parseKey(ctx, c, 'SET');
  c.expectOp('=', `after the SET key '${key}'`);
  if (c.done) throw c.expected('a value', `after '=' in SET '${key}'`);
  let value: string;
  const t = c.peek()!;
  if (t.kind === 'string' && c.i + 1 === c.end) {
    value = t.value;
  } else {
    value = rawText(ctx, c.i, c.end);
  }
  c.i = c.end;
  return { kind: 'set', key, value, pos };
}

/** `RESET`, `RESET 'k'`, `RESET k.x` */
function parseReset(ctx: StatementContext, c: TokenCursor): Statement {
  const pos = posOf(c, c.next()!);
  if (c.done) return { kind: 'reset', pos };
  const key = parseKey(ctx, c, 'RESET');
  c.expectEnd(`after the RESET key '${key}'`);
  return { kind: 'reset', key, pos };
}

function parseKey(ctx: StatementContext, c: TokenCursor, stmt: string): string {
  const t = c.peek()!;
  if (t.kind === 'string') {
    c.next();
    return t.value;
  }
  const from = c.i;
  while (!c.done && !c.isOp('=')) {
    const k = c.peek()!;
    if (k.kind === 'string' || k.kind === 'dstring') throw c.expected("'='", `after the ${stmt} key`);
    c.next();
  }
  return rawText(ctx, from, c.i);
}

/** `DROP [TEMPORARY] TABLE|VIEW [IF EXISTS] name` */
function parseDrop(c: TokenCursor): Statement {
  const pos = posOf(c, c.next()!);
  const temporary = c.acceptWord('TEMPORARY') !== undefined;
  let object: 'table' | 'view';
  if (c.acceptWord('TABLE')) object = 'table';
  else if (c.acceptWord('VIEW')) object = 'view';
  else {
    const t = c.peek();
    if (t && t.kind === 'word') throw unsupported(`DROP ${t.upper}`, c.here());
    throw c.expected('TABLE or VIEW', 'after DROP');
  }
  const ifExists = c.acceptWords('IF', 'EXISTS');
  const { name } = c.expectName(`after DROP ${object.toUpperCase()}`);
  c.expectEnd(`after DROP ${object.toUpperCase()} ${name.join('.')}`);
  return { kind: 'drop', object, name, ifExists, temporary, pos };
}

/** `INSERT INTO|OVERWRITE [cat.db.]t [(a, b)] query` */
function parseInsert(ctx: StatementContext, c: TokenCursor): InsertStatement {
  const pos = posOf(c, c.next()!);
  let overwrite = false;
  if (c.acceptWord('OVERWRITE')) overwrite = true;
  else c.expectWord('INTO', 'after INSERT');
  const { name: target } = c.expectName(`after INSERT ${overwrite ? 'OVERWRITE' : 'INTO'}`);
  if (c.isWord('PARTITION')) throw unsupported('INSERT ... PARTITION (...)', c.here());
  let columns: string[] | undefined;
  if (c.isOp('(') && !startsQuery(c.peek(1))) {
    c.next();
    columns = [c.expectIdent(`in the column list of INSERT INTO ${target.join('.')}`).name];
    while (c.acceptOp(',')) columns.push(c.expectIdent("after ',' in the column list").name);
    c.expectOp(')', 'after the column list');
  }
  if (c.done) throw c.expected('a query', `after INSERT INTO ${target.join('.')}`);
  const { query, queryText } = querySegment(ctx, c);
  return { kind: 'insert', target, ...(columns ? { columns } : {}), overwrite, query, queryText, pos };
}

function startsQuery(t: Token | undefined): boolean {
  return t !== undefined && ((t.kind === 'word' && QUERY_STARTS.has(t.upper)) || (t.kind === 'op' && t.text === '('));
}

/** The rest of the cursor's range as a query. */
function querySegment(ctx: StatementContext, c: TokenCursor): { query: QueryStatement['query']; queryText: string } {
  const start = c.i;
  const end = c.end;
  const query = convertQuerySegment(ctx, start, end, newRewriteTables());
  c.i = end;
  return { query, queryText: rawText(ctx, start, end) };
}

function parseQueryStatement(ctx: StatementContext, c: TokenCursor): QueryStatement {
  const pos = c.here();
  const { query, queryText } = querySegment(ctx, c);
  return { kind: 'query', query, queryText, pos };
}

function isStatementSetStart(c: TokenCursor): boolean {
  if (c.isWord('EXECUTE')) return c.isWord('STATEMENT', 1) && c.isWord('SET', 2);
  if (c.isWord('STATEMENT')) return c.isWord('SET', 1);
  return c.isWord('BEGIN') && c.isWord('STATEMENT', 1) && c.isWord('SET', 2);
}

/**
 * `EXECUTE STATEMENT SET BEGIN ...; END`, `BEGIN STATEMENT SET; ...; END` and (after EXPLAIN)
 * `STATEMENT SET BEGIN ...; END`.
 */
function parseStatementSet(ctx: StatementContext, c: TokenCursor): StatementSetStatement {
  const pos = c.here();
  if (c.acceptWord('BEGIN')) {
    c.expectWord('STATEMENT', 'after BEGIN');
    c.expectWord('SET', 'after BEGIN STATEMENT');
    c.expectOp(';', 'after BEGIN STATEMENT SET');
  } else {
    c.acceptWord('EXECUTE');
    c.expectWord('STATEMENT', 'after EXECUTE');
    c.expectWord('SET', 'after STATEMENT');
    c.expectWord('BEGIN', 'after STATEMENT SET');
  }
  const last = c.end - 1;
  const endTok = ctx.tokens[last];
  if (last < c.i || !endTok || endTok.kind !== 'word' || endTok.upper !== 'END') {
    const where = ctx.tokens[c.end - 1];
    throw parseError('expected END to close the statement set', ctx.src.pos(where ? where.end : 0));
  }
  const inserts: InsertStatement[] = [];
  let from = c.i;
  for (let i = c.i; i <= last; i++) {
    if (i < last && !isSemi(ctx.tokens[i]!)) continue;
    if (i > from) {
      const inner = new TokenCursor(ctx.src, ctx.tokens, from, i);
      if (!inner.isWord('INSERT')) {
        throw parseError(`expected INSERT inside a statement set, found ${describeToken(inner.peek())}`, inner.here());
      }
      inserts.push(parseInsert(ctx, inner));
    }
    from = i + 1;
  }
  if (inserts.length === 0) throw parseError('a statement set needs at least one INSERT', pos);
  c.i = c.end;
  return { kind: 'statement-set', inserts, pos };
}

/** `EXPLAIN [PLAN FOR] insert | statement set | query` */
function parseExplain(ctx: StatementContext, c: TokenCursor): ExplainStatement {
  const pos = posOf(c, c.next()!);
  c.acceptWords('PLAN', 'FOR');
  const t = c.peek();
  if (t && t.kind === 'word' && EXPLAIN_DETAILS.has(t.upper)) throw unsupported(`EXPLAIN ${t.upper}`, c.here(), 'use EXPLAIN or EXPLAIN PLAN FOR');
  if (!t) throw c.expected('a statement', 'after EXPLAIN');
  let statement: ExplainStatement['statement'];
  if (isStatementSetStart(c)) {
    statement = parseStatementSet(ctx, c);
  } else {
    rejectSemicolons(ctx, c.i, c.end);
    if (c.isWord('INSERT')) statement = parseInsert(ctx, c);
    else if (startsQuery(t)) statement = parseQueryStatement(ctx, c);
    else throw c.expected('INSERT, a statement set or a query', 'after EXPLAIN');
  }
  return { kind: 'explain', statement, pos };
}
