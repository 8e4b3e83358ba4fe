/**
 * Small utilities over bound expressions used by the binder, the rewrite rules and EXPLAIN:
 * structural keys (for de-duplication and equality), substitution of input references, and a
 * Flink-like rendering (`(v > 10)`, `SUM(v)`, `CAST(a AS BIGINT)`).
 */
import type { BoundExpr } from '../expr/bound.js';
import { formatType, type SqlType, type } from '../expr/types.js';
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
  switch (e.kind) {
    case 'input':
      return `$${e.index}:${typeKey(e.type)}`;
    case 'literal':
      return `lit(${valueKey(e.value)}:${typeKey(e.type)})`;
    case 'call':
      return `${e.fn}(${e.args.map(boundKey).join(',')}):${typeKey(e.type)}`;
    default:
      return unreachable(e);
  }
}

/** Replaces every input reference `$i` with `replacement[i]` (calc merging). */
export function substituteInputs(e: BoundExpr, replacement: readonly BoundExpr[]): BoundExpr {
  switch (e.kind) {
    case 'input':
      return replacement[e.index];
    case 'literal':
      return e;
    case 'call':
      return Object.freeze({ ...e, args: Object.freeze(e.args.map((a) => substituteInputs(a, replacement))) });
    default:
      return unreachable(e);
  }
}

/** Renumbers input references: `$i` becomes `$mapping[i]`. */
export function remapInputs(e: BoundExpr, mapping: readonly number[]): BoundExpr {
  switch (e.kind) {
    case 'input':
      return mapping[e.index] === e.index ? e : Object.freeze({ ...e, index: mapping[e.index] });
    case 'literal':
      return e;
    case 'call':
      return Object.freeze({ ...e, args: Object.freeze(e.args.map((a) => remapInputs(a, mapping))) });
    default:
      return unreachable(e);
  }
}

/** Adds the input indexes `e` reads to `into`. */
export function collectInputs(e: BoundExpr, into: Set<number>): void {
  switch (e.kind) {
    case 'input':
      into.add(e.index);
      return;
    case 'literal':
      return;
    case 'call':
      for (const a of e.args) collectInputs(a, into);
      return;
    default:
      unreachable(e);
  }
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
  switch (e.kind) {
    case 'input':
      return inputNames[e.index] ?? `$${e.index}`;
    case 'literal':
      return formatLiteral(e.value, e.type);
    case 'call': {
      const args = e.args.map((a) => formatBound(a, inputNames));
      if (e.fn === 'CAST' || e.fn === 'TRY_CAST') return `${e.fn}(${args[0]} AS ${formatType(e.type)})`;
      if (INFIX.has(e.fn) && args.length === 2) return `(${args[0]} ${e.fn} ${args[1]})`;
      if (POSTFIX.has(e.fn) && args.length === 1) return `(${args[0]} ${e.fn})`;
      if (e.fn === 'NOT' && args.length === 1) return `NOT(${args[0]})`;
      if ((e.fn === '-' || e.fn === '+') && args.length === 1) return `${e.fn}(${args[0]})`;
      if (e.fn === 'NEGATE' && args.length === 1) return `-(${args[0]})`;
      return `${e.fn}(${args.join(', ')})`;
    }
    default:
      return unreachable(e);
  }
}
