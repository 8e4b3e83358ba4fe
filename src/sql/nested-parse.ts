/**
 * Parsing deeply nested expressions in pieces. node-sql-parser's generated parser has no
 * memoization, and its grammar tries several alternatives for every call and CASE, each
 * re-parsing what is inside: parse time grows about 1.5x per level of nesting (12 nested REPLACE
 * calls took 3 s, 20 would take minutes), and about 1,000 nested parentheses overflow its stack.
 *
 * So before node-sql-parser sees a text, every call / parenthesized expression / CASE that is
 * nested more than GROUP_DEPTH levels below the last piece is cut out: its text is replaced by a
 * short placeholder identifier (a map keeps error positions right), it is parsed
 * on its own as `SELECT <piece>`, and its AST is put back where the placeholder's column
 * reference is. The result is the AST the whole text would have given; each parse sees at most
 * GROUP_DEPTH levels, so the total time is linear in the text. Texts that nest less are parsed as
 * they are.
 */
import type { NspNode, StatementContext } from './nsp-node.js';
import { parseError } from './sql-errors.js';
import type { Token } from './tokenizer.js';

/** Levels of nesting one parse may see before inner groups are parsed on their own. */
const GROUP_DEPTH = 2;
const PREFIX = '__w';

/** Words before `(` that start an operand: the parentheses are an expression, not a call. */
const OPERAND_KEYWORDS = new Set([
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
  'DISTINCT',
  'RETURN',
]);

/** Words before `(` whose parentheses are not an expression one could replace by a name. */
const NOT_EXPRESSION = new Set([
  'IN',
  'EXISTS',
  'OVER',
  'FILTER',
  'USING',
  'VALUES',
  'TABLE',
  'DESCRIPTOR',
  'INTO',
  'AS',
  'ROW',
  'ARRAY',
  'MAP',
  'LATERAL',
  'UNNEST',
  'JOIN',
  'FROM',
  'ANY',
  'SOME',
  'ALL',
  'WITHIN',
  'MATCH_RECOGNIZE',
  'PARTITION',
  'ORDER',
]);

const QUERY_WORDS = new Set(['SELECT', 'WITH', 'VALUES']);

type GroupKind = 'call' | 'paren' | 'case' | 'list' | 'query' | 'other';

interface Group {
  readonly kind: GroupKind;
  /** Token range of the whole group (for a call: from its name to its `)`). */
  readonly first: number;
  last: number;
  readonly parent: Group | undefined;
  /** Nesting depth in the whole text. */
  readonly level: number;
  cut: boolean;
  /** `paren`: a `,` at its own depth makes it a row or list, not an expression. */
  comma: boolean;
  readonly children: Group[];
}

/** A text to parse with the groups cut out of it, and where their ASTs go back. */
export interface Piece {
  /** Token range of the piece in the statement. */
  readonly first: number;
  readonly last: number;
  /** The text to parse: the source span with each inner piece replaced by its name. */
  readonly text: string;
  /** The statement offset an offset in `text` comes from (a name maps to its piece's start). */
  readonly toStatement: (offset: number) => number;
  /** Placeholder name -> the piece it stands for. */
  readonly inner: ReadonlyMap<string, Piece>;
}

const isOp = (t: Token | undefined, op: string): boolean => t !== undefined && t.kind === 'op' && t.text === op;
const isWord = (t: Token | undefined): t is Token => t !== undefined && t.kind === 'word';

function parenKind(tokens: readonly Token[], open: number, start: number): { kind: GroupKind; first: number } {
  const next = tokens[open + 1];
  const queryInside = isWord(next) && QUERY_WORDS.has(next.upper);
  const prev = open > start ? tokens[open - 1] : undefined;
  if (prev === undefined) return { kind: queryInside ? 'query' : 'paren', first: open };
  if (prev.kind === 'word' || prev.kind === 'quoted') {
    if (prev.kind === 'word' && OPERAND_KEYWORDS.has(prev.upper)) return { kind: queryInside ? 'query' : 'paren', first: open };
    if (prev.kind === 'word' && NOT_EXPRESSION.has(prev.upper)) return { kind: queryInside ? 'query' : 'list', first: open };
    const before = open - 1 > start ? tokens[open - 2] : undefined;
    // `a.f(...)`, `INTERVAL '1' DAY(3)` and `x IN f(...)` are kept whole.
    if (isOp(before, '.') || before?.kind === 'string' || (isWord(before) && before.upper === 'IN')) return { kind: 'other', first: open };
    return { kind: queryInside ? 'query' : 'call', first: open - 1 };
  }
  if (prev.kind === 'op' && prev.text !== ')' && prev.text !== ']') return { kind: queryInside ? 'query' : 'paren', first: open };
  return { kind: 'other', first: open };
}

