/**
 * CAST / TRY_CAST between all types of types.ts, following Flink (1.15+ semantics):
 * - string -> number trims blanks; an invalid string is an error (TRY_CAST: NULL); string -> INT
 *   accepts a fractional part and truncates it, as Flink does;
 * - to DECIMAL rounds HALF_UP; a value with too many digits becomes NULL (Flink's overflow rule);
 * - DOUBLE/DECIMAL -> integer truncates toward zero; a narrowing integer cast wraps (Java);
 * - BOOLEAN -> STRING is 'TRUE'/'FALSE'; DOUBLE -> STRING follows Java's Double.toString;
 * - TIMESTAMP(p) -> STRING prints p fractional digits (undefined precision means Flink's default 6);
 * - numbers <-> TIMESTAMP/TIMESTAMP_LTZ are epoch seconds.
 * Casts between types sharing a JS representation generate no code at all.
 */
import { type SqlType, formatType, isInteger, isString } from '../model/types.js';
import { userError } from '../errors.js';
import type { Pos } from '../sql/ir.js';
import { decCheck, decRescale, decRescaleDown, decToNumber, decToString, numberToDec, parseDecimal, pow10 } from './decimal.js';
import { MS_PER_DAY, daysOfMs, formatDate, formatTime, formatTimestamp, msOfDay, parseDate, parseTime, parseTimestamp } from './datetime-util.js';
import { decimalPrecision, decimalScale, isTimestamp, stringLength, MAX_LENGTH } from './type-rules.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Java's Double.toString: '1.0', '0.001', '1.0E7', '1.234E-5', 'NaN', 'Infinity'. */
export function javaDoubleString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const ax = Math.abs(x);
  if (ax >= 1e-3 && ax < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = x.toExponential().split('e');
  return `${mant.includes('.') ? mant : `${mant}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** A value rendered for an error message: strings quoted, decimals at their scale. */
export function showValue(v: unknown, t?: SqlType): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.length > 64 ? `${v.slice(0, 64)}...` : v}'`;
  if (typeof v === 'bigint') return t ? decToString(v, decimalScale(t)) : v.toString();
  if (typeof v === 'number' && t) {
    if (t.kind === 'DATE') return formatDate(v);
    if (t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ') return formatTimestamp(v, 3);
  }
  return String(v);
}

/** [min, max + 1): both ends exact doubles, so BIGINT's range is checked right too. */
const INT_RANGE: Record<string, [number, number]> = {
  TINYINT: [-128, 128],
  SMALLINT: [-32768, 32768],
  INT: [-2147483648, 2147483648],
  BIGINT: [-(2 ** 63), 2 ** 63],
};

const INT_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const DOUBLE_TEXT = /^[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)$/;
const TRUE_TEXT = new Set(['t', 'true', 'y', 'yes', '1']);
const FALSE_TEXT = new Set(['f', 'false', 'n', 'no', '0']);

/** Parses an integer the way Flink's BinaryStringDataUtil.toInt does (fraction truncated); undefined when invalid or out of range. */
export function parseIntText(s: string, kind: string): number | undefined {
  const t = s.trim();
  if (!INT_TEXT.test(t)) return undefined;
  const dot = t.indexOf('.');
  const v = Number(dot < 0 ? t : t.slice(0, dot) || '0');
  const r = INT_RANGE[kind];
  if (v < r[0] || v >= r[1] || Number.isNaN(v)) return undefined;
  return v === 0 ? 0 : v;
}

export function parseDoubleText(s: string): number | undefined {
  const t = s.trim();
  if (!DOUBLE_TEXT.test(t)) return undefined;
  return Number(t.replace(/[fFdD]$/, ''));
}

export function parseBooleanText(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  return TRUE_TEXT.has(t) ? true : FALSE_TEXT.has(t) ? false : undefined;
}

/** Wraps a JS integer to the range of an integer kind (Java's narrowing conversion). */
export function wrapInt(v: number, kind: string): number {
  switch (kind) {
    case 'TINYINT':
      return (v << 24) >> 24;
    case 'SMALLINT':
      return (v << 16) >> 16;
    case 'INT':
      return v | 0;
    default:
      return v;
  }
}

/** Java's (long)/(int) cast of a double: NaN -> 0, saturating at the range ends. */
function doubleToInt(v: number, kind: string): number {
  if (Number.isNaN(v)) return 0;
  const r = INT_RANGE[kind];
  const t = Math.trunc(v);
  if (kind === 'TINYINT' || kind === 'SMALLINT') return wrapInt(Math.max(-2147483648, Math.min(2147483647, t)), kind);
  return t < r[0] ? r[0] : t >= r[1] ? r[1] - 1 : t === 0 ? 0 : t;
}

