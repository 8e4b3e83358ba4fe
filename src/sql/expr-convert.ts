/**
 * node-sql-parser expression AST -> weir IR Expr. Anything without an IR counterpart is a
 * SQL_UNSUPPORTED user error naming the construct. Special call shapes are normalized:
 * - `NOT (x)` (parsed as a call) becomes a unary NOT;
 * - `SUBSTRING(s FROM a [FOR b])` becomes SUBSTRING(s, a[, b]); `POSITION(a IN s)` POSITION(a, s);
 * - `TRIM(s)` stays TRIM(s); `TRIM(BOTH|LEADING|TRAILING [chars] FROM s)` becomes
 *   TRIM('BOTH'|'LEADING'|'TRAILING', chars (default ' '), s) with string literals;
 * - `EXTRACT(unit FROM x)` becomes EXTRACT('UNIT', x) with the unit as an upper-case string literal;
 *   likewise `TIMESTAMPADD(HOUR, n, ts)` becomes TIMESTAMPADD('HOUR', n, ts) (also TIMESTAMPDIFF) and
 *   `FLOOR(ts TO HOUR)` becomes FLOOR(ts, 'HOUR') (also CEIL).
 */
import type { SqlPosition } from '../errors.js';
import type { BinaryOp, CallExpr, Expr, IntervalUnit, LiteralExpr, OverClause, Pos } from './ir.js';
import { RANKING_FUNCTIONS } from './over-clause.js';
import { type Locator, isIdent } from './locator.js';
import type { NspNode } from './nsp-node.js';
import { parseExprAst } from './nsp.js';
import { rewriteSegment, type RewriteTables } from './rewrite.js';
import { notYet, parseError, unsupported } from './sql-errors.js';

const DIRECT_BINARY: Readonly<Record<string, BinaryOp>> = {
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  AND: 'AND',
  OR: 'OR',
  '||': '||',
};

const UNITS: Readonly<Record<string, IntervalUnit>> = {
  YEAR: 'YEAR',
  YEARS: 'YEAR',
  MONTH: 'MONTH',
  MONTHS: 'MONTH',
  DAY: 'DAY',
  DAYS: 'DAY',
  HOUR: 'HOUR',
  HOURS: 'HOUR',
  MINUTE: 'MINUTE',
  MINUTES: 'MINUTE',
  SECOND: 'SECOND',
  SECONDS: 'SECOND',
  MILLISECOND: 'MILLISECOND',
  MILLISECONDS: 'MILLISECOND',
};

export class ExprConverter {
  constructor(
    readonly loc: Locator,
    readonly tables: RewriteTables,
  ) {}

  private at(i: number): Pos {
    return i >= 0 ? this.loc.pos(i) : this.loc.lastPos();
  }

  expr(n: NspNode): Expr {
    if (n === null || typeof n !== 'object') throw parseError('expected an expression', this.loc.lastPos());
    if (n.ast !== undefined) throw unsupported('a subquery inside an expression', this.loc.lastPos());
    switch (n.type) {
      case 'column_ref':
        return this.column(n);
      case 'number':
      case 'bigint':
        return this.number(n);
      case 'single_quote_string':
      case 'string': {
        const i = this.loc.find((t) => t.kind === 'string');
        const text = i >= 0 ? this.loc.token(i)!.value : String(n.value).replace(/''/g, "'");
        return lit('string', text, this.at(i));
      }
      case 'bool': {
        const i = this.loc.findWord(n.value ? 'TRUE' : 'FALSE');
        return lit('boolean', n.value ? 'TRUE' : 'FALSE', this.at(i));
      }
      case 'null':
        return lit('null', 'NULL', this.at(this.loc.findWord('NULL')));
      case 'date':
      case 'time':
      case 'timestamp':
        return this.typedLiteral(n);
      case 'interval':
        return this.interval(n);
      case 'unary_expr':
        return this.unary(n.operator, n.expr);
      case 'binary_expr':
        return this.binary(n);
      case 'case':
        return this.caseExpr(n);
      case 'cast':
        return this.cast(n);
      case 'function':
        return this.func(n);
      case 'aggr_func':
        return this.aggregate(n);
      case 'extract':
        return this.extract(n);
      case 'expr_list':
        throw unsupported('a row value (a, b, ...)', this.loc.lastPos());
      case 'double_quote_string':
        throw unsupported('double-quoted text', this.loc.lastPos(), "use 'single quotes' for strings");
      case 'hex_string':
      case 'full_hex_string':
      case 'bit_string':
      case 'natural_string':
        throw unsupported('binary and national string literals', this.loc.lastPos());
      case 'star':
        throw parseError("'*' is only allowed in a SELECT list and in COUNT(*)", this.loc.lastPos());
      default:
        throw unsupported(`expression ${describeNode(n)}`, this.loc.lastPos());
    }
  }

