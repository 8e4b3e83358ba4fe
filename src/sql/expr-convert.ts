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
import type { Expr, Pos } from './ir.js';
import { convertAggregate, convertExtract, convertFunction } from './expr-calls.js';
import { convertCase, convertCast } from './expr-case-cast.js';
import type { ExprConvertContext } from './expr-convert-context.js';
import { convertInterval, convertNumber, convertTypedLiteral } from './expr-literals.js';
import { describeNode, freezeNode, identName, lit } from './expr-nodes.js';
import { convertBinary, convertUnary } from './expr-operators.js';
import { type Locator, isIdent } from './locator.js';
import type { NspNode } from './nsp-node.js';
import type { RewriteTables } from './rewrite.js';
import { parseError, unsupported } from './sql-errors.js';

export class ExprConverter implements ExprConvertContext {
  constructor(
    readonly loc: Locator,
    readonly tables: RewriteTables,
  ) {}

  at(i: number): Pos {
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
        return convertNumber(this, n);
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
        return convertTypedLiteral(this, n);
      case 'interval':
        return convertInterval(this, n);
      case 'unary_expr':
        return convertUnary(this, n.operator, n.expr);
      case 'binary_expr':
        return convertBinary(this, n);
      case 'case':
        return convertCase(this, n);
      case 'cast':
        return convertCast(this, n);
      case 'function':
        return convertFunction(this, n);
      case 'aggr_func':
        return convertAggregate(this, n);
      case 'extract':
        return convertExtract(this, n);
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

  /** Runs `fn` within the parentheses after token `nameAt`, if they are there. */
  inParens<T>(nameAt: number, fn: (close: number) => T): T {
    const open = nameAt >= 0 ? nameAt + 1 : -1;
    const t = this.loc.token(open);
    if (t && t.kind === 'op' && t.text === '(') return this.loc.within(open, fn);
    return fn(-1);
  }
}