/**
 * Splits tokens [start, end) of `ctx`, whose (rewritten, same-length) text is `text`, into pieces.
 * Returns undefined when nothing is nested deeply enough to need it.
 */
export function splitNested(ctx: StatementContext, start: number, end: number, text: string): Piece | undefined {
  const { tokens } = ctx;
  const base = tokens[start]!.start;
  // Only tokens the rewrite step left as they were can bound a piece (not blanked FILTER / OVER
  // clauses, not window TVF placeholders).
  const intact = (i: number): boolean => {
    const t = tokens[i]!;
    return text.slice(t.start - base, t.end - base) === t.text;
  };
  let deepest = 0;
  const root: Group = { kind: 'query', first: start, last: end - 1, parent: undefined, level: 0, cut: false, comma: false, children: [] };
  let open: Group = root;
  const push = (kind: GroupKind, first: number): void => {
    const g: Group = { kind, first, last: -1, parent: open, level: open.level + 1, cut: false, comma: false, children: [] };
    open.children.push(g);
    open = g;
    deepest = Math.max(deepest, g.level);
  };
  // Unbalanced text is split too (a missing `(` must not send the whole text to the exponential
  // parse): a group left open is never cut, a stray `)` or END is left to the parser to report.
  const close = (isClosing: (g: Group) => boolean, i: number): void => {
    let g: Group | undefined = open;
    while (g !== undefined && g !== root && !isClosing(g)) g = g.parent;
    if (g === undefined || g === root) return;
    g.last = i;
    open = g.parent!;
  };
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    if (t.kind === 'op') {
      if (t.text === '(') {
        const { kind, first } = parenKind(tokens, i, start);
        push(kind, first);
      } else if (t.text === ')') {
        close((g) => g.kind !== 'case', i);
      } else if (t.text === ',' && open.kind === 'paren') {
        open.comma = true;
      }
    } else if (isWord(t)) {
      if (t.upper === 'CASE') push('case', i);
      else if (t.upper === 'END' && open.kind === 'case') close((g) => g.kind === 'case', i);
    }
  }
  if (deepest <= GROUP_DEPTH) return undefined;
  if (open !== root) {
    // A deeply nested group left open (a truncated statement): node-sql-parser would spend
    // exponential time trying alternatives for every open CASE and call before giving up.
    const t = tokens[open.kind === 'call' ? open.first + 1 : open.first]!;
    throw parseError(open.kind === 'case' ? 'this CASE has no END' : "this '(' is never closed", ctx.src.pos(t.start));
  }
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    if (isWord(t) && t.upper.startsWith(PREFIX.toUpperCase())) return undefined; // a user name could clash
  }
  return piece(ctx, root, start, end - 1, text, base, intact);
}

/** Marks the groups to cut below `g` (depth counted from the nearest cut ancestor). */
function markCuts(g: Group, depth: number, intact: (i: number) => boolean): void {
  // Iterative: the nesting can be a thousand levels deep.
  const stack: { g: Group; depth: number }[] = [{ g, depth }];
  while (stack.length > 0) {
    const { g: cur, depth: d } = stack.pop()!;
    for (const c of cur.children) {
      const expressionContext = cur.kind === 'call' || cur.kind === 'paren' || cur.kind === 'case' || cur.kind === 'list';
      const cuttable = (c.kind === 'call' || c.kind === 'case' || (c.kind === 'paren' && !c.comma)) && expressionContext && c.last >= 0;
      if (cuttable && d + 1 > GROUP_DEPTH && intact(c.first) && intact(c.last)) {
        c.cut = true;
        stack.push({ g: c, depth: 0 });
      } else {
        stack.push({ g: c, depth: d + 1 });
      }
    }
  }
}

