/**
 * Binding: SQL IR expressions -> typed BoundExprs. Resolves columns through the planner's Scope,
 * hands aggregate calls to the planner, checks and infers types with Flink's rules, inserts the
 * casts functions need, and folds constant sub-expressions.
 */
import type { BinaryExpr, CallExpr, CaseExpr, CastExpr, ColumnExpr, Expr, IntervalExpr, LiteralExpr, Pos } from '../sql/ir.js';
import type { BoundExpr } from './bound.js';
import { type SqlType, type, isNumeric, isString, withNullable } from '../model/types.js';
import { canCast, canImplicitCast, decimalPrecision, decimalScale, isDatetime, sameType, typeName } from './type-rules.js';
import { userError, unreachable } from '../errors.js';
import { decimalLiteralType, parseDecimal } from './decimal.js';
import { parseDate, parseTime, parseTimestamp } from './datetime-util.js';
import { charLength } from './functions/string.js';
import { type BoundCall, lookupFunction, makeInferContext } from './functions/registry.js';
import { foldConstant } from './compile.js';
import { AGGREGATE_NAMES } from './aggregates.js';
import './functions/index.js';

/** Resolves column references; the planner implements it and throws user errors for unknown/ambiguous columns. */
export interface Scope {
  resolveColumn(ref: ColumnExpr): { index: number; type: SqlType };
}

export interface BindContext {
  scope: Scope;
  /**
   * Called for aggregate calls (COUNT, SUM, ...). The planner registers the aggregate and returns
   * an expression (usually an input ref to the aggregate's output column). Absent where
   * aggregates are not allowed (WHERE, ON, ...): the binder then raises a user error.
   */
  aggregate?: (call: CallExpr) => BoundExpr;
  /**
   * When given, every expression bound is recorded here and found here again (binding depends on
   * nothing but the expression and the scope): a caller that binds many overlapping
   * sub-expressions binds each node once.
   */
  memo?: Map<Expr, BoundExpr>;
}

export function isAggregateName(name: string): boolean {
  return AGGREGATE_NAMES.has(name.toUpperCase());
}

/** Niladic functions Flink writes without parentheses; the parser may hand them over as columns. */
const NILADIC = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'LOCALTIMESTAMP', 'LOCALTIME', 'CURRENT_ROW_TIMESTAMP']);

/** Functions whose first argument is a time-unit keyword (`EXTRACT(YEAR FROM x)`, `TIMESTAMPADD(DAY, 1, x)`). */
const UNIT_FIRST = new Set(['EXTRACT', 'TIMESTAMPADD', 'TIMESTAMPDIFF']);

const MAX_INT = 2147483647;
const sqlError = (message: string, pos: Pos): Error => userError('SQL_TYPE', message, { position: pos });

