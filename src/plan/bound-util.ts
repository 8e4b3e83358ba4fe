/**
 * Small utilities over bound expressions used by the binder, the rewrite rules and EXPLAIN:
 * structural keys (for de-duplication and equality), substitution of input references, and a
 * Flink-like rendering (`(v > 10)`, `SUM(v)`, `CAST(a AS BIGINT)`).
 */
import type { BoundExpr } from '../expr/bound.js';
import { foldBound, joinText, mapBoundLeaves, visitBound } from '../expr/bound-walk.js';
import { formatType, type SqlType, type } from '../model/types.js';
import { unreachable } from '../errors.js';

export function inputRef(index: number, t: SqlType): BoundExpr {
  return Object.freeze({ kind: 'input', index, type: t });
}

export function nullLiteral(t: SqlType): BoundExpr {
  return Object.freeze({ kind: 'literal', value: null, type: t });
}

/** `a AND b` (either may be undefined). */
export function andExpr(a: BoundExpr | undefined, b: BoundExpr | undefined): BoundExpr | undefined {
  if (!a) return b;
  if (!b) return a;
  return Object.freeze({ kind: 'call', fn: 'AND', args: Object.freeze([a, b]), type: type('BOOLEAN', a.type.nullable || b.type.nullable) });
}

function typeKey(t: SqlType): string {
  return formatType(t);
}

function valueKey(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'bigint':
      return `${v}n`;
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'boolean':
      return String(v);
    default:
      if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
      return JSON.stringify(v) ?? String(v);
  }
}

/** A string equal for structurally equal expressions (same functions, inputs, literals, types). */
export function boundKey(e: BoundExpr): string {
  return foldBound<string>(e, (x, args) => {
    switch (x.kind) {
      case 'input':
        return `$${x.index}:${typeKey(x.type)}`;
      case 'literal':
        return `lit(${valueKey(x.value)}:${typeKey(x.type)})`;
      case 'call':
        return `${x.fn}(${joinText(args, ',')}):${typeKey(x.type)}`;
      default:
        return unreachable(x);
    }
  });
}

/** Replaces every input reference `$i` with `replacement[i]` (calc merging). */
export function substituteInputs(e: BoundExpr, replacement: readonly BoundExpr[]): BoundExpr {
  return mapBoundLeaves(e, (x) => (x.kind === 'input' ? replacement[x.index]! : x));
}

/** Renumbers input references: `$i` becomes `$mapping[i]`. */
export function remapInputs(e: BoundExpr, mapping: readonly number[]): BoundExpr {
  return mapBoundLeaves(e, (x) => (x.kind === 'input' && mapping[x.index] !== x.index ? Object.freeze({ ...x, index: mapping[x.index]! }) : x));
}

/** How many input references `e` has (with repeats); `memo` keeps the counts of sub-expressions seen before. */
export function countInputs(e: BoundExpr, memo: Map<BoundExpr, number>): number {
  return foldBound<number>(
    e,
    (x, args) => {
      const n = x.kind === 'input' ? 1 : args.reduce((a, b) => a + b, 0);
      memo.set(x, n);
      return n;
    },
    memo,
  );
}

/** Adds the input indexes `e` reads to `into`. */
export function collectInputs(e: BoundExpr, into: Set<number>): void {
  visitBound(e, (x) => {
    if (x.kind === 'input') into.add(x.index);
  });
}

const INFIX = new Set(['+', '-', '*', '/', '%', '=', '<>', '<', '<=', '>', '>=', 'AND', 'OR', '||', 'LIKE', 'NOT LIKE', 'SIMILAR TO']);
const POSTFIX = new Set(['IS NULL', 'IS NOT NULL', 'IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE']);

function formatDecimal(unscaled: bigint, scale: number): string {
  if (scale <= 0) return unscaled.toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

function formatLiteral(value: unknown, t: SqlType): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return `'${value.replace(/'/g, "''")}'`;
    case 'bigint':
      return t.kind === 'DECIMAL' ? formatDecimal(value, t.scale ?? 0) : value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (t.kind === 'DATE') return `DATE '${new Date(value * 86_400_000).toISOString().slice(0, 10)}'`;
      if (t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ') {
        return `${t.kind} '${new Date(value).toISOString().replace('T', ' ').replace('Z', '')}'`;
      }
      return String(value);
    default:
      if (value instanceof Uint8Array) return `X'${Buffer.from(value).toString('hex')}'`;
      return String(value);
  }
}

/** Renders `e` for EXPLAIN, naming inputs by `inputNames`. */
export function formatBound(e: BoundExpr, inputNames: readonly string[]): string {
  return foldBound<string>(e, (x, args) => {
    switch (x.kind) {
      case 'input':
        return inputNames[x.index] ?? `$${x.index}`;
      case 'literal':
        return formatLiteral(x.value, x.type);
      case 'call': {
        if (x.fn === 'CAST' || x.fn === 'TRY_CAST') return `${x.fn}(${args[0]} AS ${formatType(x.type)})`;
        if (INFIX.has(x.fn) && args.length === 2) return `(${args[0]} ${x.fn} ${args[1]})`;
        if (POSTFIX.has(x.fn) && args.length === 1) return `(${args[0]} ${x.fn})`;
        if (x.fn === 'NOT' && args.length === 1) return `NOT(${args[0]})`;
        if ((x.fn === '-' || x.fn === '+') && args.length === 1) return `${x.fn}(${args[0]})`;
        if (x.fn === 'NEGATE' && args.length === 1) return `-(${args[0]})`;
        return `${x.fn}(${joinText(args, ', ')})`;
      }
      default:
        return unreachable(x);
    }
  });
}
