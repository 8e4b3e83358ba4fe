/**
 * Math functions. ROUND and TRUNCATE work on the decimal rendering of a DOUBLE (as Flink's
 * BigDecimal.valueOf(x).setScale(d, HALF_UP)), so ROUND(1.005, 2) is 1.01. DECIMAL results
 * follow Flink's type derivation (findRoundDecimalType for ROUND/TRUNCATE).
 */
import { type SqlType, type, withNullable } from '../../model/types.js';
import { decimalPrecision, decimalScale } from '../type-rules.js';
import { decRescale, decRescaleDown, decToNumber, parseDecimal, pow10 } from '../decimal.js';
import {
  type GenContext,
  type InferContext,
  type ScalarFunction,
  DOUBLE,
  anyNullable,
  constString,
  doubleArg,
  expectArg,
  intArg,
  register,
  alias,
  simple,
} from './registry.js';
import { FLOOR_UNITS, floorCeilTime } from './datetime.js';
import { MS_PER_DAY } from '../datetime-util.js';

export function roundDouble(x: number, d: number): number {
  if (!Number.isFinite(x)) return x;
  const v = parseDecimal(String(x), d);
  return v === undefined ? x : decToNumber(v, d);
}

export function truncDouble(x: number, d: number): number {
  if (!Number.isFinite(x)) return x;
  const v = parseDecimal(String(x), d + 20);
  return v === undefined ? x : decToNumber(decRescaleDown(v, d + 20, d), d);
}

/** Integer rounding to 10^-d for d < 0 (HALF_UP or truncation). */
function roundInt(x: number, d: number, trunc: boolean): number {
  if (d >= 0) return x;
  const f = 10 ** -d;
  const q = trunc ? Math.trunc(x / f) : Math.sign(x) * Math.floor(Math.abs(x) / f + 0.5);
  return q * f + 0;
}

export function decCeilFloor(v: bigint, s: number, ceil: boolean): bigint {
  const f = pow10(s);
  const q = v / f;
  const r = v % f;
  if (r === 0n) return q;
  return ceil ? (v > 0n ? q + 1n : q) : v < 0n ? q - 1n : q;
}

/** Flink's findRoundDecimalType. */
function roundDecimalType(t: SqlType, d: number): SqlType {
  const p = decimalPrecision(t),
    s = decimalScale(t);
  if (d >= s) return type('DECIMAL', t.nullable, p, s);
  if (d < 0) return type('DECIMAL', t.nullable, Math.min(38, 1 + p - s), 0);
  return type('DECIMAL', t.nullable, 1 + p - s + d, d);
}

function literalInt(ctx: InferContext, i: number): number | undefined {
  const a = ctx.args[i];
  return a && a.kind === 'literal' && typeof a.value === 'number' ? a.value : undefined;
}

function rounding(name: string, trunc: boolean): ScalarFunction {
  return {
    name,
    minArgs: 1,
    maxArgs: 2,
    nulls: 'strict',
    infer(ctx) {
      const t = expectArg(ctx, 0, 'numeric', DOUBLE(true));
      const args = [t, ...(ctx.types.length > 1 ? [intArg(ctx, 1)] : [])];
      if (t.kind === 'DECIMAL') {
        const d = ctx.types.length > 1 ? literalInt(ctx, 1) : 0;
        if (d === undefined) return ctx.fail(`the second argument of ${name} must be an integer literal for a DECIMAL value`);
        return { args, result: withNullable(roundDecimalType(t, d), anyNullable(ctx.types)) };
      }
      return { args, result: withNullable(t, anyNullable(ctx.types)) };
    },
    gen(g) {
      const t = g.call.args[0].type;
      const x = g.a[0];
      const d = g.a[1] ?? '0';
      if (t.kind === 'DECIMAL') {
        const s = decimalScale(t);
        const dd = g.call.args.length > 1 ? (g.call.args[1] as { value: number }).value : 0;
        if (dd >= s) return x;
        const rs = decimalScale(g.call.type);
        const scaled = `${g.konst(trunc ? decRescaleDown : decRescale)}(${x}, ${s}, ${dd})`;
        return rs === dd ? scaled : `(${scaled} * ${pow10(rs - dd)}n)`;
      }
      if (t.kind === 'DOUBLE' || t.kind === 'FLOAT') return `${g.konst(trunc ? truncDouble : roundDouble)}(${x}, ${d})`;
      return `${g.konst(roundInt)}(${x}, ${d}, ${trunc})`;
    },
  };
}

