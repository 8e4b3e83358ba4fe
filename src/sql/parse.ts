/**
 * The public entry points of the SQL front-end: text -> frozen IR statements. Positions in the IR
 * and in errors are positions in the whole file (1-based line and column).
 */
import type { ShellStatement, Statement } from './ir.js';
import type { StatementContext } from './nsp.js';
import { splitStatements } from './split.js';
import { parseError } from './sql-errors.js';
import { parseStatementTokens } from './statement-parser.js';
import { isShellStatement, parseShellTokens } from './shell-statements.js';
import { FILE_START, SourceText, tokenize, type TextOrigin } from './tokenizer.js';

/** Parses every statement of a script, in order. Stops at the first error. */
export function parseScript(text: string): Statement[] {
  return splitStatements(text).map((chunk) => parseStatement(chunk.text, chunk));
}

/**
 * Parses one statement. `at` is where `text` starts in the file (a SqlChunk fits), so positions
 * are file positions. Trailing semicolons are ignored.
 */
export function parseStatement(text: string, at: TextOrigin = FILE_START): Statement {
  const src = new SourceText(text, { offset: at.offset, line: at.line, column: at.column });
  const tokens = tokenize(src);
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.kind === 'op' && tokens[end - 1]!.text === ';') end--;
  if (end === 0) throw parseError('expected a statement, found an empty text', src.pos(0));
  const ctx: StatementContext = { src, tokens };
  return deepFreeze(parseStatementTokens(ctx, 0, end));
}

/**
 * Parses one statement typed into `weir sql`: a shell statement (SHOW, DESCRIBE, STOP JOB, HELP,
 * QUIT) or anything parseStatement accepts.
 */
export function parseShellInput(text: string, at: TextOrigin = FILE_START): Statement | ShellStatement {
  const src = new SourceText(text, { offset: at.offset, line: at.line, column: at.column });
  const tokens = tokenize(src);
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.kind === 'op' && tokens[end - 1]!.text === ';') end--;
  if (isShellStatement(tokens, 0, end)) return deepFreeze(parseShellTokens(src, tokens, 0, end));
  return parseStatement(text, at);
}

/** Freezes the whole tree; nodes frozen while they were built are still walked for their children. */
function deepFreeze<T>(value: T, seen: Set<object> = new Set()): T {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value;
  seen.add(value);
  for (const v of Object.values(value as object)) deepFreeze(v, seen);
  return Object.freeze(value);
}
