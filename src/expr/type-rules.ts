/**
 * Flink's type rules: least restrictive common type (CASE, COALESCE, IN, UNION), arithmetic
 * result types including DECIMAL precision/scale derivation, and which casts are allowed
 * explicitly (CAST) or implicitly (INSERT into a sink column).
 */
import { type SqlType, type TypeKind, type, formatType, isInteger, isNumeric, isString } from '../model/types.js';
import { MAX_DECIMAL_PRECISION } from './decimal.js';

/** Maximum length of VARCHAR / STRING, as in Flink. */
export const MAX_LENGTH = 2147483647;

const INT_RANK: Partial<Record<TypeKind, number>> = { TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4 };
const INT_DECIMAL_PRECISION: Partial<Record<TypeKind, number>> = { TINYINT: 3, SMALLINT: 5, INT: 10, BIGINT: 19 };

export const isDecimal = (t: SqlType): boolean => t.kind === 'DECIMAL';
export const isApprox = (t: SqlType): boolean => t.kind === 'FLOAT' || t.kind === 'DOUBLE';
export const isTimestamp = (t: SqlType): boolean => t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ';
export const isDatetime = (t: SqlType): boolean => t.kind === 'DATE' || t.kind === 'TIME' || isTimestamp(t);
export const isNullType = (t: SqlType): boolean => t.kind === 'NULL';

export function decimalPrecision(t: SqlType): number {
  return t.kind === 'DECIMAL' ? (t.precision ?? 10) : (INT_DECIMAL_PRECISION[t.kind] ?? MAX_DECIMAL_PRECISION);
}
export function decimalScale(t: SqlType): number {
  return t.kind === 'DECIMAL' ? (t.scale ?? 0) : 0;
}

/** String length bound: CHAR/VARCHAR(n) or MAX_LENGTH for STRING. */
export function stringLength(t: SqlType): number {
  return t.kind === 'STRING' ? MAX_LENGTH : (t.precision ?? (t.kind === 'CHAR' ? 1 : MAX_LENGTH));
}

/** VARCHAR(n), or STRING when n is the maximum. */
export function varcharType(n: number, nullable: boolean): SqlType {
  return n >= MAX_LENGTH ? type('STRING', nullable) : type('VARCHAR', nullable, n);
}

/** Flink's adjustment when a derived DECIMAL exceeds precision 38: keep integer digits, keep at least min(scale, 6) fraction digits. */
export function decimalType(precision: number, scale: number, nullable: boolean): SqlType {
  if (precision > MAX_DECIMAL_PRECISION) {
    const intDigits = precision - scale;
    const minScale = Math.min(scale, 6);
    scale = Math.max(MAX_DECIMAL_PRECISION - intDigits, minScale);
    precision = MAX_DECIMAL_PRECISION;
  }
  return type('DECIMAL', nullable, Math.max(1, precision), scale);
}

/** A type for messages: `DECIMAL(10, 2)`, without the NOT NULL suffix. */
export function typeName(t: SqlType): string {
  return formatType(t.nullable ? t : { ...t, nullable: true });
}

/** Equal apart from nullability. */
export function sameType(a: SqlType, b: SqlType): boolean {
  return a.kind === b.kind && (a.precision ?? -1) === (b.precision ?? -1) && (a.scale ?? -1) === (b.scale ?? -1);
}

