/**
 * `ROW_NUMBER() OVER (PARTITION BY a, b ORDER BY c DESC, d)`, which node-sql-parser's FlinkSQL
 * dialect cannot parse: the rewrite step reads the OVER clause's tokens here and blanks it out;
 * the expression converter attaches it to the ROW_NUMBER call (converting its expressions) by the
 * offset of the call's `)`. Other functions with OVER (aggregates over a frame) are not supported.
 */
import type { StatementContext } from './nsp-node.js';
import { notYet, parseError } from './sql-errors.js';
import { describeToken, matchingParen, type Token } from './tokenizer.js';

export const RANKING_FUNCTIONS: ReadonlySet<string> = new Set(['ROW_NUMBER', 'RANK', 'DENSE_RANK']);

/** Token ranges [start, end) of the OVER clause's expressions (indexes into the statement's tokens). */
export interface OverSyntax {
  /** The OVER keyword and the `)` that closes its parentheses. */
  readonly start: number;
  readonly end: number;
  readonly partitionBy: readonly (readonly [number, number])[];
  readonly orderBy: readonly { readonly range: readonly [number, number]; readonly descending: boolean }[];
}

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.upper === w;
const isOp = (t: Token | undefined, op: string): boolean => t !== undefined && t.kind === 'op' && t.text === op;

/** True when token i is the OVER of `ROW_NUMBER() OVER (` (or RANK / DENSE_RANK). */
export function isRankingOver(tokens: readonly Token[], i: number, start: number): boolean {
  return (
    i - 3 >= start &&
    isWord(tokens[i], 'OVER') &&
    isOp(tokens[i - 1], ')') &&
    isOp(tokens[i - 2], '(') &&
    tokens[i - 3]!.kind === 'word' &&
    RANKING_FUNCTIONS.has(tokens[i - 3]!.upper) &&
    isOp(tokens[i + 1], '(')
  );
}

/** Splits tokens [from, to) at top-level commas. */
function splitCommas(tokens: readonly Token[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let s = from;
  for (let j = from; j < to; j++) {
    const t = tokens[j]!;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && isOp(t, ',')) {
      out.push([s, j]);
      s = j + 1;
    }
  }
  out.push([s, to]);
  return out;
}

export function readOverClause(ctx: StatementContext, at: number, limit: number): OverSyntax {
  const { tokens, src } = ctx;
  const pos = (i: number) => src.pos(tokens[Math.min(i, tokens.length - 1)]!.start);
  const fn = tokens[at - 3]!.upper;
  if (fn !== 'ROW_NUMBER') throw notYet(`${fn}() OVER (...); use ROW_NUMBER()`, pos(at - 3));
  const close = matchingParen(tokens, at + 1, limit);
  if (close < 0) throw parseError("expected ')' to close OVER (...)", pos(at + 1));
  // The top-level ORDER BY inside the parentheses.
  let depth = 0;
  let orderAt = -1;
  for (let j = at + 2; j < close; j++) {
    const t = tokens[j]!;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && (isWord(t, 'ROWS') || isWord(t, 'RANGE'))) throw notYet('a window frame (ROWS/RANGE) in OVER', pos(j));
    else if (depth === 0 && isWord(t, 'ORDER') && isWord(tokens[j + 1], 'BY')) orderAt = j;
  }
  const partEnd = orderAt >= 0 ? orderAt : close;
  let partitionBy: [number, number][] = [];
  if (partEnd > at + 2) {
    if (!(isWord(tokens[at + 2], 'PARTITION') && isWord(tokens[at + 3], 'BY'))) {
      throw parseError(`unexpected ${describeToken(tokens[at + 2])} in OVER (...): expected PARTITION BY or ORDER BY`, pos(at + 2));
    }
    partitionBy = splitCommas(tokens, at + 4, partEnd);
  }
  if (orderAt < 0) throw parseError('ROW_NUMBER() OVER (...) needs an ORDER BY', pos(close));
  const orderBy = splitCommas(tokens, orderAt + 2, close).map(([s, e]) => {
    let descending = false;
    let end = e;
    if (end > s && (isWord(tokens[end - 1], 'DESC') || isWord(tokens[end - 1], 'ASC'))) {
      descending = isWord(tokens[end - 1], 'DESC');
      end--;
    }
    if (isWord(tokens[end - 2], 'NULLS')) throw notYet('NULLS FIRST/LAST in OVER', pos(end - 2));
    return { range: [s, end] as const, descending };
  });
  for (const r of [...partitionBy, ...orderBy.map((o) => o.range)]) {
    if (r[0] >= r[1]) throw parseError('expected an expression in OVER (...)', pos(r[0]));
  }
  return { start: at, end: close, partitionBy, orderBy };
}
