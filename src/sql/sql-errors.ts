/**
 * The user errors of the SQL front-end. Codes: 'SQL_PARSE' (the text does not parse),
 * 'SQL_UNSUPPORTED' (valid Flink SQL weir does not handle yet), 'SQL_INVALID' (parses, but is
 * wrong: a primary key on an unknown column, a duplicate option, ...). Every one carries the file
 * position, and messages never contain a stack trace or the parser's internals.
 */
import { userError, type SqlPosition, type WeirError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';

export function parseError(message: string, position: SqlPosition | undefined): WeirError {
  return userError('SQL_PARSE', message, position ? { position } : {});
}

/** `what` names the construct: "OVER windows", "ORDER BY after UNION", ... */
export function unsupported(what: string, position: SqlPosition | undefined, hint?: string): WeirError {
  const message = `${what} is not supported${hint ? `: ${hint}` : ''}`;
  return userError('SQL_UNSUPPORTED', message, position ? { position } : {});
}

/** Like `unsupported`, for constructs that are planned: "<what> is not supported yet". */
export function notYet(what: string, position: SqlPosition | undefined): WeirError {
  return userError('SQL_UNSUPPORTED', `${what} is not supported yet`, position ? { position } : {});
}

export function invalid(message: string, position: SqlPosition | undefined): WeirError {
  return userError('SQL_INVALID', message, position ? { position } : {});
}

/** One entry of a peggy SyntaxError's `expected` list. */
export interface PeggyExpectation {
  readonly type: string;
  readonly text?: string;
  readonly description?: string;
}

// Operators of other dialects that node-sql-parser offers; listing them would only mislead.
const FOREIGN = new Set([
  '--',
  '/*',
  '#-',
  '#>',
  '#>>',
  '->',
  '->>',
  '<@',
  '@>',
  '?',
  '?&',
  '?|',
  '::',
  '[',
  ']',
  '&&',
  '@',
  '@@',
  '$',
  ':',
  ':=',
  '!',
  '~',
  '"',
  '`',
  "'",
  'json_object',
  'overlay',
]);

/** Words that start an expression; when most of them are expected, "an expression" says it better. */
const EXPRESSION_STARTS = ['CASE', 'CAST', 'NULL', 'TRUE', 'INTERVAL'];

/**
 * Summarizes peggy's expectation list: keywords and punctuation only, deduplicated, at most 10,
 * never character classes. Returns undefined when nothing useful is left.
 */
export function summarizeExpected(expected: readonly PeggyExpectation[] | undefined): string | undefined {
  if (!expected || expected.length === 0) return undefined;
  const words: string[] = [];
  const puncts: string[] = [];
  let end = false;
  for (const e of expected) {
    if (e.type === 'end') end = true;
    if (e.type !== 'literal' || e.text === undefined) continue;
    const text = e.text;
    if (FOREIGN.has(text) || text.trim() === '') continue;
    if (/^[A-Za-z_][A-Za-z_0-9]*$/.test(text)) {
      const w = text.toUpperCase();
      if (!words.includes(w)) words.push(w);
    } else if (/^[^\sA-Za-z0-9]{1,3}$/.test(text)) {
      const p = `'${text}'`;
      if (!puncts.includes(p)) puncts.push(p);
    }
  }
  if (EXPRESSION_STARTS.every((w) => words.includes(w))) return 'an expression';
  const all = [...words, ...puncts];
  if (end) all.push('end of statement');
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0];
  const shown = all.slice(0, 10);
  return `one of: ${shown.join(', ')}${all.length > shown.length ? ', ...' : ''}`;
}

/** The keywords in peggy's expectation list, upper-cased. */
export function expectedKeywords(expected: readonly PeggyExpectation[] | undefined): string[] {
  const words = new Set<string>();
  for (const e of expected ?? []) {
    if (e.type === 'literal' && e.text !== undefined && /^[A-Za-z_]+$/.test(e.text)) words.add(e.text.toUpperCase());
  }
  return [...words];
}

/** The keyword `word` is most likely a misspelling of (edit distance 1, or 2 for long words), if any. */
export function didYouMean(word: string, keywords: readonly string[]): string | undefined {
  const w = word.toUpperCase();
  if (keywords.includes(w)) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of keywords) {
    if (k.length < 3) continue;
    const d = editDistance(w, k);
    const allowed = k.length >= 6 ? 2 : 1;
    if (d <= allowed && d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
