/**
 * Recovers source positions for node-sql-parser's AST, which has none for most nodes in the
 * FlinkSQL dialect. The converters walk the AST in source order and ask the locator for the next
 * token that matches each node (an identifier, a keyword, a literal); the cursor only moves
 * forward, and parenthesized parts (calls, subqueries) are searched within their own parentheses,
 * so one missed match cannot shift positions outside that part. A node that cannot be matched
 * gets the position of the last matched token.
 */
import type { SqlPosition } from '../errors.js';
import type { StatementContext } from './nsp-node.js';
import { matchingParen, type Token } from './tokenizer.js';

export class Locator {
  cursor: number;
  limit: number;
  private last: SqlPosition | undefined;

  constructor(
    readonly ctx: StatementContext,
    start: number,
    end: number,
  ) {
    this.cursor = start;
    this.limit = end;
    this.last = start < end ? ctx.src.pos(ctx.tokens[start]!.start) : undefined;
  }

  token(i: number): Token | undefined {
    return i >= 0 && i < this.limit ? this.ctx.tokens[i] : undefined;
  }

  pos(i: number): SqlPosition {
    return this.ctx.src.pos(this.ctx.tokens[i]!.start);
  }

  /** Position of the last match: the fallback for nodes that could not be matched. */
  lastPos(): SqlPosition | undefined {
    return this.last;
  }

  /** Index of the next token satisfying `pred`, moving the cursor past it; -1 if none (cursor kept). */
  find(pred: (t: Token, i: number) => boolean): number {
    for (let i = this.cursor; i < this.limit; i++) {
      if (pred(this.ctx.tokens[i]!, i)) {
        this.cursor = i + 1;
        this.last = this.pos(i);
        return i;
      }
    }
    return -1;
  }

  findWord(...words: string[]): number {
    return this.find((t) => t.kind === 'word' && words.includes(t.upper));
  }

  findOp(op: string): number {
    return this.find((t) => t.kind === 'op' && t.text === op);
  }

  /** An identifier as node-sql-parser reports it (quotes removed, case kept). */
  findIdent(name: string): number {
    const exact = this.find((t) => isIdent(t) && t.value === name);
    if (exact >= 0) return exact;
    const upper = name.toUpperCase();
    return this.find((t) => isIdent(t) && t.value.toUpperCase() === upper);
  }

  /** `a . b . c`: the index of `a` when the dotted sequence of names follows. */
  findQualified(parts: readonly string[]): number {
    const toks = this.ctx.tokens;
    const at = this.find((_t, i) => {
      for (let k = 0; k < parts.length; k++) {
        const j = i + 2 * k;
        if (j >= this.limit) return false;
        const tk = toks[j]!;
        if (!isIdent(tk) || tk.value.toUpperCase() !== parts[k]!.toUpperCase()) return false;
        if (k > 0 && !(toks[j - 1]!.kind === 'op' && toks[j - 1]!.text === '.')) return false;
      }
      return true;
    });
    if (at >= 0) this.cursor = at + 2 * parts.length - 1;
    return at;
  }

  /** Runs `fn` with the search confined to the parentheses opened at `open`, then moves past `)`. */
  within<T>(open: number, fn: (close: number) => T): T {
    const close = matchingParen(this.ctx.tokens, open, this.limit);
    if (close < 0) return fn(-1);
    const savedLimit = this.limit;
    this.cursor = open + 1;
    this.limit = close;
    try {
      return fn(close);
    } finally {
      this.limit = savedLimit;
      this.cursor = close + 1;
    }
  }

  /** Runs `fn` confined to tokens [start, end), then continues after `after`. */
  range<T>(start: number, end: number, after: number, fn: () => T): T {
    const savedLimit = this.limit;
    this.cursor = start;
    this.limit = end;
    try {
      return fn();
    } finally {
      this.limit = savedLimit;
      this.cursor = after;
    }
  }
}

export const isIdent = (t: Token): boolean => t.kind === 'word' || t.kind === 'quoted';
