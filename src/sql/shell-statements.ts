/**
 * The statements only `weir sql` runs: SHOW TABLES | VIEWS | FUNCTIONS | JOBS, SHOW CREATE
 * TABLE | VIEW, SHOW CHECKPOINTS, DESCRIBE, STOP JOB, HELP, QUIT/EXIT. Anything else goes to the
 * statement parser, so the shell accepts every statement a job file does.
 */
import type { Pos, ShellStatement } from './ir.js';
import { TokenCursor } from './cursor.js';
import { parseError } from './sql-errors.js';
import { splitStatements } from './split.js';
import { SourceText, tokenize, type Token } from './tokenizer.js';

/** First words that make a statement a shell statement. */
export const SHELL_STATEMENT_WORDS: ReadonlySet<string> = new Set(['SHOW', 'DESCRIBE', 'DESC', 'STOP', 'HELP', 'QUIT', 'EXIT']);

/** True when tokens [start, end) begin with a shell statement's first word. */
export function isShellStatement(tokens: readonly Token[], start: number, end: number): boolean {
  const t = start < end ? tokens[start] : undefined;
  return t !== undefined && t.kind === 'word' && SHELL_STATEMENT_WORDS.has(t.upper);
}

/** Parses tokens [start, end) (no trailing `;`) of `src` as a shell statement. */
export function parseShellTokens(src: SourceText, tokens: readonly Token[], start: number, end: number): ShellStatement {
  const c = new TokenCursor(src, tokens, start, end);
  const first = c.next()!;
  const pos: Pos = c.posOf(first);
  switch (first.upper) {
    case 'HELP':
      c.expectEnd('after HELP');
      return { kind: 'help', pos };
    case 'QUIT':
    case 'EXIT':
      c.expectEnd(`after ${first.upper}`);
      return { kind: 'quit', pos };
    case 'DESCRIBE':
    case 'DESC': {
      const { name } = c.expectName(`after ${first.upper}`);
      c.expectEnd(`after ${first.upper} ${name.join('.')}`);
      return { kind: 'describe', name, pos };
    }
    case 'STOP': {
      c.expectWord('JOB', 'after STOP');
      const job = jobRef(c, 'after STOP JOB');
      let savepoint = false;
      if (c.acceptWord('WITH')) {
        c.expectWord('SAVEPOINT', 'after STOP JOB ... WITH');
        savepoint = true;
      }
      c.expectEnd(`after STOP JOB '${job}'${savepoint ? ' WITH SAVEPOINT' : ''}`);
      return { kind: 'stop-job', job, savepoint, pos };
    }
    case 'SHOW':
      return parseShow(c, pos);
    default:
      throw parseError(`expected a shell statement, found '${first.text}'`, pos);
  }
}

function parseShow(c: TokenCursor, pos: Pos): ShellStatement {
  const listed = { TABLES: 'tables', VIEWS: 'views', FUNCTIONS: 'functions', JOBS: 'jobs' } as const;
  const t = c.peek();
  if (t && t.kind === 'word' && t.upper in listed) {
    c.next();
    const what = listed[t.upper as keyof typeof listed];
    c.expectEnd(`after SHOW ${t.upper}`);
    return { kind: 'show', what, pos };
  }
  if (c.acceptWord('CREATE')) {
    let object: 'table' | 'view';
    if (c.acceptWord('TABLE')) object = 'table';
    else if (c.acceptWord('VIEW')) object = 'view';
    else throw c.expected('TABLE or VIEW', 'after SHOW CREATE');
    const { name } = c.expectName(`after SHOW CREATE ${object.toUpperCase()}`);
    c.expectEnd(`after SHOW CREATE ${object.toUpperCase()} ${name.join('.')}`);
    return { kind: 'show-create', object, name, pos };
  }
  if (c.acceptWord('CHECKPOINTS')) {
    const job = jobRef(c, 'after SHOW CHECKPOINTS');
    c.expectEnd(`after SHOW CHECKPOINTS '${job}'`);
    return { kind: 'show-checkpoints', job, pos };
  }
  throw c.expected('TABLES, VIEWS, FUNCTIONS, JOBS, CREATE TABLE, CREATE VIEW or CHECKPOINTS', 'after SHOW');
}

