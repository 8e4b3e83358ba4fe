/**
 * A cursor over a token range, for weir's own recursive-descent parsing of statements, DDL and
 * data types. Errors read "expected X after Y, found Z" and carry the file position of Z.
 */
import type { SqlPosition, WeirError } from '../errors.js';
import { parseError } from './sql-errors.js';
import { describeToken, type SourceText, type Token } from './tokenizer.js';

export class TokenCursor {
  i: number;

  constructor(
    readonly src: SourceText,
    readonly tokens: readonly Token[],
    start = 0,
    readonly end: number = tokens.length,
  ) {
    this.i = start;
  }

  get done(): boolean {
    return this.i >= this.end;
  }

  peek(k = 0): Token | undefined {
    const j = this.i + k;
    return j < this.end ? this.tokens[j] : undefined;
  }

  next(): Token | undefined {
    const t = this.peek();
    if (t) this.i++;
    return t;
  }

  /** Position of the current token, or just past the last one at the end of the range. */
  here(): SqlPosition {
    return this.posOf(this.peek());
  }

  posOf(t: Token | undefined): SqlPosition {
    if (t) return this.src.pos(t.start);
    const last = this.end > 0 ? this.tokens[this.end - 1] : undefined;
    return this.src.pos(last ? last.end : 0);
  }

  isWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'word' && t.upper === word;
  }

  isOp(op: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'op' && t.text === op;
  }

  acceptWord(word: string): Token | undefined {
    return this.isWord(word) ? this.next() : undefined;
  }

  /** Accepts a sequence of words, all or nothing. */
  acceptWords(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isWord(words[k]!, k)) return false;
    this.i += words.length;
    return true;
  }

  acceptOp(op: string): Token | undefined {
    return this.isOp(op) ? this.next() : undefined;
  }

  expectWord(word: string, context: string): Token {
    const t = this.acceptWord(word);
    if (!t) throw this.expected(word, context);
    return t;
  }

  expectOp(op: string, context: string): Token {
    const t = this.acceptOp(op);
    if (!t) throw this.expected(`'${op}'`, context);
    return t;
  }

  /** An identifier: a bare word or a `backtick` name. */
  expectIdent(context: string): { name: string; token: Token } {
    const t = this.peek();
    if (t && (t.kind === 'word' || t.kind === 'quoted')) {
      this.i++;
      return { name: t.value, token: t };
    }
    throw this.expected('an identifier', context);
  }

  /** A possibly qualified name: `a`, `db.a`, `cat.db.a`. */
  expectName(context: string): { name: string[]; token: Token } {
    const first = this.expectIdent(context);
    const name = [first.name];
    while (this.isOp('.')) {
      this.i++;
      name.push(this.expectIdent(`after '.' in ${name.join('.')}`).name);
    }
    return { name, token: first.token };
  }

  expectString(context: string): { value: string; token: Token } {
    const t = this.peek();
    if (t && t.kind === 'string') {
      this.i++;
      return { value: t.value, token: t };
    }
    throw this.expected('a quoted string', context);
  }

  expectEnd(context: string): void {
    if (!this.done) throw this.expected('end of statement', context);
  }

  /** `expected <what> <context>, found <token>` at the current token. */
  expected(what: string, context: string): WeirError {
    const t = this.peek();
    return parseError(`expected ${what} ${context}, found ${describeToken(t)}`, this.posOf(t));
  }
}
