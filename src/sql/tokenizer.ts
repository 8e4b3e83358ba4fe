/**
 * A small SQL tokenizer shared by the splitter, the statement/DDL parser, the data type parser and
 * the position locator. It never fails on unknown characters (they become one-character 'op'
 * tokens, so the parser can report them); it fails only on unterminated strings, quoted
 * identifiers and block comments, because past those nothing can be split or parsed reliably.
 */
import { userError, type SqlPosition } from '../errors.js';

export type TokenKind =
  /** A bare word: keyword or unquoted identifier. */
  | 'word'
  /** A `backtick` identifier; `value` is the name with quoting removed. */
  | 'quoted'
  /** A 'single-quoted' string; `value` is the content with '' unescaped. */
  | 'string'
  /** A "double-quoted" text; Flink has no use for it, but it must not break splitting. */
  | 'dstring'
  | 'number'
  /** Operators and punctuation: `(`, `,`, `<>`, `||`, ... */
  | 'op';

export interface Token {
  readonly kind: TokenKind;
  /** Exactly as in the source. */
  readonly text: string;
  /** Unquoted content for strings and quoted identifiers; same as text otherwise. */
  readonly value: string;
  /** Upper-cased text for words (keyword comparison); same as text otherwise. */
  readonly upper: string;
  /** Offsets into the tokenized text, end exclusive. */
  readonly start: number;
  readonly end: number;
}

/** Where a piece of text starts in the whole file. */
export interface TextOrigin {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export const FILE_START: TextOrigin = Object.freeze({ offset: 0, line: 1, column: 1 });

/** Maps offsets in a piece of text (a statement) back to line/column in the whole file. */
export class SourceText {
  private readonly lineStarts: number[] = [];

  constructor(
    readonly text: string,
    readonly origin: TextOrigin = FILE_START,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** 1-based file position of a local offset. */
  pos(localOffset: number): SqlPosition {
    // Binary search for the number of line breaks before the offset.
    let lo = 0;
    let hi = this.lineStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lineStarts[mid]! <= localOffset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return { line: this.origin.line, column: this.origin.column + localOffset };
    return { line: this.origin.line + lo, column: localOffset - this.lineStarts[lo - 1]! + 1 };
  }

  /** The origin of a sub-range, for parsing a piece of this text on its own. */
  originAt(localOffset: number): TextOrigin {
    const p = this.pos(localOffset);
    return { offset: this.origin.offset + localOffset, line: p.line, column: p.column };
  }
}

const TWO_CHAR_OPS = new Set(['<>', '<=', '>=', '!=', '||', '::', '=>', '->']);

const isWordStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
const isWordPart = (c: number): boolean => isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Tokenizes `text`; offsets in tokens are local to `text`, `src` turns them into file positions
 * for errors.
 */
export function tokenize(src: SourceText): Token[] {
  const text = src.text;
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string): void => {
    const raw = text.slice(start, end);
    tokens.push({ kind, text: raw, value: value ?? raw, upper: kind === 'word' ? raw.toUpperCase() : raw, start, end });
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      i++;
    } else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      // -- line comment
      while (i < n && text.charCodeAt(i) !== 10) i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw userError('SQL_PARSE', 'unterminated comment: /* is never closed by */', { position: src.pos(i) });
      i = close + 2;
    } else if (c === 39 || c === 34 || c === 96) {
      const quote = text[i]!;
      const start = i;
      let value = '';
      let j = i + 1;
      for (;;) {
        const close = text.indexOf(quote, j);
        if (close < 0) {
          const what = quote === "'" ? 'string literal' : quote === '`' ? 'quoted identifier' : 'double-quoted text';
          throw userError('SQL_PARSE', `unterminated ${what}: ${quote} is never closed`, { position: src.pos(start) });
        }
        value += text.slice(j, close);
        if (text[close + 1] === quote) {
          value += quote;
          j = close + 2;
          continue;
        }
        i = close + 1;
        break;
      }
      push(quote === "'" ? 'string' : quote === '`' ? 'quoted' : 'dstring', start, i, value);
    } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      const start = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 46) {
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      }
      const e = text.charCodeAt(i);
      if (e === 69 || e === 101) {
        const sign = text.charCodeAt(i + 1);
        const digitAt = sign === 43 || sign === 45 ? i + 2 : i + 1;
        if (isDigit(text.charCodeAt(digitAt))) {
          i = digitAt;
          while (i < n && isDigit(text.charCodeAt(i))) i++;
        }
      }
      push('number', start, i);
    } else if (isWordStart(c)) {
      const start = i;
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      push('word', start, i);
    } else {
      const two = text.slice(i, i + 2);
      const len = TWO_CHAR_OPS.has(two) ? 2 : 1;
      push('op', i, i + len);
      i += len;
    }
  }
  return tokens;
}

/** `'WITH'`, `'('`, or `end of statement`, for "expected X, found Y" messages. */
export function describeToken(t: Token | undefined): string {
  if (!t) return 'end of statement';
  const shown = (t.text.length > 40 ? `${t.text.slice(0, 37)}...` : t.text).replace(/\s+/g, ' ');
  if (t.kind === 'string') return `string ${shown}`;
  return `'${shown}'`;
}

/** Index of the `)` matching the `(` at `open`, or -1 when unbalanced before `limit`. */
export function matchingParen(tokens: readonly Token[], open: number, limit: number = tokens.length): number {
  let depth = 0;
  for (let i = open; i < limit; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'op') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