  private column(n: NspNode): Expr {
    if (n.array_index) throw unsupported('array and map element access [...]', this.loc.lastPos());
    const name = identName(n.column);
    if (/^x+$/.test(name) && this.tables.units.size > 0) {
      // A time unit that rewrite.ts replaced by a placeholder.
      let u = this.loc.cursor;
      // `TO` of FLOOR(ts TO HOUR) was rewritten into the comma before the unit.
      while (this.loc.token(u) && (!isIdent(this.loc.token(u)!) || this.loc.token(u)!.upper === 'TO')) u++;
      const unit = this.loc.token(u) ? this.tables.units.get(this.loc.token(u)!.start) : undefined;
      if (unit !== undefined) {
        this.loc.cursor = u + 1;
        return lit('string', unit, this.loc.pos(u));
      }
    }
    const table = n.table === null || n.table === undefined ? undefined : identName(n.table);
    if (name === '*') throw parseError("'*' is only allowed in a SELECT list and in COUNT(*)", this.loc.lastPos());
    const i = table === undefined ? this.loc.findIdent(name) : this.loc.findQualified([table, name]);
    return freezeNode({ kind: 'column', ...(table !== undefined ? { table } : {}), name, pos: this.at(i) });
  }

  private number(n: NspNode): Expr {
    const raw = String(n.value);
    const negative = raw.startsWith('-');
    const toks = this.loc.ctx.tokens;
    const i = this.loc.find((t, j) => t.kind === 'number' && (!negative || (j > 0 && toks[j - 1]!.text === '-')));
    let text = raw;
    let pos = this.at(i);
    if (i >= 0) {
      text = (negative ? '-' : '') + toks[i]!.text;
      if (negative) pos = this.loc.pos(i - 1);
    }
    const digits = text.replace(/^-/, '');
    const literalType = /[eE]/.test(digits) ? 'double' : digits.includes('.') ? 'decimal' : 'integer';
    return lit(literalType, text, pos);
  }

  private typedLiteral(n: NspNode): Expr {
    const keyword = String(n.type).toUpperCase();
    const toks = this.loc.ctx.tokens;
    const i = this.loc.find((t, j) => t.kind === 'word' && t.upper === keyword && toks[j + 1]?.kind === 'string');
    let text = String(n.value);
    if (i >= 0) {
      text = toks[i + 1]!.value;
      this.loc.cursor = i + 2;
    }
    return lit(n.type, text, this.at(i));
  }

  private interval(n: NspNode): Expr {
    const i = this.loc.findWord('INTERVAL');
    const pos = this.at(i);
    let unitText = String(n.unit ?? '').toUpperCase();
    if (unitText === '' && i >= 0) {
      // node-sql-parser takes an unknown unit for an alias: look at the token itself.
      const after = this.loc.token(i + 2);
      unitText = after && after.kind === 'word' ? after.upper : '';
    }
    const unit = UNITS[unitText];
    if (!unit) {
      const valid = `use one of ${Object.keys(UNITS)
        .filter((u) => !u.endsWith('S'))
        .join(', ')}`;
      if (unitText === '') throw parseError(`expected a unit after INTERVAL: ${valid}`, pos);
      throw unsupported(`interval unit ${unitText}`, pos, valid);
    }
    const v = n.expr;
    let value: string;
    if (v?.type === 'single_quote_string' || v?.type === 'string') {
      const s = this.loc.find((t) => t.kind === 'string');
      value = s >= 0 ? this.loc.token(s)!.value : String(v.value);
    } else if (v?.type === 'number' || v?.type === 'bigint') {
      const s = this.loc.find((t) => t.kind === 'number');
      value = s >= 0 ? this.loc.token(s)!.text : String(v.value);
    } else {
      throw unsupported('an INTERVAL with a computed value', pos, "write INTERVAL '5' SECOND");
    }
    this.loc.findWord(String(n.unit).toUpperCase());
    return freezeNode({ kind: 'interval', value, unit, pos });
  }

