/** Hand-built IR nodes and a tiny scope for expression tests (no dependency on src/sql's parser). */
import type { Expr, LiteralExpr, Pos, BinaryOp, IntervalUnit, CallExpr } from '../../src/sql/ir.js';
import { type SqlType, type TypeKind, type } from '../../src/model/types.js';
import { type BindContext, type Scope, bindExpr } from '../../src/expr/bind.js';
import type { BoundExpr } from '../../src/expr/bound.js';
import { compileRowFn } from '../../src/expr/compile.js';
import { userError } from '../../src/errors.js';

export const P = (column: number, line = 1): Pos => ({ line, column });
const at: Pos = P(1);

const litE = (literalType: LiteralExpr['literalType'], text: string, pos: Pos = at): Expr => ({ kind: 'literal', literalType, text, pos });
export const int = (n: number | string, pos?: Pos): Expr => litE('integer', String(n), pos);
export const dec = (t: string, pos?: Pos): Expr => litE('decimal', t, pos);
export const dbl = (t: string, pos?: Pos): Expr => litE('double', t, pos);
export const str = (t: string, pos?: Pos): Expr => litE('string', t, pos);
export const bool = (b: boolean): Expr => litE('boolean', b ? 'TRUE' : 'FALSE');
export const nul = (): Expr => litE('null', 'NULL');
export const date = (t: string): Expr => litE('date', t);
export const ts = (t: string): Expr => litE('timestamp', t);
export const col = (name: string, pos: Pos = at): Expr => ({ kind: 'column', name, pos });
export const bin = (op: BinaryOp, left: Expr, right: Expr, pos: Pos = at): Expr => ({ kind: 'binary', op, left, right, pos });
export const not = (operand: Expr): Expr => ({ kind: 'unary', op: 'NOT', operand, pos: at });
export const neg = (operand: Expr): Expr => ({ kind: 'unary', op: '-', operand, pos: at });
export const isNull = (operand: Expr, negated = false): Expr => ({ kind: 'is-null', operand, negated, pos: at });
export const isBool = (operand: Expr, value: boolean, negated = false): Expr => ({ kind: 'is-bool', operand, value, negated, pos: at });
export const inList = (operand: Expr, list: Expr[], negated = false): Expr => ({ kind: 'in', operand, list, negated, pos: at });
export const between = (operand: Expr, low: Expr, high: Expr, negated = false): Expr => ({ kind: 'between', operand, low, high, negated, pos: at });
export const like = (operand: Expr, pattern: Expr, escape?: Expr, negated = false): Expr => ({ kind: 'like', operand, pattern, escape, negated, pos: at });
export const cast = (operand: Expr, target: SqlType, tryCast = false, pos: Pos = at): Expr => ({ kind: 'cast', operand, target, try: tryCast, pos });
export const interval = (value: string, unit: IntervalUnit): Expr => ({ kind: 'interval', value, unit, pos: at });
export const call = (name: string, args: Expr[], pos: Pos = at, extra: Partial<CallExpr> = {}): Expr =>
  ({ kind: 'call', name, args, distinct: false, star: false, pos, ...extra }) as CallExpr;
export const kase = (whens: [Expr, Expr][], otherwise?: Expr, operand?: Expr): Expr => ({
  kind: 'case',
  operand,
  whens: whens.map(([when, then]) => ({ when, then })),
  else: otherwise,
  pos: at,
});

export const T = (kind: TypeKind, nullable = true, p?: number, s?: number): SqlType => type(kind, nullable, p, s);

/** A scope over named columns (index = declaration order). */
export function scope(columns: Record<string, SqlType>): Scope {
  const names = Object.keys(columns);
  return {
    resolveColumn(ref) {
      const i = names.indexOf(ref.name);
      if (i < 0) throw userError('UNKNOWN_COLUMN', `unknown column '${ref.name}'`, { position: ref.pos });
      return { index: i, type: columns[ref.name] };
    },
  };
}

export function bind(e: Expr, columns: Record<string, SqlType> = {}, extra: Partial<BindContext> = {}): BoundExpr {
  return bindExpr(e, { scope: scope(columns), ...extra });
}

/** Binds, compiles and evaluates `e` over one row. */
export function evaluate(e: Expr, columns: Record<string, SqlType> = {}, row: unknown[] = []): unknown {
  const b = bind(e, columns);
  return compileRowFn(b)(
    row.map((v) => [v]),
    0,
  );
}

/** Evaluates with folding defeated: literal values come in through columns of the literal's type. */
export function evalCols(e: Expr, columns: Record<string, SqlType>, row: unknown[]): unknown {
  return evaluate(e, columns, row);
}
