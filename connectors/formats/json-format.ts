/**
 * Flink's `json` format: one JSON object per message, fields by name. Reading accepts values as
 * JSON numbers/booleans or as strings in SQL text form; timestamps as 'yyyy-MM-dd HH:mm:ss[.SSS]'
 * (also with 'T' and a zone). Writing uses Flink's SQL standard: TIMESTAMP 'yyyy-MM-dd HH:mm:ss.SSS',
 * TIMESTAMP_LTZ with a trailing 'Z', DATE 'yyyy-MM-dd', DECIMAL as a plain JSON number, BYTES base64.
 */
import type { SqlType } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { decToString } from '../../src/expr/decimal.js';
import { formatDate, formatTime, formatTimestamp } from '../../src/expr/datetime-util.js';
import { ConvertError, jsonConverter, type JsonConverter } from './value-convert.js';
import { payloadText, type FormatField, type FormatOptions, type RowDecoder, type RowEncoder, type TextRowDecoder } from './format.js';

/** Fills the target columns of row `row` from a parsed JSON object. */
export type ObjectDecoder = (obj: unknown, cols: unknown[][], row: number) => void;

export function jsonObjectDecoder(fields: readonly FormatField[], opts: Pick<FormatOptions, 'failOnMissingField'>): ObjectDecoder {
  const names = fields.map((f) => f.field.name);
  const columns = fields.map((f) => f.column);
  const convs: JsonConverter[] = fields.map((f) => jsonConverter(f.field.type));
  const n = fields.length;
  const failOnMissing = opts.failOnMissingField;
  return (obj, cols, row) => {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ConvertError('expected a JSON object');
    const rec = obj as Record<string, unknown>;
    for (let i = 0; i < n; i++) {
      const v = rec[names[i]];
      if (v === undefined && failOnMissing && !Object.hasOwn(rec, names[i])) throw new ConvertError(`field '${names[i]}' is missing`);
      try {
        cols[columns[i]][row] = convs[i](v);
      } catch (e) {
        if (e instanceof ConvertError) throw new ConvertError(`field '${names[i]}': ${e.message}`);
        throw e;
      }
    }
  };
}

export function jsonDecoder(fields: readonly FormatField[], opts: FormatOptions): RowDecoder & TextRowDecoder {
  const fill = jsonObjectDecoder(fields, opts);
  return {
    decode(payload, cols, row) {
      fill(JSON.parse(payloadText(payload)), cols, row);
    },
    decodeText(text, cols, row) {
      fill(JSON.parse(text), cols, row);
    },
  };
}

/** Renders one value as JSON text. */
export type ValueWriter = (v: unknown) => string;

export function jsonValueWriter(t: SqlType): ValueWriter {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return (v) => String(v);
    case 'FLOAT':
    case 'DOUBLE':
      // JSON has no NaN/Infinity; Flink writes them as strings.
      return (v) => (Number.isFinite(v as number) ? String(v) : `"${String(v)}"`);
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      return (v) => decToString(v as bigint, scale);
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (v) => JSON.stringify(v);
    case 'BOOLEAN':
      return (v) => (v ? 'true' : 'false');
    case 'DATE':
      return (v) => `"${formatDate(v as number)}"`;
    case 'TIME':
      return (v) => `"${formatTime(v as number, t.precision ?? 0)}"`;
    case 'TIMESTAMP': {
      const p = t.precision ?? 3;
      return (v) => `"${formatTimestamp(v as number, p)}"`;
    }
    case 'TIMESTAMP_LTZ': {
      const p = t.precision ?? 3;
      return (v) => `"${formatTimestamp(v as number, p)}Z"`;
    }
    case 'BYTES':
      return (v) => `"${Buffer.from(v as Uint8Array).toString('base64')}"`;
    case 'NULL':
      return () => 'null';
    default:
      return unreachable(t.kind);
  }
}

/** JSON object text of row `row`: `{"a":1,"b":"x"}` with the fields in `fields` order. */
export type ObjectWriter = (cols: readonly unknown[][], row: number) => string;

export function jsonObjectWriter(fields: readonly FormatField[]): ObjectWriter {
  const ordered = [...fields].sort((a, b) => a.position - b.position);
  const prefixes = ordered.map((f, i) => `${i === 0 ? '{' : ','}${JSON.stringify(f.field.name)}:`);
  const writers = ordered.map((f) => jsonValueWriter(f.field.type));
  const columns = ordered.map((f) => f.column);
  const n = ordered.length;
  return (cols, row) => {
    if (n === 0) return '{}';
    let s = '';
    for (let i = 0; i < n; i++) {
      const v = cols[columns[i]][row];
      s += prefixes[i] + (v === null || v === undefined ? 'null' : writers[i](v));
    }
    return `${s}}`;
  };
}

export function jsonEncoder(fields: readonly FormatField[]): RowEncoder {
  const write = jsonObjectWriter(fields);
  return {
    encode(cols, row) {
      return Buffer.from(write(cols, row), 'utf8');
    },
  };
}
