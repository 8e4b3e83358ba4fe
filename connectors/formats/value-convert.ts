/**
 * Converting values read as JSON or CSV (file records and messages alike) into weir's
 * representation (src/expr/types.ts). A converter is built once per column and throws a
 * ConvertError (a short reason, caught by the reader and turned into a MALFORMED_RECORD error or
 * a skipped record) on bad input.
 */
import type { SqlType } from '../../src/model/types.js';
import { formatType } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { decFits, parseDecimal } from '../../src/expr/decimal.js';
import { MS_PER_DAY, parseDate, parseTime, parseTimestamp } from '../../src/expr/datetime-util.js';

/** A value that does not fit its column; `message` is the reason shown to the user. */
export class ConvertError extends Error {}

export type JsonConverter = (v: unknown) => unknown;
export type TextConverter = (text: string) => unknown;

const INT_RE = /^\s*[+-]?\d+\s*$/;
const FLOAT_RE = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$|^\s*[+-]?(?:NaN|Infinity)\s*$/;
const ZONE_RE = /(?:Z|z|([+-])(\d{2}):?(\d{2}))$/;

const INT_BOUNDS: Partial<Record<SqlType['kind'], readonly [number, number]>> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
  BIGINT: [-(2 ** 63), 2 ** 63],
};

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function fail(v: unknown, t: SqlType): never {
  throw new ConvertError(`cannot convert ${show(v)} to ${formatType(t)}`);
}

/**
 * Epoch ms of '2024-01-01 10:00:00[.fff]', '2024-01-01T10:00:00[.fff]' with an optional 'Z' or
 * '+02:00' (an offset shifts the value to UTC), or undefined.
 */
export function parseTimestampText(text: string): number | undefined {
  const s = text.trim();
  const z = ZONE_RE.exec(s);
  if (z && s.length > 10 && (s[10] === 'T' || s[10] === ' ')) {
    const base = parseTimestamp(s.slice(0, z.index));
    if (base === undefined) return undefined;
    if (!z[1]) return base;
    const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    return z[1] === '+' ? base - offset : base + offset;
  }
  return parseTimestamp(s);
}

function intFromNumber(n: number, t: SqlType, raw: unknown): number {
  const [lo, hi] = INT_BOUNDS[t.kind]!;
  if (!Number.isInteger(n) || n < lo || n > hi) fail(raw, t);
  return n;
}

/** Text -> value for every type (used by CSV, and by JSON for values given as strings). */
export function textConverter(t: SqlType): TextConverter {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return (s) => {
        if (!INT_RE.test(s)) fail(s, t);
        return intFromNumber(Number(s), t, s);
      };
    case 'FLOAT':
    case 'DOUBLE':
      return (s) => {
        if (!FLOAT_RE.test(s)) fail(s, t);
        return t.kind === 'FLOAT' ? Math.fround(Number(s)) : Number(s);
      };
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      const precision = t.precision ?? 10;
      return (s) => {
        const v = parseDecimal(s, scale);
        if (v === undefined || !decFits(v, precision)) fail(s, t);
        return v;
      };
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (s) => s;
    case 'BOOLEAN':
      return (s) => {
        const l = s.trim().toLowerCase();
        if (l === 'true') return true;
        if (l === 'false') return false;
        return fail(s, t);
      };
    case 'DATE':
      return (s) => parseDate(s) ?? fail(s, t);
    case 'TIME':
      return (s) => parseTime(s) ?? fail(s, t);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return (s) => parseTimestampText(s) ?? fail(s, t);
    case 'BYTES':
      return (s) => {
        if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(s)) fail(s, t);
        return new Uint8Array(Buffer.from(s, 'base64'));
      };
    case 'NULL':
      return () => null;
    default:
      return unreachable(t.kind);
  }
}

/** A JSON value (from JSON.parse) -> value. Strings go through the text rules; null stays null. */
export function jsonConverter(t: SqlType): JsonConverter {
  const fromText = textConverter(t);
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return (v) => (v == null ? null : typeof v === 'number' ? intFromNumber(v, t, v) : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'FLOAT':
    case 'DOUBLE':
      return (v) => (v == null ? null : typeof v === 'number' ? (t.kind === 'FLOAT' ? Math.fround(v) : v) : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'DECIMAL':
      // JSON.parse has already rounded long numbers to doubles; String() gives the shortest
      // decimal text of that double, which is the written text for all but >17-digit numbers.
      return (v) => (v == null ? null : typeof v === 'number' ? fromText(String(v)) : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (v) => (v == null ? null : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
    case 'BOOLEAN':
      return (v) => (v == null ? null : typeof v === 'boolean' ? v : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'DATE':
      return (v) => (v == null ? null : typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'TIME':
      return (v) =>
        v == null ? null : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MS_PER_DAY ? v : typeof v === 'string' ? fromText(v) : fail(v, t);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return (v) => (v == null ? null : typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'BYTES':
      return (v) => (v == null ? null : typeof v === 'string' ? fromText(v) : fail(v, t));
    case 'NULL':
      return () => null;
    default:
      return unreachable(t.kind);
  }
}
