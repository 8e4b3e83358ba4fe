/**
 * PostgreSQL's text output (what pgoutput sends and what the snapshot reads with every value
 * cast to text) converted to weir's values (src/expr/types.ts). Sessions run with TimeZone UTC and
 * DateStyle ISO, so timestamptz text ends in '+00'. One converter per column, built once.
 */
import type { Field } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { daysFromCivil, MS_PER_DAY, parseDate, parseTime } from '../../src/expr/datetime-util.js';
import { parseDecimal } from '../../src/expr/decimal.js';

export type TextConverter = (text: string) => unknown;

export class ValueError extends Error {}

const TS_RE = /^(-?\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?( BC)?$/;

function parseTs(text: string, withZone: boolean): number {
  if (text === 'infinity' || text === '-infinity') throw new ValueError(`${text} has no weir TIMESTAMP value`);
  const m = TS_RE.exec(text);
  if (!m || m[12] !== undefined) throw new ValueError(`unsupported timestamp '${text}'`);
  let ms = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) * MS_PER_DAY + Number(m[4]) * 3_600_000 + Number(m[5]) * 60_000 + Number(m[6]) * 1000;
  if (m[7]) ms += Math.floor(Number(`${m[7]}00`.slice(0, 3)));
  if (withZone && m[8]) {
    const off = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
    ms += m[8] === '+' ? -off : off;
  }
  return ms;
}

function bytesOf(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new ValueError('bytea is not in hex output format');
  return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
}

/** The converter from PostgreSQL text to a value of `field`'s type. Throws ValueError. */
export function textConverter(field: Field): TextConverter {
  const t = field.type;
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return (s) => {
        const n = Number(s);
        if (!Number.isSafeInteger(n)) throw new ValueError(`'${s}' is not an integer within ±2^53`);
        return n;
      };
    case 'FLOAT':
    case 'DOUBLE':
      return (s) => Number(s);
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      return (s) => {
        if (s === 'NaN' || s.endsWith('Infinity')) throw new ValueError(`numeric '${s}' has no DECIMAL value`);
        const v = parseDecimal(s, scale);
        if (v === undefined) throw new ValueError(`'${s}' is not a number`);
        return v;
      };
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (s) => s;
    case 'BOOLEAN':
      return (s) => s === 't' || s === 'true';
    case 'DATE':
      return (s) => {
        const d = parseDate(s);
        if (d === undefined) throw new ValueError(`unsupported date '${s}'`);
        return d;
      };
    case 'TIME':
      return (s) => {
        const v = parseTime(s.length > 12 ? s.slice(0, 12) : s);
        if (v === undefined) throw new ValueError(`unsupported time '${s}'`);
        return v;
      };
    case 'TIMESTAMP':
      return (s) => parseTs(s, false);
    case 'TIMESTAMP_LTZ':
      return (s) => parseTs(s, true);
    case 'BYTES':
      return bytesOf;
    case 'NULL':
      return () => null;
    default:
      return unreachable(t.kind);
  }
}

/** The PostgreSQL types each weir type reads (for the relation check; informative). */
export const PG_TYPES_FOR: Readonly<Record<string, readonly string[]>> = {
  SMALLINT: ['int2'],
  INT: ['int2', 'int4'],
  BIGINT: ['int2', 'int4', 'int8'],
  DECIMAL: ['numeric', 'int2', 'int4', 'int8'],
  FLOAT: ['float4'],
  DOUBLE: ['float4', 'float8'],
  BOOLEAN: ['bool'],
  DATE: ['date'],
  TIME: ['time'],
  TIMESTAMP: ['timestamp'],
  TIMESTAMP_LTZ: ['timestamptz'],
  BYTES: ['bytea'],
};