/** CEIL/FLOOR(x) for numbers; CEIL/FLOOR(t, 'UNIT') is the parser's form of `FLOOR(t TO UNIT)`. */
function ceilFloor(name: string, ceil: boolean): ScalarFunction {
  return {
    name,
    minArgs: 1,
    maxArgs: 2,
    nulls: 'strict',
    infer(ctx) {
      if (ctx.types.length === 2) {
        const t = expectArg(ctx, 0, 'datetime', type('TIMESTAMP', true, 3));
        const unit = constString(ctx, 1)?.toUpperCase();
        if (unit === undefined || !FLOOR_UNITS.includes(unit))
          ctx.fail(`invalid time unit ${unit ?? '(not a literal)'} for ${name}: expected one of ${FLOOR_UNITS.join(', ')}`);
        return { args: [t, ctx.types[1]], result: t };
      }
      const t = expectArg(ctx, 0, 'numeric', DOUBLE(true));
      if (t.kind === 'DECIMAL') {
        const p = decimalPrecision(t),
          s = decimalScale(t);
        return { args: [t], result: type('DECIMAL', t.nullable, Math.min(38, Math.max(1, p - s + (s > 0 ? 1 : 0))), 0) };
      }
      return { args: [t], result: t };
    },
    gen(g) {
      const t = g.call.args[0].type;
      if (g.a.length === 2) {
        const unit = JSON.stringify(constString(g, 1)!.toUpperCase());
        if (t.kind !== 'DATE') return `${g.konst(floorCeilTime)}(${g.a[0]}, ${unit}, ${ceil})`;
        return `Math.floor(${g.konst(floorCeilTime)}(${g.a[0]} * ${MS_PER_DAY}, ${unit}, ${ceil}) / ${MS_PER_DAY})`;
      }
      if (t.kind === 'DECIMAL') return `${g.konst(decCeilFloor)}(${g.a[0]}, ${decimalScale(t)}, ${ceil})`;
      if (t.kind === 'DOUBLE' || t.kind === 'FLOAT') return `Math.${ceil ? 'ceil' : 'floor'}(${g.a[0]})`;
      return g.a[0];
    },
  };
}

/** A function of DOUBLE arguments returning DOUBLE. */
const dbl = (name: string, arity: number, gen: (g: GenContext) => string, minArgs = arity): ScalarFunction =>
  simple(name, Array(arity).fill(doubleArg), (n) => DOUBLE(n), gen, minArgs);
const m1 = (name: string, fn: string): ScalarFunction => dbl(name, 1, (g) => `Math.${fn}(${g.a[0]})`);

const ABS: ScalarFunction = {
  name: 'ABS',
  minArgs: 1,
  maxArgs: 1,
  nulls: 'strict',
  infer(ctx) {
    const t = expectArg(ctx, 0, 'numeric', DOUBLE(true));
    return { args: [t], result: t };
  },
  gen: (g) => (g.call.type.kind === 'DECIMAL' ? `(${g.a[0]} < 0n ? -${g.a[0]} : ${g.a[0]})` : `Math.abs(${g.a[0]})`),
};

const SIGN: ScalarFunction = {
  name: 'SIGN',
  minArgs: 1,
  maxArgs: 1,
  nulls: 'strict',
  infer(ctx) {
    const t = expectArg(ctx, 0, 'numeric', DOUBLE(true));
    return { args: [t], result: t };
  },
  gen(g) {
    const x = g.a[0];
    if (g.call.type.kind !== 'DECIMAL') return `(Math.sign(${x}) + 0)`;
    const one = pow10(decimalScale(g.call.type));
    return `(${x} > 0n ? ${one}n : ${x} < 0n ? -${one}n : 0n)`;
  },
};

const constant = (name: string, value: string): ScalarFunction => ({
  name,
  minArgs: 0,
  maxArgs: 0,
  nulls: 'strict',
  infer: () => ({ args: [], result: DOUBLE(false) }),
  gen: () => value,
});

register(
  ABS,
  SIGN,
  ceilFloor('CEIL', true),
  ceilFloor('FLOOR', false),
  rounding('ROUND', false),
  rounding('TRUNCATE', true),
  dbl('POWER', 2, (g) => `Math.pow(${g.a[0]}, ${g.a[1]})`),
  m1('SQRT', 'sqrt'),
  m1('EXP', 'exp'),
  m1('LN', 'log'),
  m1('LOG10', 'log10'),
  m1('LOG2', 'log2'),
  dbl('LOG', 2, (g) => (g.a.length === 1 ? `Math.log(${g.a[0]})` : `(Math.log(${g.a[1]}) / Math.log(${g.a[0]}))`), 1),
  m1('SIN', 'sin'),
  m1('COS', 'cos'),
  m1('TAN', 'tan'),
  dbl('COT', 1, (g) => `(1 / Math.tan(${g.a[0]}))`),
  m1('ASIN', 'asin'),
  m1('ACOS', 'acos'),
  m1('ATAN', 'atan'),
  dbl('ATAN2', 2, (g) => `Math.atan2(${g.a[0]}, ${g.a[1]})`),
  m1('SINH', 'sinh'),
  m1('COSH', 'cosh'),
  m1('TANH', 'tanh'),
  dbl('DEGREES', 1, (g) => `(${g.a[0]} * ${180 / Math.PI})`),
  dbl('RADIANS', 1, (g) => `(${g.a[0]} * ${Math.PI / 180})`),
  constant('PI', String(Math.PI)),
  constant('E', String(Math.E)),
);
alias('CEILING', 'CEIL');
alias('POW', 'POWER');