function truncateTimestamp(ms: number, precision: number | undefined): number {
  if (precision === undefined || precision >= 3) return ms;
  const unit = precision === 0 ? 1000 : precision === 1 ? 100 : 10;
  return Math.floor(ms / unit) * unit;
}

function castString(s: string, to: SqlType): string {
  if (to.kind === 'STRING' || to.kind === 'VARCHAR') {
    const n = stringLength(to);
    return n < MAX_LENGTH && s.length > n ? s.slice(0, n) : s;
  }
  const n = to.precision ?? 1;
  return s.length > n ? s.slice(0, n) : s.padEnd(n, ' ');
}

type Caster = (v: never) => unknown;

/** Builds the conversion of a non-null value; returns undefined for an invalid input (the caller raises or yields NULL). */
function converter(from: SqlType, to: SqlType): Caster {
  const fk = from.kind;
  const tk = to.kind;
  const ts = decimalScale(to);
  const tp = decimalPrecision(to);
  if (isString(from)) {
    if (isInteger(to)) return (s: string) => parseIntText(s, tk);
    switch (tk) {
      case 'FLOAT':
      case 'DOUBLE':
        return (s: string) => parseDoubleText(s);
      case 'DECIMAL':
        return (s: string) => {
          const v = parseDecimal(s, ts);
          return v === undefined ? undefined : decCheck(v, tp);
        };
      case 'BOOLEAN':
        return (s: string) => parseBooleanText(s);
      case 'DATE':
        return (s: string) => {
          const d = parseDate(s);
          if (d !== undefined) return d;
          const t = parseTimestamp(s);
          return t === undefined ? undefined : daysOfMs(t);
        };
      case 'TIME':
        return (s: string) => {
          const t = parseTime(s) ?? parseTimestamp(s);
          return t === undefined ? undefined : truncateTimestamp(msOfDay(t), to.precision ?? 0);
        };
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ':
        return (s: string) => {
          const t = parseTimestamp(s);
          return t === undefined ? undefined : truncateTimestamp(t, to.precision);
        };
      case 'BYTES':
        return (s: string) => utf8Encoder.encode(s);
      case 'CHAR':
      case 'VARCHAR':
      case 'STRING':
        return (s: string) => castString(s, to);
    }
  }
  if (isString(to)) {
    switch (fk) {
      case 'TINYINT':
      case 'SMALLINT':
      case 'INT':
      case 'BIGINT':
        return (v: number) => castString(String(v), to);
      case 'FLOAT':
      case 'DOUBLE':
        return (v: number) => castString(javaDoubleString(v), to);
      case 'DECIMAL': {
        const s = decimalScale(from);
        return (v: bigint) => castString(decToString(v, s), to);
      }
      case 'BOOLEAN':
        return (v: boolean) => castString(v ? 'TRUE' : 'FALSE', to);
      case 'DATE':
        return (v: number) => castString(formatDate(v), to);
      case 'TIME': {
        const p = from.precision ?? 0;
        return (v: number) => castString(formatTime(v, p), to);
      }
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ': {
        const p = from.precision ?? 6;
        return (v: number) => castString(formatTimestamp(v, p), to);
      }
      case 'BYTES':
        return (v: Uint8Array) => castString(utf8Decoder.decode(v), to);
    }
  }
  if (fk === 'DECIMAL') {
    const fs = decimalScale(from);
    if (isInteger(to)) return (v: bigint) => wrapInt(Number(BigInt.asIntN(64, decRescaleDown(v, fs, 0))), tk);
    switch (tk) {
      case 'FLOAT':
      case 'DOUBLE':
        return (v: bigint) => decToNumber(v, fs);
      case 'DECIMAL':
        return (v: bigint) => decCheck(decRescale(v, fs, ts), tp);
      case 'BOOLEAN':
        return (v: bigint) => v !== 0n;
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ':
        return (v: bigint) => Number(decRescaleDown(v, fs, 3));
    }
  }
  if (fk === 'FLOAT' || fk === 'DOUBLE') {
    if (isInteger(to)) return (v: number) => doubleToInt(v, tk);
    switch (tk) {
      case 'DECIMAL':
        return (v: number) => {
          const d = numberToDec(v, ts);
          return d === null ? null : decCheck(d, tp);
        };
      case 'BOOLEAN':
        return (v: number) => v !== 0;
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ':
        return (v: number) => truncateTimestamp(Math.trunc(v * 1000), to.precision);
    }
  }
  if (isInteger(from)) {
    switch (tk) {
      case 'DECIMAL':
        return (v: number) => decCheck(BigInt(v) * pow10(ts), tp);
      case 'BOOLEAN':
        return (v: number) => v !== 0;
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ':
        return (v: number) => v * 1000;
    }
  }
  if (fk === 'BOOLEAN') {
    if (tk === 'DECIMAL') {
      const one = pow10(ts);
      return (v: boolean) => decCheck(v ? one : 0n, tp);
    }
    if (tk === 'BOOLEAN') return (v: boolean) => v;
    return (v: boolean) => (v ? 1 : 0);
  }
  if (fk === 'DATE' && isTimestamp(to)) return (v: number) => v * MS_PER_DAY;
  if (isTimestamp(from)) {
    if (isInteger(to)) return (v: number) => wrapInt(Math.floor(v / 1000), tk);
    switch (tk) {
      case 'DATE':
        return (v: number) => daysOfMs(v);
      case 'TIME':
        return (v: number) => truncateTimestamp(msOfDay(v), to.precision ?? 0);
      case 'DOUBLE':
      case 'FLOAT':
        return (v: number) => v / 1000;
      case 'DECIMAL':
        return (v: number) => decCheck(decRescale(BigInt(v), 3, ts), tp);
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ':
        return (v: number) => truncateTimestamp(v, to.precision);
    }
  }
  if (fk === 'TIME' && tk === 'TIME') return (v: number) => truncateTimestamp(v, to.precision ?? 0);
  return (v: never) => v;
}