/** The value and type of a literal, as Flink types it: `1` INT, `1.50` DECIMAL(3, 2), `1e3` DOUBLE, `'ab'` CHAR(2). */
export function literalValue(lit: LiteralExpr): { value: unknown; type: SqlType } {
  const text = lit.text;
  switch (lit.literalType) {
    case 'integer': {
      const t = text.trim();
      const n = Number(t);
      if (!/^[+-]?\d+$/.test(t)) throw sqlError(`invalid integer literal ${text}`, lit.pos);
      if (Math.abs(n) <= MAX_INT || n === -MAX_INT - 1) return { value: n + 0, type: type('INT', false) };
      if (BigInt(t) <= 9223372036854775807n && BigInt(t) >= -9223372036854775808n) return { value: n, type: type('BIGINT', false) };
      const digits = t.replace(/^[+-]/, '').replace(/^0+/, '').length;
      if (digits > 38) throw sqlError(`numeric literal ${text} is out of range (more than 38 digits)`, lit.pos);
      return { value: BigInt(t), type: type('DECIMAL', false, digits, 0) };
    }
    case 'decimal': {
      const { precision, scale } = decimalLiteralType(text);
      if (precision > 38) throw sqlError(`decimal literal ${text} has more than 38 digits`, lit.pos);
      const v = parseDecimal(text, scale);
      if (v === undefined) throw sqlError(`invalid decimal literal ${text}`, lit.pos);
      return { value: v, type: type('DECIMAL', false, precision, scale) };
    }
    case 'double': {
      const v = Number(text);
      if (Number.isNaN(v)) throw sqlError(`invalid numeric literal ${text}`, lit.pos);
      return { value: v, type: type('DOUBLE', false) };
    }
    case 'string':
      return { value: text, type: type('CHAR', false, charLength(text)) };
    case 'boolean': {
      const b = text.trim().toUpperCase();
      if (b !== 'TRUE' && b !== 'FALSE') throw sqlError(`invalid boolean literal ${text}`, lit.pos);
      return { value: b === 'TRUE', type: type('BOOLEAN', false) };
    }
    case 'null':
      return { value: null, type: type('NULL', true) };
    case 'date': {
      const d = parseDate(text);
      if (d === undefined) throw sqlError(`invalid DATE literal '${text}': expected 'yyyy-MM-dd'`, lit.pos);
      return { value: d, type: type('DATE', false) };
    }
    case 'time': {
      const t = parseTime(text);
      if (t === undefined) throw sqlError(`invalid TIME literal '${text}': expected 'HH:mm:ss[.fff]'`, lit.pos);
      return { value: t, type: type('TIME', false, fractionDigits(text)) };
    }
    case 'timestamp': {
      const t = parseTimestamp(text);
      if (t === undefined) throw sqlError(`invalid TIMESTAMP literal '${text}': expected 'yyyy-MM-dd HH:mm:ss[.fff]'`, lit.pos);
      return { value: t, type: type('TIMESTAMP', false, fractionDigits(text)) };
    }
    default:
      return unreachable(lit.literalType);
  }
}

function fractionDigits(text: string): number {
  const m = /\.(\d+)\s*$/.exec(text);
  return m ? Math.min(9, m[1].length) : 0;
}

/** Calcite's (and so Flink's) largest interval precision: digits of the leading field. */
const MAX_INTERVAL_DIGITS = 10;
const UNIT_MILLIS: Record<string, number> = { DAY: 86_400_000, HOUR: 3_600_000, MINUTE: 60_000, SECOND: 1000, MILLISECOND: 1 };

/**
 * An interval as a TIMESTAMPADD unit and amount; SECOND with a fraction becomes milliseconds.
 * The value has at most 10 digits before the fraction (Flink's largest interval precision), and a
 * day-time interval stays within ±(2^53 - 1) ms, where milliseconds are exact as JS numbers.
 */
export function intervalAmount(e: IntervalExpr): { unit: string; amount: number } {
  const text = e.value.trim();
  const m = /^[+-]?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) throw sqlError(`invalid INTERVAL value '${e.value}' for unit ${e.unit}`, e.pos);
  if (m[1]!.replace(/^0+/, '').length > MAX_INTERVAL_DIGITS) {
    throw sqlError(`INTERVAL '${e.value}' ${e.unit} is out of range: an interval has at most ${MAX_INTERVAL_DIGITS} digits before the fraction`, e.pos);
  }
  const n = Number(text);
  const f = UNIT_MILLIS[e.unit];
  if (f !== undefined && Math.abs(n) * f > Number.MAX_SAFE_INTEGER) {
    throw sqlError(`INTERVAL '${e.value}' ${e.unit} is out of range: at most ${Math.floor(Number.MAX_SAFE_INTEGER / f)} ${e.unit.toLowerCase()}s`, e.pos);
  }
  if (Number.isInteger(n)) return { unit: e.unit, amount: n + 0 };
  if (e.unit === 'SECOND') return { unit: 'MILLISECOND', amount: Math.round(n * 1000) + 0 };
  throw sqlError(`invalid INTERVAL value '${e.value}': ${e.unit} intervals must be whole numbers`, e.pos);
}