/** A job id or name: quoted as in Flink (`'3f2a...'`), a bare word or number accepted too. */
function jobRef(c: TokenCursor, context: string): string {
  const t = c.peek();
  if (t && (t.kind === 'string' || t.kind === 'word' || t.kind === 'quoted' || t.kind === 'number')) {
    c.next();
    return t.value;
  }
  throw c.expected("a job id in quotes ('...')", context);
}

/** Convenience for tests and the shell: tokenizes `src` and parses it whole (trailing `;` allowed). */
export function parseShellText(src: SourceText): ShellStatement {
  const tokens = tokenize(src);
  let end = tokens.length;
  while (end > 0 && tokens[end - 1]!.kind === 'op' && tokens[end - 1]!.text === ';') end--;
  return parseShellTokens(src, tokens, 0, end);
}

const isWordAt = (tokens: readonly Token[], i: number, w: string): boolean => tokens[i]?.kind === 'word' && tokens[i]!.upper === w;

/**
 * True when `text` typed into the shell ends a statement: its last token is `;` outside quotes and
 * comments, and a statement set it opens is closed by `END;`. Unterminated quotes or comments
 * mean more lines are coming.
 */
export function isCompleteInput(text: string): boolean {
  return inputState(text) === 'complete';
}

/** Why input is not complete yet (or that it is). */
type InputState = 'complete' | 'unterminated' | 'no-semicolon' | 'open-set';

function inputState(text: string): InputState {
  let tokens: Token[];
  try {
    tokens = tokenize(new SourceText(text));
  } catch {
    return 'unterminated';
  }
  const last = tokens[tokens.length - 1];
  if (last?.kind !== 'op' || last.text !== ';') return 'no-semicolon';
  const chunks = splitStatements(text);
  const chunk = chunks[chunks.length - 1];
  if (!chunk) return 'complete';
  const ct = tokenize(new SourceText(chunk.text));
  let i = 0;
  if (isWordAt(ct, i, 'EXPLAIN')) {
    i++;
    if (isWordAt(ct, i, 'PLAN') && isWordAt(ct, i + 1, 'FOR')) i += 2;
  }
  if (isWordAt(ct, i, 'EXECUTE')) i++;
  const opens =
    (isWordAt(ct, i, 'STATEMENT') && isWordAt(ct, i + 1, 'SET') && isWordAt(ct, i + 2, 'BEGIN')) ||
    (isWordAt(ct, i, 'BEGIN') && isWordAt(ct, i + 1, 'STATEMENT') && isWordAt(ct, i + 2, 'SET'));
  return !opens || isWordAt(ct, ct.length - 1, 'END') ? 'complete' : 'open-set';
}

/** What a new line must contain to possibly complete input in each state. */
const CAN_COMPLETE: Readonly<Record<Exclude<InputState, 'complete'>, RegExp>> = {
  'no-semicolon': /;/,
  unterminated: /['"`]|\*\//,
  'open-set': /\bEND\b/i,
};

/**
 * Piped input, line by line: collects lines until they hold complete statements. Whether they
 * do is checked on the whole text only when the new line could change the answer (a `;`, a quote
 * or the end of a comment, END of an open statement set): checking on every line made a
 * 10,000-line statement take minutes.
 */
export class LineCollector {
  private lines: string[] = [];
  private waitingFor: RegExp | undefined;
  /** How many times the whole collected text was examined (each costs its length). */
  fullChecks = 0;

  /** Adds a line; true when the collected text is complete (take it with `take`). */
  push(line: string): boolean {
    this.lines.push(line);
    if (this.waitingFor !== undefined && !this.waitingFor.test(line)) return false;
    this.fullChecks++;
    const state = inputState(this.lines.join('\n'));
    this.waitingFor = state === 'complete' ? undefined : CAN_COMPLETE[state];
    return state === 'complete';
  }

  get empty(): boolean {
    return this.lines.length === 0;
  }

  /** The collected text; the collector starts over. */
  take(): string {
    const text = this.lines.join('\n');
    this.lines = [];
    this.waitingFor = undefined;
    return text;
  }
}
