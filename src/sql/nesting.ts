/**
 * How deeply a statement may nest. Flat chains (`a OR b OR ...`, `x + y + ...`) may be as long as
 * the user likes: every layer walks them in loops. Nesting (parentheses, calls, CASE, runs of prefix
 * operators) makes trees whose every layer recurses, so it is bounded here, before anything else
 * looks at the statement, with a user error at the place that goes too deep (Flink has no such
 * limit and fails with a StackOverflowError instead).
 */
import { userError, type SqlPosition, type WeirError } from '../errors.js';
import type { SourceText, Token } from './tokenizer.js';

/** The deepest nesting of parentheses, CASE and prefix operators a statement may have. */
export const MAX_NESTING = 256;

/** Words after which `-` / `+` start an operand (so they are prefix operators). */
const OPERAND_BEFORE = new Set([
  'SELECT',
  'WHERE',
  'HAVING',
  'ON',
  'AND',
  'OR',
  'NOT',
  'WHEN',
  'THEN',
  'ELSE',
  'CASE',
  'BY',
  'BETWEEN',
  'LIKE',
  'IS',
  'IN',
  'AS',
  'RETURN',
  'DISTINCT',
  'ALL',
  'FOR',
  'FROM',
  'WATERMARK',
  'LIMIT',
]);

function isPrefixOperator(t: Token, prev: Token | undefined): boolean {
  if (t.kind === 'word') return t.upper === 'NOT';
  if (t.kind !== 'op' || (t.text !== '-' && t.text !== '+' && t.text !== '!' && t.text !== '~')) return false;
  if (t.text === '!' || t.text === '~') return true;
  if (prev === undefined) return true;
  if (prev.kind === 'op') return prev.text !== ')' && prev.text !== ']';
  return prev.kind === 'word' && OPERAND_BEFORE.has(prev.upper);
}

export function tooDeep(src: SourceText, t: Token): WeirError {
  return userError(
    'SQL_TOO_DEEP',
    `the statement nests too deeply here: more than ${MAX_NESTING} levels of parentheses, CASE or prefix operators (NOT, -); write it flatter (long AND / OR / + chains are fine)`,
    { position: src.pos(t.start) },
  );
}

/** Throws SQL_TOO_DEEP at the first token of [start, end) nested deeper than MAX_NESTING. */
export function checkNesting(src: SourceText, tokens: readonly Token[], start: number, end: number): void {
  let depth = 0;
  let run = 0;
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    if (isPrefixOperator(t, i > start ? tokens[i - 1] : undefined)) run++;
    else run = 0;
    if (t.kind === 'op') {
      if (t.text === '(') depth++;
      else if (t.text === ')') depth = Math.max(0, depth - 1);
    } else if (t.kind === 'word') {
      if (t.upper === 'CASE') depth++;
      else if (t.upper === 'END') depth = Math.max(0, depth - 1);
    }
    if (depth + run > MAX_NESTING) throw tooDeep(src, t);
  }
}

/** True when `e` is V8's stack overflow (a RangeError no `try` below the culprit could handle). */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /Maximum call stack size exceeded/.test(e.message);
}

/**
 * Runs `fn` (planning a statement that starts at `pos`): should some shape still overflow the
 * stack below MAX_NESTING, the user gets SQL_TOO_DEEP, not an internal error with a stack trace.
 */
export function withStackGuard<T>(pos: SqlPosition | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    throw userError('SQL_TOO_DEEP', 'the statement is nested too deeply; write it flatter (long AND / OR / + chains are fine)', pos ? { position: pos } : {});
  }
}