function piece(ctx: StatementContext, root: Group, first: number, last: number, text: string, base: number, intact: (i: number) => boolean): Piece {
  const { tokens } = ctx;
  markCuts(root, 0, intact);
  // Collect the cut groups in pre-order, then build the pieces from the innermost outwards
  // (no recursion: the nesting can be a thousand levels deep).
  const order: Group[] = [];
  const stack: Group[] = [root];
  while (stack.length > 0) {
    const g = stack.pop()!;
    if (g === root || g.cut) order.push(g);
    for (let k = g.children.length - 1; k >= 0; k--) stack.push(g.children[k]!);
  }
  let names = 0;
  const pieceOf = new Map<Group, Piece>();
  for (let k = order.length - 1; k >= 0; k--) {
    const g = order[k]!;
    const from = g === root ? first : g.first;
    const to = g === root ? last : g.last;
    const direct: Group[] = [];
    const walk: Group[] = [...g.children];
    while (walk.length > 0) {
      const c = walk.pop()!;
      if (c.cut) direct.push(c);
      else walk.push(...c.children);
    }
    direct.sort((a, b) => a.first - b.first);
    // The piece's text: its own text with each cut group replaced by a short name. `breaks` maps
    // offsets in it back to statement offsets (for error positions).
    const parts: string[] = [];
    const breaks: { at: number; source: number; name: boolean }[] = [];
    const inner = new Map<string, Piece>();
    let at = 0;
    let src = tokens[from]!.start;
    for (const c of direct) {
      const cStart = tokens[c.first]!.start;
      breaks.push({ at, source: src, name: false });
      parts.push(text.slice(src - base, cStart - base));
      at += cStart - src;
      const name = `${PREFIX}${(names++).toString(36)}`;
      breaks.push({ at, source: cStart, name: true });
      parts.push(name);
      at += name.length;
      src = tokens[c.last]!.end;
      inner.set(name, pieceOf.get(c)!);
    }
    breaks.push({ at, source: src, name: false });
    parts.push(text.slice(src - base, tokens[to]!.end - base));
    const toStatement = (o: number): number => {
      let lo = 0;
      for (let hi = breaks.length - 1; lo < hi; ) {
        const mid = (lo + hi + 1) >> 1;
        if (breaks[mid]!.at <= o) lo = mid;
        else hi = mid - 1;
      }
      const b = breaks[lo]!;
      return b.name ? b.source : b.source + (o - b.at);
    };
    pieceOf.set(g, { first: from, last: to, text: parts.join(''), inner, toStatement });
  }
  return pieceOf.get(root)!;
}

/** A placeholder's column reference: `{type: 'column_ref', column: '__w1'}` (or the column as `{expr: {value}}`). */
function placeholderName(n: NspNode): string | undefined {
  if (n === null || typeof n !== 'object' || n.type !== 'column_ref' || n.table) return undefined;
  const c = n.column;
  const name = typeof c === 'string' ? c : typeof c?.expr?.value === 'string' ? c.expr.value : undefined;
  return name?.startsWith(PREFIX) ? name : undefined;
}

/** Puts the pieces' ASTs (`byName`) back in place of their placeholders inside `ast`; returns the result (`ast` may be one). */
export function substitutePlaceholders(ast: NspNode, byName: ReadonlyMap<string, NspNode>): NspNode {
  const own = placeholderName(ast);
  if (own !== undefined && byName.has(own)) return byName.get(own);
  const stack: NspNode[] = [ast];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== 'object') continue;
    for (const key of Object.keys(n)) {
      const v = n[key];
      if (v === null || typeof v !== 'object') continue;
      const name = placeholderName(v);
      const replacement = name !== undefined ? byName.get(name) : undefined;
      if (replacement !== undefined) n[key] = replacement;
      else stack.push(v);
    }
  }
  return ast;
}
