/**
 * Window table-valued functions in FROM, which node-sql-parser cannot parse:
 *   TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
 *   TABLE(HOP(TABLE t, DESCRIPTOR(ts), slide, size))
 *   TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step, max size))
 *   TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap))
 * The rewrite step reads the call's tokens here, records them under the offset of `TABLE`, and
 * replaces the whole call by a placeholder table name of the same length; the query converter
 * turns the placeholder back into a WindowTvfRef, converting the interval arguments as expressions.
 */
import type { StatementContext } from './nsp-node.js';
import { notYet, parseError } from './sql-errors.js';
import { describeToken, matchingParen, type Token } from './tokenizer.js';

export type WindowTvfName = 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION';
export const WINDOW_TVFS: ReadonlySet<string> = new Set<WindowTvfName>(['TUMBLE', 'HOP', 'CUMULATE', 'SESSION']);

/** The tokens of a window TVF call (indexes into the statement's tokens). */
export interface WindowTvfSyntax {
  readonly fn: WindowTvfName;
  /** The `TABLE` keyword that opens `TABLE(...)`. */
  readonly start: number;
  /** The `)` that closes `TABLE(...)`. */
  readonly end: number;
  /** The function name token. */
  readonly fnToken: number;
  /** The table name as written (possibly qualified) and its first token. */
  readonly table: readonly string[];
  readonly tableToken: number;
  /** SESSION's PARTITION BY columns: name and token. */
  readonly partitionBy: readonly { readonly name: string; readonly token: number }[];
  readonly timeCol: { readonly name: string; readonly token: number };
  /** Token ranges [start, end) of the remaining (interval) arguments. */
  readonly args: readonly (readonly [number, number])[];
}

/** The placeholder table name for the TVF recorded at statement offset `offset`. */
export const placeholderName = (offset: number): string => `__weir_tvf_${offset}`;
export const PLACEHOLDER_RE = /^__weir_tvf_(\d+)$/;

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.upper === w;
const isOp = (t: Token | undefined, op: string): boolean => t !== undefined && t.kind === 'op' && t.text === op;
const isName = (t: Token | undefined): t is Token => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');

/** True when tokens at i are `TABLE ( <window TVF> (`. */
export function isWindowTvfAt(tokens: readonly Token[], i: number, end: number): boolean {
  return (
    i + 3 < end &&
    isWord(tokens[i], 'TABLE') &&
    isOp(tokens[i + 1], '(') &&
    tokens[i + 2]!.kind === 'word' &&
    WINDOW_TVFS.has(tokens[i + 2]!.upper) &&
    isOp(tokens[i + 3], '(')
  );
}

/** Reads the window TVF call starting at token `at` (see isWindowTvfAt). */
export function readWindowTvf(ctx: StatementContext, at: number, limit: number): WindowTvfSyntax {
  const { tokens, src } = ctx;
  const pos = (i: number) => src.pos(tokens[Math.min(i, tokens.length - 1)]!.start);
  const outerClose = matchingParen(tokens, at + 1, limit);
  const fnToken = at + 2;
  const fn = tokens[fnToken]!.upper as WindowTvfName;
  const close = matchingParen(tokens, at + 3, limit);
  if (outerClose < 0 || close < 0) throw parseError(`expected ')' to close TABLE(${fn}(...))`, pos(at + 1));
  if (close + 1 !== outerClose) throw parseError(`unexpected ${describeToken(tokens[close + 1])} after ${fn}(...): expected ')'`, pos(close + 1));

  // Split the arguments at top-level commas.
  const parts: [number, number][] = [];
  let depth = 0;
  let from = at + 4;
  for (let j = at + 4; j < close; j++) {
    const t = tokens[j]!;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && isOp(t, ',')) {
      parts.push([from, j]);
      from = j + 1;
    } else if (depth === 0 && isOp(t, '=>')) {
      throw notYet(`named arguments of ${fn}`, pos(j));
    }
  }
  parts.push([from, close]);
  const [first, second, ...rest] = parts;
  if (!first || first[0] >= first[1]) throw parseError(`expected TABLE <name> as the first argument of ${fn}`, pos(first ? first[0] : close));

  // TABLE name [PARTITION BY a, b]: PARTITION BY columns are separated by commas, so they may have
  // been split into further "arguments" until DESCRIPTOR.
  let j = first[0];
  if (!isWord(tokens[j], 'TABLE')) {
    if (isOp(tokens[j], '(')) throw notYet(`a subquery as the input of ${fn}`, pos(j));
    throw parseError(`expected TABLE <name> as the first argument of ${fn}, found ${describeToken(tokens[j])}`, pos(j));
  }
  j++;
  const tableToken = j;
  const table: string[] = [];
  for (;;) {
    const t = tokens[j];
    if (!isName(t) || j >= first[1]) throw parseError(`expected a table name after TABLE, found ${describeToken(j < first[1] ? t : tokens[first[1]])}`, pos(j));
    table.push(t.value);
    j++;
    if (j < first[1] && isOp(tokens[j], '.')) {
      j++;
      continue;
    }
    break;
  }
  const partitionBy: { name: string; token: number }[] = [];
  const argParts = [second, ...rest];
  if (j < first[1]) {
    if (!(isWord(tokens[j], 'PARTITION') && isWord(tokens[j + 1], 'BY'))) {
      throw parseError(`unexpected ${describeToken(tokens[j])} after TABLE ${table.join('.')}: expected ',' or PARTITION BY`, pos(j));
    }
    if (fn !== 'SESSION') throw parseError(`PARTITION BY is only allowed in SESSION windows, not in ${fn}`, pos(j));
    const cols: [number, number][] = [[j + 2, first[1]]];
    while (argParts.length > 0 && argParts[0] && !isWord(tokens[argParts[0][0]], 'DESCRIPTOR')) cols.push(argParts.shift()!);
    for (const [s, e] of cols) {
      if (e !== s + 1 || !isName(tokens[s])) throw parseError(`expected a column name in PARTITION BY, found ${describeToken(tokens[s])}`, pos(s));
      partitionBy.push({ name: tokens[s]!.value, token: s });
    }
  }
  const desc = argParts[0];
  if (!desc) throw parseError(`expected DESCRIPTOR(<time column>) as the second argument of ${fn}`, pos(close));
  const [d0, d1] = desc;
  if (!(isWord(tokens[d0], 'DESCRIPTOR') && isOp(tokens[d0 + 1], '(') && isName(tokens[d0 + 2]) && isOp(tokens[d0 + 3], ')') && d0 + 4 === d1)) {
    throw parseError(`expected DESCRIPTOR(<time column>) as the second argument of ${fn}, found ${describeToken(tokens[d0])}`, pos(d0));
  }
  const timeCol = { name: tokens[d0 + 2]!.value, token: d0 + 2 };
  const args = argParts.slice(1).filter((p): p is [number, number] => p !== undefined);
  for (const [s, e] of args) if (s >= e) throw parseError(`expected an INTERVAL argument of ${fn}`, pos(s));
  return { fn, start: at, end: outerClose, fnToken, table, tableToken, partitionBy, timeCol, args };
}
