/**
 * Arithmetic, comparison and logical operators. Three-valued logic as in SQL: AND is FALSE when
 * either side is FALSE (even if the other is NULL), OR is TRUE when either side is TRUE.
 * Integer arithmetic wraps like Java for TINYINT/SMALLINT/INT; BIGINT is a JS number (exact
 * within ±2^53, not checked on the hot path). Integer division and modulo by zero are errors,
 * as in Flink; DOUBLE division by zero gives ±Infinity/NaN.
 */
import { type SqlType, isNumeric, isString, withNullable } from '../../model/types.js';
import { type ArithOp, arithmeticType, commonType, decimalPrecision, decimalScale, decimalType, isDatetime, typeName } from '../type-rules.js';
import { decDiv, decMod, decRescale, pow10 } from '../decimal.js';
import { BOOLEAN, type GenContext, type InferContext, type ScalarFunction, anyNullable, expectArg, register, alias } from './registry.js';

/** Wraps an integer expression to its kind's range (Java overflow semantics) and normalizes -0. */
export function wrapIntSource(src: string, kind: string): string {
  switch (kind) {
    case 'TINYINT':
      return `(((${src}) << 24) >> 24)`;
    case 'SMALLINT':
      return `(((${src}) << 16) >> 16)`;
    case 'INT':
      return `((${src}) | 0)`;
    case 'BIGINT':
      return `((${src}) + 0)`;
    default:
      return `(${src})`;
  }
}

const isIntKind = (k: string): boolean => k === 'TINYINT' || k === 'SMALLINT' || k === 'INT' || k === 'BIGINT';

function asDecimal(t: SqlType, other: SqlType): SqlType {
  if (t.kind === 'NULL') return asDecimal({ ...other, nullable: true }, other);
  return t.kind === 'DECIMAL' ? t : decimalType(decimalPrecision(t), 0, t.nullable);
}

function arithmetic(op: ArithOp, name: string): ScalarFunction {
  return {
    name,
    minArgs: 2,
    maxArgs: 2,
    nulls: 'strict',
    infer(ctx) {
      expectArg(ctx, 0, 'numeric');
      expectArg(ctx, 1, 'numeric');
      const [a, b] = ctx.types;
      const r = arithmeticType(op, a, b)!;
      // A derived precision capped at 38 can overflow, which yields NULL (as in Flink).
      if (r.kind === 'DECIMAL') return { args: [asDecimal(a, b), asDecimal(b, a)], result: r.precision === 38 ? withNullable(r, true) : r };
      return { args: [withNullable(r, a.nullable), withNullable(r, b.nullable)], result: r };
    },
    gen(g) {
      const [a, b] = g.a;
      const r = g.call.type;
      if (r.kind === 'DECIMAL') return genDecimal(op, g);
      const k = r.kind;
      if (!isIntKind(k)) return `(${a} ${op} ${b})`;
      const zero = (sym: string): string => g.raise(`"integer division by zero in ${name}: " + ${a} + " ${sym} 0"`);
      switch (op) {
        case '+':
        case '-':
          return wrapIntSource(`${a} ${op} ${b}`, k);
        case '*':
          return k === 'BIGINT' ? wrapIntSource(`${a} * ${b}`, k) : wrapIntSource(`Math.imul(${a}, ${b})`, k);
        case '/':
          return `(${b} === 0 ? ${zero('/')} : ${wrapIntSource(k === 'BIGINT' ? `Math.trunc(${a} / ${b})` : `${a} / ${b}`, k)})`;
        case '%':
          return `(${b} === 0 ? ${zero('%')} : ${wrapIntSource(`${a} % ${b}`, k)})`;
      }
    },
  };
}

function genDecimal(op: ArithOp, g: GenContext): string {
  const [a, b] = g.a;
  const [ta, tb] = g.call.args.map((x) => x.type);
  const s1 = decimalScale(ta),
    s2 = decimalScale(tb);
  const s = decimalScale(g.call.type);
  const lim = `${pow10(decimalPrecision(g.call.type))}n`;
  const up = (x: string, k: number): string => (k === 0 ? x : `${x} * ${pow10(k)}n`);
  let expr: string;
  switch (op) {
    case '+':
    case '-': {
      const S = Math.max(s1, s2);
      expr = `${up(a, S - s1)} ${op} ${up(b, S - s2)}`;
      if (s !== S) expr = `${g.konst(decRescale)}(${expr}, ${S}, ${s})`;
      break;
    }
    case '*':
      expr = s === s1 + s2 ? `${a} * ${b}` : `${g.konst(decRescale)}(${a} * ${b}, ${s1 + s2}, ${s})`;
      break;
    case '/':
    case '%': {
      const zero = g.raise(`"division by zero in ${op === '/' ? '/' : 'MOD'}"`);
      expr = `(${b} === 0n ? ${zero} : ${g.konst(op === '/' ? decDiv : decMod)}(${a}, ${s1}, ${b}, ${s2}, ${s}))`;
      break;
    }
  }
  const t = g.temp();
  g.emit(`${t} = ${expr};`);
  return `(${t} < ${lim} && ${t} > -${lim} ? ${t} : null)`;
}

