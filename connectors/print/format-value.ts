/**
 * Renders values as Flink's print connector does (Java's Row.toString of the external types):
 * `+I[1, Alice, 12.50, 2024-01-01T10:00]`.
 */
import type { SqlType } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { decToString } from '../../src/expr/decimal.js';
import { MS_PER_DAY, formatDate } from '../../src/expr/datetime-util.js';

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** Java's Double.toString. */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [m, e] = x.toExponential().split('e');
  return `${m.includes('.') ? m : `${m}.0`}E${e.startsWith('+') ? e.slice(1) : e}`;
}

/** Java's Float.toString: the shortest decimal that reads back as the same float. */
export function javaFloat(x: number): string {
  if (!Number.isFinite(x) || x === 0) return javaDouble(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return javaDouble(Number(s));
  }
  return javaDouble(x);
}

/** Java's LocalTime.toString: HH:mm, then :ss and .SSS only when not zero. */
function javaTime(msOfDay: number): string {
  const h = Math.floor(msOfDay / 3_600_000);
  const mi = Math.floor(msOfDay / 60_000) % 60;
  const s = Math.floor(msOfDay / 1000) % 60;
  const ms = msOfDay % 1000;
  let out = `${pad2(h)}:${pad2(mi)}`;
  if (s !== 0 || ms !== 0) out += `:${pad2(s)}`;
  if (ms !== 0) out += `.${pad3(ms)}`;
  return out;
}

function splitMs(ms: number): [number, number] {
  const d = Math.floor(ms / MS_PER_DAY);
  return [d, ms - d * MS_PER_DAY];
}

export function formatValue(v: unknown, t: SqlType): string {
  if (v === null || v === undefined) return 'null';
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return String(v);
    case 'FLOAT':
      return javaFloat(v as number);
    case 'DOUBLE':
      return javaDouble(v as number);
    case 'DECIMAL':
      return decToString(v as bigint, t.scale ?? 0);
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return v as string;
    case 'BOOLEAN':
      return v ? 'true' : 'false';
    case 'DATE':
      return formatDate(v as number);
    case 'TIME':
      return javaTime(v as number);
    case 'TIMESTAMP': {
      const [d, tod] = splitMs(v as number);
      return `${formatDate(d)}T${javaTime(tod)}`;
    }
    case 'TIMESTAMP_LTZ': {
      const [d, tod] = splitMs(v as number);
      const ms = tod % 1000;
      const hms = `${pad2(Math.floor(tod / 3_600_000))}:${pad2(Math.floor(tod / 60_000) % 60)}:${pad2(Math.floor(tod / 1000) % 60)}`;
      return `${formatDate(d)}T${hms}${ms !== 0 ? `.${pad3(ms)}` : ''}Z`;
    }
    case 'BYTES':
      return `[${Array.from(v as Uint8Array, (b) => (b > 127 ? b - 256 : b)).join(', ')}]`;
    case 'NULL':
      return 'null';
    default:
      return unreachable(t.kind);
  }
}