/**
 * A cast function for non-null values of `from` to `to`. Invalid input raises
 * userError('EXPR_EVAL') naming the value, or yields null when `tryCast`.
 */
export function makeCaster(from: SqlType, to: SqlType, tryCast: boolean, pos?: Pos): (v: unknown) => unknown {
  const conv = converter(from, to) as (v: unknown) => unknown;
  const target = formatType({ ...to, nullable: true });
  return (v: unknown) => {
    const r = conv(v);
    if (r !== undefined) return r;
    if (tryCast) return null;
    throw userError('EXPR_EVAL', `CAST failed: cannot cast ${showValue(v, from)} to ${target}`, { position: pos });
  };
}

/**
 * JS source converting the non-null value `atom` of type `from` to `to`, or undefined when it
 * needs the general caster. Only the cheap, always-valid conversions are inlined.
 */
export function inlineCast(atom: string, from: SqlType, to: SqlType): string | undefined {
  const fk = from.kind,
    tk = to.kind;
  if (fk === tk && fk !== 'DECIMAL' && fk !== 'CHAR' && fk !== 'VARCHAR' && fk !== 'TIMESTAMP' && fk !== 'TIMESTAMP_LTZ' && fk !== 'TIME') return atom;
  if (fk === 'DECIMAL' && tk === 'DECIMAL') {
    const fs = decimalScale(from),
      ts = decimalScale(to);
    if (fs === ts && decimalPrecision(to) >= decimalPrecision(from)) return atom;
    if (ts > fs && decimalPrecision(to) - ts >= decimalPrecision(from) - fs) return `(${atom} * ${pow10(ts - fs)}n)`;
    return undefined;
  }
  if (isInteger(from) && tk === 'DECIMAL' && decimalPrecision(to) - decimalScale(to) >= decimalPrecision(from)) {
    return `(BigInt(${atom}) * ${pow10(decimalScale(to))}n)`;
  }
  if (isInteger(from) && isInteger(to)) {
    const rank = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT'];
    if (rank.indexOf(tk) >= rank.indexOf(fk)) return atom;
    return tk === 'INT' ? `(${atom} | 0)` : tk === 'SMALLINT' ? `((${atom} << 16) >> 16)` : `((${atom} << 24) >> 24)`;
  }
  if ((isInteger(from) || fk === 'FLOAT' || fk === 'DOUBLE') && (tk === 'FLOAT' || tk === 'DOUBLE')) return atom;
  if (isInteger(from) && isString(to) && tk !== 'CHAR' && stringLength(to) >= 20) return `("" + ${atom})`;
  if (isString(from) && isString(to) && stringLength(to) >= stringLength(from) && tk !== 'CHAR') return atom;
  if (isTimestamp(from) && isTimestamp(to) && (to.precision === undefined || to.precision >= 3)) return atom;
  if (fk === 'DATE' && isTimestamp(to)) return `(${atom} * ${MS_PER_DAY})`;
  if (isTimestamp(from) && tk === 'DATE') return `Math.floor(${atom} / ${MS_PER_DAY})`;
  return undefined;
}
