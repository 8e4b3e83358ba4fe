/**
 * The public entry points of the SQL front-end: text -> frozen IR statements. Positions in the IR
 * and in errors are positions in the whole file (1-based line and column).
 */
import type { ShellStatement, Statement } from './ir.js';
import type { StatementContext } from './nsp-node.js';
import { splitStatements } from './split.js';
import { parseError } from './sql-errors.js';
import { parseStatementTokens } from './statement-parser.js';
import { isShellStatement, parseShellTokens } from './shell-statements.js';
import { FILE_START, SourceText, tokenize, type TextOrigin } from './tokenizer.js';
import { checkNesting, withStackGuard } from './nesting.js';

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
  checkNesting(src, tokens, 0, end);
  const ctx: StatementContext = { src, tokens };
  // checkNesting bounds what recursion sees; should some shape still overflow, it is the
  // statement's depth, said as such (never a RangeError with a stack trace).
  return withStackGuard(src.pos(tokens[0]!.start), () => deepFreeze(parseStatementTokens(ctx, 0, end)));
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
  if (isShellStatement(tokens, 0, end)) {
    checkNesting(src, tokens, 0, end);
    return deepFreeze(parseShellTokens(src, tokens, 0, end));
  }
  return parseStatement(text, at);
}

/** Freezes the whole tree (iteratively: a chain of 10,000 ORs is that deep); nodes frozen while they were built are still walked for their children. */
function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    for (const child of Object.values(v)) stack.push(child);
    Object.freeze(v);
  }
  return value;
}