  private unary(operator: string, operand: NspNode): Expr {
    const op = String(operator).toUpperCase();
    if (op !== '-' && op !== '+' && op !== 'NOT' && op !== '!') throw unsupported(`operator ${op}`, this.loc.lastPos());
    const i = op === 'NOT' ? this.loc.findWord('NOT') : this.loc.findOp(op);
    const pos = this.at(i);
    return freezeNode({ kind: 'unary', op: op === '!' ? 'NOT' : op, operand: this.expr(operand), pos });
  }

  /**
   * `a + b + c ...` arrives as a left-deep tree as long as the chain: its left spine is walked
   * in a loop (operands still converted in source order, as the locator needs).
   */
  private binaryChain(n: NspNode): Expr {
    const spine: NspNode[] = [];
    let cur = n;
    while (cur?.type === 'binary_expr' && cur.ast === undefined && DIRECT_BINARY[String(cur.operator).toUpperCase()] !== undefined && !isLogic(cur)) {
      spine.push(cur);
      cur = cur.left;
    }
    let acc = this.expr(cur);
    for (let k = spine.length - 1; k >= 0; k--) {
      const node = spine[k];
      const right = this.expr(node.right);
      acc = freezeNode({ kind: 'binary', op: DIRECT_BINARY[String(node.operator).toUpperCase()]!, left: acc, right, pos: acc.pos });
    }
    return acc;
  }