/** The least restrictive type of several (Flink's LogicalTypeMerging.findCommonType), or undefined when there is none. */
export function commonType(types: readonly SqlType[]): SqlType | undefined {
  const nullable = types.some((t) => t.nullable);
  const ts = types.filter((t) => t.kind !== 'NULL');
  if (ts.length === 0) return type('NULL', true);
  const first = ts[0];
  if (ts.every(isNumeric)) {
    if (ts.some((t) => t.kind === 'DOUBLE')) return type('DOUBLE', nullable);
    if (ts.some((t) => t.kind === 'FLOAT')) return type('FLOAT', nullable);
    if (ts.some(isDecimal)) {
      const scale = Math.max(...ts.map(decimalScale));
      const intDigits = Math.max(...ts.map((t) => decimalPrecision(t) - decimalScale(t)));
      return type('DECIMAL', nullable, Math.min(MAX_DECIMAL_PRECISION, intDigits + scale), scale);
    }
    let best = first;
    for (const t of ts) if ((INT_RANK[t.kind] ?? 0) > (INT_RANK[best.kind] ?? 0)) best = t;
    return type(best.kind, nullable);
  }
  if (ts.every(isString)) {
    if (ts.every((t) => t.kind === 'CHAR' && t.precision === first.precision)) return type('CHAR', nullable, first.precision);
    return varcharType(Math.max(...ts.map(stringLength)), nullable);
  }
  if (ts.every((t) => t.kind === first.kind) && (first.kind === 'BOOLEAN' || first.kind === 'BYTES' || first.kind === 'DATE')) {
    return type(first.kind, nullable);
  }
  if (ts.every((t) => t.kind === 'TIME')) return type('TIME', nullable, Math.max(...ts.map((t) => t.precision ?? 0)));
  if (ts.every((t) => t.kind === 'DATE' || isTimestamp(t))) {
    const precision = Math.max(...ts.map((t) => (t.kind === 'DATE' ? 0 : (t.precision ?? 3))));
    return type(ts.some((t) => t.kind === 'TIMESTAMP_LTZ') ? 'TIMESTAMP_LTZ' : 'TIMESTAMP', nullable, precision);
  }
  return undefined;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%';

/** Result type of numeric arithmetic per Flink, or undefined when the operands are not both numeric. */
export function arithmeticType(op: ArithOp, a: SqlType, b: SqlType): SqlType | undefined {
  const nullable = a.nullable || b.nullable;
  if (a.kind === 'NULL' && b.kind === 'NULL') return type('INT', true);
  if (a.kind === 'NULL') return arithmeticType(op, { ...b, nullable: true }, b);
  if (b.kind === 'NULL') return arithmeticType(op, a, { ...a, nullable: true });
  if (!isNumeric(a) || !isNumeric(b)) return undefined;
  if (isApprox(a) || isApprox(b)) return type(a.kind === 'DOUBLE' || b.kind === 'DOUBLE' || isDecimal(a) || isDecimal(b) ? 'DOUBLE' : 'FLOAT', nullable);
  if (isDecimal(a) || isDecimal(b)) {
    const p1 = decimalPrecision(a),
      s1 = decimalScale(a),
      p2 = decimalPrecision(b),
      s2 = decimalScale(b);
    switch (op) {
      case '+':
      case '-': {
        const s = Math.max(s1, s2);
        return decimalType(Math.max(p1 - s1, p2 - s2) + s + 1, s, nullable);
      }
      case '*':
        return decimalType(p1 + p2 + 1, s1 + s2, nullable);
      case '/': {
        const s = Math.max(6, s1 + p2 + 1);
        return decimalType(p1 - s1 + s2 + s, s, nullable);
      }
      case '%': {
        const s = Math.max(s1, s2);
        return decimalType(Math.min(p1 - s1, p2 - s2) + s, s, nullable);
      }
    }
  }
  // Both exact integers: the wider of the two (INT / INT is INT: integer division, as in Flink).
  const kind = (INT_RANK[a.kind] ?? 0) >= (INT_RANK[b.kind] ?? 0) ? a.kind : b.kind;
  return type(kind, nullable);
}

/** Whether CAST(x AS to) is allowed for a value of type `from`. */
export function canCast(from: SqlType, to: SqlType): boolean {
  if (from.kind === 'NULL') return true;
  if (to.kind === 'NULL') return false;
  if (isString(from) || isString(to)) return true;
  if (isNumeric(from) || from.kind === 'BOOLEAN') {
    if (isNumeric(to) || to.kind === 'BOOLEAN') return true;
    return isTimestamp(to) && from.kind !== 'BOOLEAN';
  }
  switch (from.kind) {
    case 'DATE':
      return to.kind === 'DATE' || isTimestamp(to);
    case 'TIME':
      return to.kind === 'TIME';
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return isDatetime(to) || isInteger(to) || to.kind === 'DOUBLE' || to.kind === 'DECIMAL';
    case 'BYTES':
      return to.kind === 'BYTES';
    default:
      return false;
  }
}

/**
 * Whether a value of type `from` may be written to a column of type `to` without an explicit
 * CAST (Flink's LogicalTypeCasts.supportsImplicitCast): numeric widening along
 * TINYINT < SMALLINT < INT < BIGINT < DECIMAL < FLOAT < DOUBLE, DECIMAL from any numeric,
 * strings among themselves, TIMESTAMP/TIMESTAMP_LTZ/DATE among each other, NULL to anything.
 */
export function canImplicitCast(from: SqlType, to: SqlType): boolean {
  if (from.kind === 'NULL') return true;
  if (from.kind === to.kind) return true;
  if (isNumeric(from) && isNumeric(to)) {
    if (to.kind === 'DECIMAL' || to.kind === 'DOUBLE') return true;
    if (to.kind === 'FLOAT') return from.kind !== 'DOUBLE';
    return isInteger(from) && isInteger(to) && (INT_RANK[from.kind] ?? 0) <= (INT_RANK[to.kind] ?? 0);
  }
  if (isString(from) && isString(to)) return true;
  if (to.kind === 'DATE') return isTimestamp(from);
  if (isTimestamp(to)) return isTimestamp(from);
  return false;
}
