/**
 * Splits a SQL script into statements on `;` outside quotes and comments. A statement set
 * (`EXECUTE STATEMENT SET BEGIN ... END;` or `BEGIN STATEMENT SET; ... END;`) stays one chunk.
 */
import { SourceText, tokenize, type Token } from './tokenizer.js';

/** One statement of a script: its text (without the `;`) and where it starts in the file. */
export interface SqlChunk {
  readonly text: string;
  /** 0-based offset of the first character of `text` in the file. */
  readonly offset: number;
  /** 1-based line and column of the first character of `text`. */
  readonly line: number;
  readonly column: number;
}

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.upper === w;
const isSemi = (t: Token | undefined): boolean => t !== undefined && t.kind === 'op' && t.text === ';';

/**
 * True when the tokens at `i` open a statement set, possibly under EXPLAIN:
 * `EXECUTE STATEMENT SET BEGIN`, `STATEMENT SET BEGIN` (after EXPLAIN) or `BEGIN STATEMENT SET`.
 */
function opensStatementSet(tokens: readonly Token[], i: number): boolean {
  if (isWord(tokens[i], 'EXPLAIN')) {
    i++;
    if (isWord(tokens[i], 'PLAN') && isWord(tokens[i + 1], 'FOR')) i += 2;
  }
  if (isWord(tokens[i], 'EXECUTE')) i++;
  if (isWord(tokens[i], 'STATEMENT')) return isWord(tokens[i + 1], 'SET') && isWord(tokens[i + 2], 'BEGIN');
  return isWord(tokens[i], 'BEGIN') && isWord(tokens[i + 1], 'STATEMENT') && isWord(tokens[i + 2], 'SET');
}

/**
 * Index just past the END that closes a statement set starting at `i`, or tokens.length when it
 * is never closed (the parser then reports the missing END). CASE ... END pairs are skipped so an
 * `END;` that closes a CASE inside an INSERT does not end the set.
 */
function statementSetEnd(tokens: readonly Token[], i: number): number {
  let caseDepth = 0;
  for (let j = i; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.kind !== 'word') continue;
    if (t.upper === 'CASE') caseDepth++;
    else if (t.upper === 'END') {
      if (caseDepth > 0) caseDepth--;
      else if (j + 1 >= tokens.length || isSemi(tokens[j + 1])) return j + 1;
    }
  }
  return tokens.length;
}

export function splitStatements(text: string): SqlChunk[] {
  const src = new SourceText(text);
  const tokens = tokenize(src);
  const chunks: SqlChunk[] = [];
  const emit = (first: number, last: number): void => {
    if (last < first) return;
    const start = tokens[first]!.start;
    const end = tokens[last]!.end;
    const p = src.pos(start);
    chunks.push(Object.freeze({ text: text.slice(start, end), offset: start, line: p.line, column: p.column }));
  };
  let i = 0;
  while (i < tokens.length) {
    if (isSemi(tokens[i])) {
      i++;
      continue;
    }
    const first = i;
    if (opensStatementSet(tokens, i)) {
      i = statementSetEnd(tokens, i);
    } else {
      while (i < tokens.length && !isSemi(tokens[i])) i++;
    }
    emit(first, i - 1);
  }
  return chunks;
}