/** The length of a day-time interval in milliseconds (window sizes, watermark delays). */
export function intervalMillis(e: IntervalExpr): number {
  const { unit, amount } = intervalAmount(e);
  const f = UNIT_MILLIS[unit];
  if (f === undefined) throw sqlError(`INTERVAL '${e.value}' ${e.unit} has no fixed length in milliseconds: use DAY, HOUR, MINUTE or SECOND`, e.pos);
  return amount * f;
}

function lit(value: unknown, t: SqlType): BoundExpr {
  return { kind: 'literal', value, type: t };
}

/** Whether a cast may produce NULL from a non-NULL value (DECIMAL overflow). */
function castMayBeNull(from: SqlType, to: SqlType): boolean {
  if (to.kind !== 'DECIMAL') return false;
  if (from.kind === 'DECIMAL' || from.kind === 'TINYINT' || from.kind === 'SMALLINT' || from.kind === 'INT' || from.kind === 'BIGINT') {
    return decimalPrecision(to) - decimalScale(to) < decimalPrecision(from) - decimalScale(from);
  }
  return true;
}

function castCall(e: BoundExpr, to: SqlType, tryCast: boolean, pos: Pos): BoundExpr {
  if (e.type.kind === 'NULL') return lit(null, withNullable(to, true));
  const nullable = e.type.nullable || tryCast || castMayBeNull(e.type, to);
  return foldConstant({ kind: 'call', fn: tryCast ? 'TRY_CAST' : 'CAST', args: [e], type: withNullable(to, nullable), pos });
}

/** Coerces a function argument to the type its function expects (no-op between string types). */
function coerce(e: BoundExpr, to: SqlType, pos: Pos): BoundExpr {
  if (to.kind === 'NULL' || sameType(e.type, to)) return e;
  if (isString(e.type) && isString(to)) return e;
  return castCall(e, to, false, pos);
}

/**
 * Converts a query column to a sink column's type for INSERT, where Flink allows it implicitly
 * (numeric widening, DECIMAL from any numeric, strings among themselves, TIMESTAMP/LTZ/DATE,
 * NULL to anything); otherwise a user error. Nullability is not enforced here (sinks do that).
 */
export function implicitCast(e: BoundExpr, to: SqlType, pos?: Pos, column?: string): BoundExpr {
  if (sameType(e.type, to)) return e;
  if (isString(e.type) && isString(to)) return e;
  if (!canImplicitCast(e.type, to)) {
    throw sqlError(`cannot insert ${typeName(e.type)} into ${column !== undefined ? `column '${column}'` : 'a column'} of type ${typeName(to)}`, pos);
  }
  return castCall(e, to, false, pos);
}

export function bindExpr(e: Expr, ctx: BindContext): BoundExpr {
  const memo = ctx.memo;
  if (memo === undefined) return bindNode(e, ctx);
  let b = memo.get(e);
  if (b === undefined) {
    b = bindNode(e, ctx);
    memo.set(e, b);
  }
  return b;
}