  /**
   * An AND / OR chain. node-sql-parser's FlinkSQL grammar gets their precedence wrong (`a OR b
   * AND c` comes back as `(a OR b) AND c`, and in a SELECT item as right-associative), so the
   * chain is read back in source order (a parenthesized part is one operand) and rebuilt: AND
   * binds tighter than OR, both associate to the left. A loop, however long the chain.
   */
  private logicChain(n: NspNode): Expr {
    const operands: NspNode[] = [];
    const ops: BinaryOp[] = [];
    const stack: (NspNode | BinaryOp)[] = [n];
    let root = true;
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (typeof x === 'string') ops.push(x as BinaryOp);
      else if (isLogic(x) && (root || !x.parentheses)) stack.push(x.right, DIRECT_BINARY[String(x.operator).toUpperCase()]!, x.left);
      else operands.push(x);
      root = false;
    }
    const exprs = operands.map((o) => this.expr(o));
    const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => freezeNode({ kind: 'binary', op, left, right, pos: left.pos });
    let ors: Expr | undefined;
    let term = exprs[0]!;
    for (let i = 0; i < ops.length; i++) {
      if (ops[i] === 'AND') {
        term = bin('AND', term, exprs[i + 1]!);
      } else {
        ors = ors === undefined ? term : bin('OR', ors, term);
        term = exprs[i + 1]!;
      }
    }
    return ors === undefined ? term : bin('OR', ors, term);
  }

  private binary(n: NspNode): Expr {
    const op = String(n.operator).toUpperCase();
    if (isLogic(n)) return this.logicChain(n);
    if (DIRECT_BINARY[op] !== undefined) return this.binaryChain(n);
    switch (op) {
      case 'IN':
      case 'NOT IN': {
        const operand = this.expr(n.left);
        const items: NspNode[] = n.right?.type === 'expr_list' ? n.right.value : [n.right];
        if (items.some((x) => x?.ast !== undefined)) throw unsupported('IN (subquery)', operand.pos);
        const list = items.map((x) => this.expr(x));
        return freezeNode({ kind: 'in', negated: op === 'NOT IN', operand, list, pos: operand.pos });
      }
      case 'BETWEEN':
      case 'NOT BETWEEN': {
        const operand = this.expr(n.left);
        const bounds: NspNode[] = n.right?.value ?? [];
        if (bounds.length !== 2) throw parseError('expected BETWEEN low AND high', operand.pos);
        const low = this.expr(bounds[0]);
        const high = this.expr(bounds[1]);
        return freezeNode({ kind: 'between', negated: op === 'NOT BETWEEN', operand, low, high, pos: operand.pos });
      }
      case 'LIKE':
      case 'NOT LIKE': {
        const operand = this.expr(n.left);
        const pattern = this.expr(n.right);
        const esc = n.right?.escape;
        const escape = esc ? this.expr(esc.value) : undefined;
        return freezeNode({
          kind: 'like',
          negated: op === 'NOT LIKE',
          operand,
          pattern,
          ...(escape ? { escape } : {}),
          pos: operand.pos,
        });
      }
      case 'IS':
      case 'IS NOT': {
        const operand = this.expr(n.left);
        const negated = op === 'IS NOT';
        if (n.right?.type === 'null') {
          this.loc.findWord('NULL');
          return freezeNode({ kind: 'is-null', negated, operand, pos: operand.pos });
        }
        if (n.right?.type === 'bool') {
          this.loc.findWord(n.right.value ? 'TRUE' : 'FALSE');
          return freezeNode({ kind: 'is-bool', negated, value: Boolean(n.right.value), operand, pos: operand.pos });
        }
        throw unsupported(`${op} ${describeNode(n.right)}`, operand.pos);
      }
      default: {
        const left = this.expr(n.left);
        throw unsupported(`operator ${op}`, left.pos);
      }
    }
  }

  private caseExpr(n: NspNode): Expr {
    const pos = this.at(this.loc.findWord('CASE'));
    const operand = n.expr ? this.expr(n.expr) : undefined;
    const whens: { when: Expr; then: Expr }[] = [];
    let otherwise: Expr | undefined;
    for (const arm of n.args ?? []) {
      if (arm.type === 'when') {
        const when = this.expr(arm.cond);
        const then = this.expr(arm.result);
        whens.push(Object.freeze({ when, then }));
      } else if (arm.type === 'else') {
        otherwise = this.expr(arm.result);
      }
    }
    if (whens.length === 0) throw parseError('expected WHEN in CASE', pos);
    this.loc.findWord('END');
    return freezeNode({
      kind: 'case',
      ...(operand ? { operand } : {}),
      whens: Object.freeze(whens),
      ...(otherwise ? { else: otherwise } : {}),
      pos,
    });
  }

  private cast(n: NspNode): Expr {
    const keyword = String(n.keyword ?? 'cast').toUpperCase();
    if (n.symbol === '::') throw unsupported("'::' casts", this.loc.lastPos(), 'use CAST(x AS type)');
    const i = this.loc.findWord(keyword);
    const pos = this.at(i);
    const target = i >= 0 ? this.tables.castTypes.get(this.loc.token(i)!.start) : undefined;
    if (!target) throw unsupported(`this ${keyword} target type`, pos);
    const operand = this.inParens(i, () => this.expr(n.expr));
    return freezeNode({ kind: 'cast', operand, target, try: keyword === 'TRY_CAST', pos });
  }

  /** Runs `fn` within the parentheses after token `nameAt`, if they are there. */
  private inParens<T>(nameAt: number, fn: (close: number) => T): T {
    const open = nameAt >= 0 ? nameAt + 1 : -1;
    const t = this.loc.token(open);
    if (t && t.kind === 'op' && t.text === '(') return this.loc.within(open, fn);
    return fn(-1);
  }

  private func(n: NspNode): Expr {
    const parts: string[] = [];
    if (n.name?.schema) parts.push(identName(n.name.schema));
    for (const p of n.name?.name ?? []) parts.push(identName(p));
    if (parts.length === 0) throw unsupported(`function ${describeNode(n)}`, this.loc.lastPos());
    const name = parts.join('.').toUpperCase();
    if (n.over) throw notYet('OVER (window aggregation)', this.loc.lastPos());
    let rawArgs: NspNode[] = n.args?.type === 'expr_list' ? n.args.value : n.args ? [n.args] : [];
    if (name === 'NOT' && rawArgs.length === 1) return this.unary('NOT', rawArgs[0]);
    const first = parts[0]!.toUpperCase();
    const i = this.loc.find((t) => isIdent(t) && t.value.toUpperCase() === first);
    if (i >= 0 && parts.length > 1) this.loc.cursor = i + 2 * parts.length - 1;
    const pos = this.at(i);
    const nameAt = i >= 0 ? i + 2 * (parts.length - 1) : -1;
    if (rawArgs.some((a) => a?.ast !== undefined)) throw unsupported('a subquery inside an expression', pos);
    const hasOrigin = rawArgs.some((a) => a?.type === 'origin');
    let extra: Expr[] = [];
    if (hasOrigin) {
      if (name === 'TRIM') {
        const r = this.trimArgs(rawArgs, pos);
        extra = r.prefix;
        rawArgs = r.rest;
      } else if (name === 'SUBSTRING' || name === 'POSITION') {
        rawArgs = rawArgs.filter((a) => a?.type !== 'origin');
      } else {
        throw unsupported(`this form of ${name}`, pos);
      }
    }
    let close = -1;
    const args = this.inParens(nameAt, (c) => {
      close = c;
      return [...extra, ...rawArgs.map((a) => this.expr(a))];
    });
    const over = this.overAfter(close);
    if (over) return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct: false, star: false, over, pos });
    if (RANKING_FUNCTIONS.has(name)) throw parseError(`${name}() needs an OVER (PARTITION BY ... ORDER BY ...) clause`, pos);
    return call(name, args, false, false, this.filterAfter(close), pos);
  }

  private trimArgs(rawArgs: NspNode[], pos: Pos): { prefix: Expr[]; rest: NspNode[] } {
    let k = 0;
    let mode = 'BOTH';
    const m = rawArgs[0];
    if (m?.type === 'origin' && ['BOTH', 'LEADING', 'TRAILING'].includes(String(m.value).toUpperCase())) {
      mode = String(m.value).toUpperCase();
      k = 1;
    }
    const fromAt = rawArgs.findIndex((a) => a?.type === 'origin' && String(a.value).toUpperCase() === 'FROM');
    if (fromAt < 0 || rawArgs.length !== fromAt + 2) throw unsupported('this form of TRIM', pos);
    const chars = rawArgs.slice(k, fromAt);
    if (chars.length > 1) throw unsupported('this form of TRIM', pos);
    const prefix: Expr[] = [lit('string', mode, pos)];
    if (chars.length === 0) prefix.push(lit('string', ' ', pos));
    return { prefix, rest: [...chars, rawArgs[fromAt + 1]] };
  }

  private aggregate(n: NspNode): Expr {
    const name = String(n.name).toUpperCase();
    const i = this.loc.findWord(name);
    const pos = this.at(i);
    if (n.over) throw notYet('OVER (window aggregation)', pos);
    const a = n.args ?? {};
    if (a.orderby) throw unsupported(`ORDER BY inside ${name}(...)`, pos);
    const distinct = typeof a.distinct === 'string' ? a.distinct.toUpperCase() === 'DISTINCT' : Boolean(a.distinct);
    const star = a.expr?.type === 'star';
    let close = -1;
    const args = this.inParens(i, (c) => {
      close = c;
      return star || a.expr === undefined || a.expr === null ? [] : [this.expr(a.expr)];
    });
    const over = this.overAfter(close);
    if (over) return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct, star, over, pos });
    if (RANKING_FUNCTIONS.has(name)) throw parseError(`${name}() needs an OVER (PARTITION BY ... ORDER BY ...) clause`, pos);
    return call(name, args, distinct, star, this.filterAfter(close), pos);
  }

  private extract(n: NspNode): Expr {
    const i = this.loc.findWord('EXTRACT');
    const pos = this.at(i);
    const unit = String(n.args?.field ?? '').toUpperCase();
    const args = this.inParens(i, () => {
      const u = this.loc.findWord(unit);
      return [lit('string', unit, this.at(u)), this.expr(n.args?.source)];
    });
    return call('EXTRACT', args, false, false, undefined, pos);
  }

  /** The OVER (...) the rewrite step took from after the call whose `)` is token `close`, if any. */
  private overAfter(close: number): OverClause | undefined {
    if (close < 0) return undefined;
    const ctx = this.loc.ctx;
    const key = ctx.tokens[close]!.start;
    const syntax = this.tables.overs.get(key);
    if (!syntax) return undefined;
    this.tables.overs.delete(key);
    const conv = (r: readonly [number, number], what: string): Expr => {
      const text = rewriteSegment(ctx, r[0], r[1], this.tables);
      const { expr, alias } = parseExprAst(ctx, r[0], r[1], text);
      return this.loc.range(r[0], r[1], r[1], () => {
        const e = this.expr(expr);
        if (alias !== null && alias !== undefined) throw parseError(`unexpected alias after ${what}`, ctx.src.pos(ctx.tokens[r[0]]!.start));
        return e;
      });
    };
    const partitionBy = syntax.partitionBy.map((r) => conv(r, 'a PARTITION BY expression'));
    const orderBy = syntax.orderBy.map((o) => Object.freeze({ expr: conv(o.range, 'an ORDER BY expression'), descending: o.descending }));
    this.loc.cursor = Math.max(this.loc.cursor, syntax.end + 1);
    return Object.freeze({ partitionBy: Object.freeze(partitionBy), orderBy: Object.freeze(orderBy), pos: ctx.src.pos(ctx.tokens[syntax.start]!.start) });
  }

  /** The FILTER (WHERE ...) that follows the call whose `)` is token `close`, if any. */
  private filterAfter(close: number): Expr | undefined {
    if (close < 0) return undefined;
    const tables = this.tables;
    const key = this.loc.ctx.tokens[close]!.start;
    const clause = tables.filters.get(key);
    if (!clause) return undefined;
    tables.filters.delete(key);
    const ctx = this.loc.ctx;
    const text = rewriteSegment(ctx, clause.condStart, clause.condEnd, tables);
    const { expr, alias } = parseExprAst(ctx, clause.condStart, clause.condEnd, text);
    return this.loc.range(clause.condStart, clause.condEnd, clause.condEnd + 1, () => {
      const cond = this.expr(expr);
      if (alias !== null && alias !== undefined) throw unexpectedAfter(this.loc, clause.condEnd);
      return cond;
    });
  }
}