const NEGATE: ScalarFunction = {
  name: 'NEGATE',
  minArgs: 1,
  maxArgs: 1,
  nulls: 'strict',
  infer(ctx) {
    const t = expectArg(ctx, 0, 'numeric');
    const r = t.kind === 'NULL' ? withNullable(t, true) : t;
    return { args: [r], result: r };
  },
  gen(g) {
    const k = g.call.type.kind;
    if (k === 'DECIMAL') return `(-${g.a[0]})`;
    return isIntKind(k) ? wrapIntSource(`0 - ${g.a[0]}`, k) : `(-${g.a[0]})`;
  },
};

/** JS source comparing two non-null values of the same (coerced) type. */
export function compareSource(g: { konst(v: unknown): string }, op: string, a: string, b: string, t: SqlType): string {
  if (t.kind === 'BYTES') return `(${g.konst(compareBytes)}(${a}, ${b}) ${op === '=' ? '===' : op === '<>' ? '!==' : op} 0)`;
  const jsOp = op === '=' ? '===' : op === '<>' ? '!==' : op;
  return `(${a} ${jsOp} ${b})`;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * The type both sides of a comparison are coerced to. Besides Flink's common types, a string
 * compared with a date/time value is cast to that date/time (`ts > '2024-01-01 10:00:00'`), as
 * Calcite's coercion does in Flink. Strings and numbers do not compare (Flink rejects `1 = '1'`).
 */
export function comparisonType(ctx: InferContext, indexes: readonly number[], what: string): SqlType {
  const ts = indexes.map((i) => ctx.types[i]);
  const c = commonType(ts);
  if (c) return c;
  const temporal = ts.find(isDatetime);
  if (temporal && indexes.every((i) => isDatetime(ctx.types[i]) || ctx.types[i].kind === 'NULL' || isString(ctx.types[i]))) {
    const only = commonType(ts.filter(isDatetime));
    if (only) return withNullable(only, anyNullable(ts));
  }
  return ctx.fail(`cannot ${what} ${ts.map(typeName).join(' and ')}${ts.some(isNumeric) && ts.some(isString) ? ' (use CAST)' : ''}`);
}

function comparison(op: string): ScalarFunction {
  return {
    name: op,
    minArgs: 2,
    maxArgs: 2,
    nulls: 'strict',
    infer(ctx) {
      const c = comparisonType(ctx, [0, 1], `apply '${op}' to`);
      const [a, b] = ctx.types;
      return { args: [withNullable(c, a.nullable), withNullable(c, b.nullable)], result: BOOLEAN(a.nullable || b.nullable) };
    },
    gen(g) {
      return compareSource(g, op, g.a[0], g.a[1], g.call.args[0].type);
    },
  };
}

function boolArgs(ctx: InferContext): SqlType[] {
  return ctx.types.map((_, i) => withNullable(expectArg(ctx, i, 'boolean'), ctx.types[i].nullable || ctx.types[i].kind === 'NULL'));
}

/**
 * AND / OR over any number of operands (code generation passes the operands of a whole chain):
 * each is evaluated only while none before it decided (FALSE for AND, TRUE for OR); otherwise the
 * result is NULL if any was NULL. The code is one flat block, however long the chain.
 */
function shortCircuit(name: 'AND' | 'OR', decides: boolean): ScalarFunction {
  return {
    name,
    minArgs: 2,
    maxArgs: 2,
    nulls: 'custom',
    associative: true,
    infer: (ctx) => ({ args: boolArgs(ctx), result: BOOLEAN(anyNullable(ctx.types)) }),
    gen(g) {
      const r = g.temp();
      const done = `L${r}`;
      g.emit(`${r} = ${!decides};\n${done}: {`);
      for (let i = 0; i < g.call.args.length; i++) {
        const a = g.arg(i);
        g.emit(`if (${a} === ${decides}) { ${r} = ${decides}; break ${done}; }`);
        if (g.call.args[i]!.type.nullable || g.call.args[i]!.type.kind === 'NULL') g.emit(`if (${a} === null) ${r} = null;`);
      }
      g.emit('}');
      return r;
    },
  };
}

const AND = shortCircuit('AND', false);
const OR = shortCircuit('OR', true);

const NOT: ScalarFunction = {
  name: 'NOT',
  minArgs: 1,
  maxArgs: 1,
  nulls: 'strict',
  infer: (ctx) => ({ args: boolArgs(ctx), result: BOOLEAN(anyNullable(ctx.types)) }),
  gen: (g) => `(!${g.a[0]})`,
};

function isTest(name: string, test: (v: string) => string, boolOnly: boolean): ScalarFunction {
  return {
    name,
    minArgs: 1,
    maxArgs: 1,
    nulls: 'custom',
    infer: (ctx) => ({ args: boolOnly ? boolArgs(ctx) : [ctx.types[0]], result: BOOLEAN(false) }),
    gen: (g) => test(g.arg(0)),
  };
}

/** `x IN (a, b, ...)`: args are [x, a, b, ...] coerced to one type. NOT IN binds to NOT(IN). */
const IN: ScalarFunction = {
  name: 'IN',
  minArgs: 2,
  maxArgs: Infinity,
  nulls: 'custom',
  infer(ctx) {
    const c = comparisonType(
      ctx,
      ctx.types.map((_, i) => i),
      'apply IN to',
    );
    return { args: ctx.types.map((t) => withNullable(c, t.nullable)), result: BOOLEAN(anyNullable(ctx.types)) };
  },
  gen(g) {
    const items = g.call.args.slice(1);
    const t = g.call.args[0].type;
    const x = g.arg(0);
    if (t.kind !== 'BYTES' && items.every((i) => i.kind === 'literal')) {
      const values = items.map((i) => (i as { value: unknown }).value);
      const hasNull = values.includes(null);
      const set = new Set(values.filter((v) => v !== null));
      if (set.size <= 4) {
        const tests = [...set].map((v) => `${x} === ${g.konst(v)}`).join(' || ') || 'false';
        return `(${x} === null ? null : (${tests}) ? true : ${hasNull ? 'null' : 'false'})`;
      }
      return `(${x} === null ? null : ${g.konst(set)}.has(${x}) ? true : ${hasNull ? 'null' : 'false'})`;
    }
    const r = g.temp();
    const sawNull = g.temp();
    const checks = g.block(() => {
      g.emit(`${r} = false; ${sawNull} = false;`);
      items.forEach((_, j) => {
        const body = g.block(() => {
          const v = g.arg(j + 1);
          g.emit(`if (${v} === null) ${sawNull} = true; else if (${compareSource(g, '=', x, v, t)}) ${r} = true;`);
        });
        g.emit(`if (${r} !== true) {\n${body}\n}`);
      });
      g.emit(`if (${r} !== true && ${sawNull}) ${r} = null;`);
    });
    g.emit(`if (${x} === null) ${r} = null;\nelse {\n${checks}\n}`);
    return r;
  },
};

/** `x BETWEEN lo AND hi` = `x >= lo AND x <= hi` with x evaluated once. NOT BETWEEN binds to NOT(BETWEEN). */
const BETWEEN: ScalarFunction = {
  name: 'BETWEEN',
  minArgs: 3,
  maxArgs: 3,
  nulls: 'custom',
  infer(ctx) {
    const c = comparisonType(ctx, [0, 1, 2], 'apply BETWEEN to');
    return { args: ctx.types.map((t) => withNullable(c, t.nullable)), result: BOOLEAN(anyNullable(ctx.types)) };
  },
  gen(g) {
    const t = g.call.args[0].type;
    const x = g.arg(0),
      lo = g.arg(1),
      hi = g.arg(2);
    const a = g.temp(),
      b = g.temp();
    g.emit(`${a} = ${x} === null || ${lo} === null ? null : ${compareSource(g, '>=', x, lo, t)};`);
    g.emit(`${b} = ${x} === null || ${hi} === null ? null : ${compareSource(g, '<=', x, hi, t)};`);
    return `(${a} === false || ${b} === false ? false : ${a} === null || ${b} === null ? null : true)`;
  },
};

register(
  arithmetic('+', '+'),
  arithmetic('-', '-'),
  arithmetic('*', '*'),
  arithmetic('/', '/'),
  arithmetic('%', '%'),
  arithmetic('%', 'MOD'),
  NEGATE,
  ...['=', '<>', '<', '<=', '>', '>='].map(comparison),
  AND,
  OR,
  NOT,
  isTest('IS NULL', (v) => `(${v} === null)`, false),
  isTest('IS NOT NULL', (v) => `(${v} !== null)`, false),
  isTest('IS TRUE', (v) => `(${v} === true)`, true),
  isTest('IS NOT TRUE', (v) => `(${v} !== true)`, true),
  isTest('IS FALSE', (v) => `(${v} === false)`, true),
  isTest('IS NOT FALSE', (v) => `(${v} !== false)`, true),
  IN,
  BETWEEN,
);
alias('!=', '<>');