function bindNode(e: Expr, ctx: BindContext): BoundExpr {
  switch (e.kind) {
    case 'column':
      return bindColumn(e, ctx);
    case 'literal': {
      const { value, type: t } = literalValue(e);
      return lit(value, t);
    }
    case 'interval':
      throw sqlError(`INTERVAL is only supported in datetime arithmetic (ts + INTERVAL '${e.value}' ${e.unit})`, e.pos);
    case 'unary': {
      const operand = bindExpr(e.operand, ctx);
      if (e.op === 'NOT') return call('NOT', [operand], e.pos, [e.operand.pos]);
      if (e.op === '-') return call('NEGATE', [operand], e.pos, [e.operand.pos], '-');
      if (!isNumeric(operand.type) && operand.type.kind !== 'NULL') throw sqlError(`cannot apply unary '+' to ${typeName(operand.type)}`, e.pos);
      return operand;
    }
    case 'binary':
      return bindBinaryChain(e, ctx);
    case 'is-null':
      return call(e.negated ? 'IS NOT NULL' : 'IS NULL', [bindExpr(e.operand, ctx)], e.pos, [e.operand.pos]);
    case 'is-bool': {
      const name = `IS ${e.negated ? 'NOT ' : ''}${e.value ? 'TRUE' : 'FALSE'}`;
      return call(name, [bindExpr(e.operand, ctx)], e.pos, [e.operand.pos]);
    }
    case 'in': {
      const r = call(
        'IN',
        [e.operand, ...e.list].map((x) => bindExpr(x, ctx)),
        e.pos,
        [e.operand.pos, ...e.list.map((x) => x.pos)],
      );
      return e.negated ? call('NOT', [r], e.pos) : r;
    }
    case 'between': {
      const args = [e.operand, e.low, e.high];
      const r = call(
        'BETWEEN',
        args.map((x) => bindExpr(x, ctx)),
        e.pos,
        args.map((x) => x.pos),
      );
      return e.negated ? call('NOT', [r], e.pos) : r;
    }
    case 'like': {
      const args = e.escape ? [e.operand, e.pattern, e.escape] : [e.operand, e.pattern];
      const r = call(
        'LIKE',
        args.map((x) => bindExpr(x, ctx)),
        e.pos,
        args.map((x) => x.pos),
      );
      return e.negated ? call('NOT', [r], e.pos) : r;
    }
    case 'case':
      return bindCase(e, ctx);
    case 'cast':
      return bindCast(e, ctx);
    case 'call':
      return bindCallExpr(e, ctx);
    default:
      return unreachable(e);
  }
}

/**
 * `a + b + c ...` is a left-deep tree as deep as the chain is long: its left spine is bound in a
 * loop, from the innermost (leftmost) operand outwards.
 */
function bindBinaryChain(e: BinaryExpr, ctx: BindContext): BoundExpr {
  const spine: BinaryExpr[] = [e];
  let cur: Expr = e.left;
  while (cur.kind === 'binary' && cur.left.kind !== 'interval' && !ctx.memo?.has(cur)) {
    spine.push(cur);
    cur = cur.left;
  }
  const last = spine[spine.length - 1]!;
  let acc: BoundExpr;
  if (last.left.kind === 'interval') {
    acc = bindBinary(last, () => bindExpr(last.left, ctx), ctx);
    spine.pop();
    ctx.memo?.set(last, acc);
  } else {
    acc = bindExpr(cur, ctx);
  }
  for (let k = spine.length - 1; k >= 0; k--) {
    const left = acc;
    acc = bindBinary(spine[k]!, () => left, ctx);
    if (k > 0) ctx.memo?.set(spine[k]!, acc);
  }
  return acc;
}

/** One binary operator; `left` binds (or returns) its left operand. */
function bindBinary(e: BinaryExpr, left: () => BoundExpr, ctx: BindContext): BoundExpr {
  if (e.op === '+' || e.op === '-') {
    if (e.right.kind === 'interval') return addInterval(left(), e.right, e.op === '-', e.pos);
    if (e.left.kind === 'interval') {
      if (e.op === '-') throw sqlError('cannot subtract a datetime from an INTERVAL', e.pos);
      return addInterval(bindExpr(e.right, ctx), e.left, false, e.pos);
    }
  }
  const l = left();
  return call(e.op, [l, bindExpr(e.right, ctx)], e.pos, [e.left.pos, e.right.pos]);
}

function bindColumn(e: ColumnExpr, ctx: BindContext): BoundExpr {
  const upper = e.name.toUpperCase();
  if (e.table === undefined && NILADIC.has(upper)) {
    try {
      const { index, type: t } = ctx.scope.resolveColumn(e);
      return { kind: 'input', index, type: t };
    } catch {
      return call(upper, [], e.pos);
    }
  }
  const { index, type: t } = ctx.scope.resolveColumn(e);
  return { kind: 'input', index, type: t };
}