/** "unexpected 'x'" at the first token the locator has not consumed before `end`. */
export function unexpectedAfter(loc: Locator, end: number): Error {
  const t = loc.token(loc.cursor);
  const where: SqlPosition | undefined = t && loc.cursor < end ? loc.pos(loc.cursor) : loc.lastPos();
  return parseError(`unexpected ${t && loc.cursor < end ? `'${t.text}'` : 'text'} after the expression`, where);
}

export function identName(x: NspNode): string {
  if (typeof x === 'string') return x;
  if (x && typeof x === 'object') {
    if (typeof x.value === 'string') return x.value;
    if (x.expr) return identName(x.expr);
  }
  return String(x);
}

function isLogic(n: NspNode): boolean {
  if (n?.type !== 'binary_expr' || n.ast !== undefined) return false;
  const op = String(n.operator).toUpperCase();
  return op === 'AND' || op === 'OR';
}

function describeNode(n: NspNode): string {
  if (n && typeof n === 'object' && typeof n.type === 'string') return `'${n.type}'`;
  return '(unknown)';
}

function lit(literalType: LiteralExpr['literalType'], text: string, pos: Pos): LiteralExpr {
  return freezeNode({ kind: 'literal', literalType, text, pos });
}

function call(name: string, args: Expr[], distinct: boolean, star: boolean, filter: Expr | undefined, pos: Pos): CallExpr {
  return freezeNode({ kind: 'call', name, args: Object.freeze(args), distinct, star, ...(filter ? { filter } : {}), pos });
}

/** Freezes a node and its position; parse.ts deep-freezes the whole statement at the end. */
export function freezeNode<T extends { pos: Pos }>(node: T): T {
  if (node.pos) Object.freeze(node.pos);
  return Object.freeze(node);
}
