/**
 * weir values <-> PostgreSQL text: the column type a weir type maps to, per-type text encoders
 * (for COPY text format, see copy-writer.ts, and for array-literal parameters), and the parser of PostgreSQL's text
 * output back into weir's representation (src/expr/types.ts), used by preview and tests.
 *
 * Encoders are built once per column (one closure per type, so each call site stays
 * monomorphic) and never go through Date objects: dates are computed with integer arithmetic.
 */
import type { SqlType } from '../../src/model/types.js';
import { internalError, unreachable } from '../../src/errors.js';

/** Double-quotes an identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Single-quotes a literal (for gids in COMMIT PREPARED, which takes no parameters). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** PostgreSQL's largest varchar length; longer declared lengths become text. */
const MAX_VARCHAR = 10_485_760;

/** The PostgreSQL column type of a weir type (for sink.create-table). */
export function pgType(t: SqlType): string {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
      return 'smallint';
    case 'INT':
      return 'integer';
    case 'BIGINT':
      return 'bigint';
    case 'FLOAT':
      return 'real';
    case 'DOUBLE':
      return 'double precision';
    case 'DECIMAL':
      return `numeric(${t.precision ?? 10}, ${t.scale ?? 0})`;
    case 'CHAR':
      return t.precision !== undefined && t.precision <= MAX_VARCHAR ? `char(${t.precision})` : 'text';
    case 'VARCHAR':
      return t.precision !== undefined && t.precision <= MAX_VARCHAR ? `varchar(${t.precision})` : 'text';
    case 'STRING':
    case 'NULL':
      return 'text';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE':
      return 'date';
    // Without a declared precision: PostgreSQL's default (microseconds), which keeps weir's ms.
    case 'TIME':
      return t.precision === undefined ? 'time' : `time(${Math.min(t.precision, 6)})`;
    case 'TIMESTAMP':
      return t.precision === undefined ? 'timestamp' : `timestamp(${Math.min(t.precision, 6)})`;
    case 'TIMESTAMP_LTZ':
      return t.precision === undefined ? 'timestamptz' : `timestamptz(${Math.min(t.precision, 6)})`;
    case 'BYTES':
      return 'bytea';
    default:
      return unreachable(t.kind);
  }
}

// ---------------------------------------------------------------- dates without Date objects

const MS_PER_DAY = 86_400_000;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD` (with ` BC` for years <= 0) of days since 1970-01-01 (Hinnant's civil_from_days). */
export function formatDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y >= 1000) return `${y}-${pad2(m)}-${pad2(d)}`;
  if (y >= 1) return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
  return `${String(1 - y).padStart(4, '0')}-${pad2(m)}-${pad2(d)} BC`;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** `HH:MM:SS.mmm` of milliseconds since midnight. */
export function formatTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}.${pad3(ms - s * 1000)}`;
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (BC after the time) of epoch milliseconds. */
export function formatTimestamp(ms: number): string {
  const days = Math.floor(ms / MS_PER_DAY);
  const date = formatDate(days);
  const time = formatTime(ms - days * MS_PER_DAY);
  return date.endsWith(' BC') ? `${date.slice(0, -3)} ${time} BC` : `${date} ${time}`;
}

/** `-123.45` of an unscaled DECIMAL value. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  if (scale <= 0) return unscaled.toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const cut = digits.length - scale;
  return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

// ---------------------------------------------------------------- encoders

/**
 * Text of one non-null value of a column, in PostgreSQL's input syntax. `quoted` tells whether
 * it may contain characters that COPY text format or array literals must escape.
 */
export interface ColumnEncoder {
  readonly text: (v: unknown) => string;
  readonly quoted: boolean;
}

const num = (v: unknown): string => {
  const n = v as number;
  return Number.isFinite(n) ? String(n) : Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
};

export function columnEncoder(t: SqlType): ColumnEncoder {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
      return { text: num, quoted: false };
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      return { text: (v) => formatDecimal(v as bigint, scale), quoted: false };
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
    case 'NULL':
      return { text: (v) => (typeof v === 'string' ? v : String(v)), quoted: true };
    case 'BOOLEAN':
      return { text: (v) => (v ? 't' : 'f'), quoted: false };
    case 'DATE':
      return { text: (v) => formatDate(v as number), quoted: true };
    case 'TIME':
      return { text: (v) => formatTime(v as number), quoted: false };
    case 'TIMESTAMP':
      return { text: (v) => formatTimestamp(v as number), quoted: true };
    case 'TIMESTAMP_LTZ':
      // An instant: written with an explicit UTC offset (ignored by a timestamp column).
      return { text: (v) => `${formatTimestamp(v as number)}+00`, quoted: true };
    case 'BYTES':
      return { text: (v) => `\\x${hexOf(v as Uint8Array)}`, quoted: true };
    default:
      return unreachable(t.kind);
  }
}

/** One element of an array literal: `NULL`, a bare number, or a double-quoted string. */
export function arrayElement(text: string, quoted: boolean): string {
  if (!quoted) return text;
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

// ---------------------------------------------------------------- PostgreSQL text -> weir

const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/;
const TS_RE = /^(\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

const fracMs = (f: string | undefined): number => (f === undefined ? 0 : Math.floor(Number(`0.${f}`) * 1000 + 1e-6));

/** Epoch ms of PostgreSQL's date / timestamp / timestamptz output; undefined when not one. */
function parseTimestampText(text: string): number | undefined {
  const m = TS_RE.exec(text);
  if (!m) return undefined;
  let y = Number(m[1]);
  if (m[12]) y = 1 - y;
  const days = daysFromCivil(y, Number(m[2]), Number(m[3]));
  let ms = days * MS_PER_DAY;
  if (m[4] !== undefined) ms += (Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6])) * 1000 + fracMs(m[7]);
  if (m[8] !== undefined) {
    const off = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
    ms -= m[8] === '-' ? -off : off;
  }
  return ms;
}

function parseDecimalText(text: string, scale: number): bigint | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return undefined;
  const frac = (m[3] ?? '').padEnd(scale, '0');
  const v = BigInt(`${m[2] || '0'}${frac.slice(0, scale)}`);
  return m[1] === '-' ? -v : v;
}

/** A value in PostgreSQL's text output format, as weir represents values of type `t`. */
export function parsePgText(text: string | null, t: SqlType): unknown {
  if (text === null) return null;
  let out: unknown;
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
      out = Number(text);
      break;
    case 'DECIMAL':
      out = parseDecimalText(text, t.scale ?? 0);
      break;
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
    case 'NULL':
      return text;
    case 'BOOLEAN':
      return text === 't' || text === 'true';
    case 'DATE': {
      const ms = parseTimestampText(text);
      out = ms === undefined ? undefined : ms / MS_PER_DAY;
      break;
    }
    case 'TIME': {
      const m = TIME_RE.exec(text);
      out = m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + fracMs(m[4]) : undefined;
      break;
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      out = parseTimestampText(text);
      break;
    case 'BYTES': {
      if (!text.startsWith('\\x')) break;
      const bytes = new Uint8Array((text.length - 2) / 2);
      for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(2 + i * 2, 2), 16);
      return bytes;
    }
    default:
      return unreachable(t.kind);
  }
  if (out === undefined || (typeof out === 'number' && Number.isNaN(out) && text !== 'NaN')) {
    throw internalError(`cannot read PostgreSQL value '${text}' as ${t.kind}`);
  }
  return out;
}