function addInterval(operand: BoundExpr, iv: IntervalExpr, negate: boolean, pos: Pos): BoundExpr {
  if (!isDatetime(operand.type) && operand.type.kind !== 'NULL') {
    throw sqlError(`cannot add an INTERVAL to ${typeName(operand.type)}: expected DATE, TIMESTAMP or TIMESTAMP_LTZ`, pos);
  }
  if (operand.type.kind === 'TIME') throw sqlError('INTERVAL arithmetic on TIME is not supported', pos);
  const { unit, amount } = intervalAmount(iv);
  // The amount may exceed INT (INTERVAL '9999999999' SECOND); it is only ever a JS number here.
  const n = negate ? -amount : amount;
  return call('TIMESTAMPADD', [lit(unit, type('CHAR', false, unit.length)), lit(n + 0, type('INT', false)), operand], pos);
}

function bindCase(e: CaseExpr, ctx: BindContext): BoundExpr {
  const args: BoundExpr[] = [];
  const positions: Pos[] = [];
  const operand = e.operand ? bindExpr(e.operand, ctx) : undefined;
  for (const w of e.whens) {
    const when = bindExpr(w.when, ctx);
    args.push(operand ? call('=', [operand, when], w.when.pos, [e.operand!.pos, w.when.pos]) : when);
    args.push(bindExpr(w.then, ctx));
    positions.push(w.when.pos, w.then.pos);
  }
  args.push(e.else ? bindExpr(e.else, ctx) : lit(null, type('NULL', true)));
  positions.push(e.else?.pos ?? e.pos);
  return call('CASE', args, e.pos, positions);
}

function bindCast(e: CastExpr, ctx: BindContext): BoundExpr {
  const operand = bindExpr(e.operand, ctx);
  const name = e.try ? 'TRY_CAST' : 'CAST';
  if (!canCast(operand.type, e.target)) throw sqlError(`${name} from ${typeName(operand.type)} to ${typeName(e.target)} is not supported`, e.pos);
  if (sameType(operand.type, e.target)) return operand;
  return castCall(operand, e.target, e.try, e.pos);
}

function bindCallExpr(e: CallExpr, ctx: BindContext): BoundExpr {
  const name = e.name.toUpperCase();
  if (isAggregateName(name)) {
    if (!ctx.aggregate) throw userError('SQL_AGGREGATE', `aggregate function ${name} is not allowed here`, { position: e.pos });
    return ctx.aggregate(e);
  }
  if (!lookupFunction(name)) throw userError('SQL_UNKNOWN_FUNCTION', `unknown function ${name}`, { position: e.pos });
  if (e.star) throw sqlError(`${name}(*) is not allowed: only COUNT(*) takes *`, e.pos);
  if (e.distinct) throw sqlError(`DISTINCT is only allowed in aggregate functions, not in ${name}`, e.pos);
  if (e.filter) throw sqlError(`FILTER is only allowed on aggregate functions, not on ${name}`, e.pos);
  const args = e.args.map((a, i) => {
    if (i === 0 && UNIT_FIRST.has(name) && a.kind === 'column' && a.table === undefined) {
      const unit = a.name.toUpperCase();
      return lit(unit, type('CHAR', false, unit.length));
    }
    return bindExpr(a, ctx);
  });
  return call(
    name,
    args,
    e.pos,
    e.args.map((a) => a.pos),
  );
}

/**
 * Binds a call of a registered scalar function or operator: arity and type checks, coercions,
 * constant folding. `display` is the name used in messages when it differs (unary '-').
 */
function call(name: string, args: BoundExpr[], pos: Pos, argPos: readonly Pos[] = [], display = name): BoundExpr {
  const fn = lookupFunction(name);
  if (!fn) throw userError('SQL_UNKNOWN_FUNCTION', `unknown function ${name}`, { position: pos });
  if (args.length < fn.minArgs || args.length > fn.maxArgs) {
    const want = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : fn.maxArgs === Infinity ? `at least ${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
    throw sqlError(`${display} expects ${want} argument${want === '1' ? '' : 's'}, got ${args.length}`, pos);
  }
  const sig = fn.infer(makeInferContext(display, pos, args, argPos));
  const coerced = args.map((a, i) => coerce(a, sig.args[i] ?? a.type, argPos[i] ?? pos));
  const bound: BoundCall = { kind: 'call', fn: fn.name, args: coerced, type: sig.result, pos };
  return foldConstant(bound);
}
