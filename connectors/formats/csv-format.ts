/**
 * Flink's `csv` format: one record per message (a trailing line end is ignored) or per file
 * record, fields in declaration order. An empty unquoted field is NULL and "" the empty string,
 * as the filesystem connector reads and writes them.
 */
import type { SqlType } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { decToString } from '../../src/expr/decimal.js';
import { formatDate, formatTime, formatTimestamp } from '../../src/expr/datetime-util.js';
import { parseCsvRecord } from './csv-record.js';
import { ConvertError, textConverter, type TextConverter } from './value-convert.js';
import { payloadText, type FormatField, type FormatOptions, type RowDecoder, type RowEncoder, type TextRowDecoder } from './format.js';

const isStringType = (t: SqlType): boolean => t.kind === 'STRING' || t.kind === 'VARCHAR' || t.kind === 'CHAR';

/** `fieldCount`: fields per record (every field the format covers, whatever the projection). */
export function csvDecoder(fields: readonly FormatField[], fieldCount: number, opts: FormatOptions): RowDecoder & TextRowDecoder {
  const convs: TextConverter[] = fields.map((f) => textConverter(f.field.type));
  const isStr = fields.map((f) => isStringType(f.field.type));
  const parts: (string | null)[] = [];
  const { csvDelimiter: delimiter, csvQuote: quote, csvNullLiteral: nullLiteral } = opts;
  const decodeText = (text: string, cols: unknown[][], row: number): void => {
    const values = parseCsvRecord(text, delimiter, quote, parts);
    if (values.length !== fieldCount) throw new ConvertError(`expected ${fieldCount} fields, got ${values.length}`);
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const s = values[f.position];
      if (s === null || s === nullLiteral || (s === '' && !isStr[i])) {
        cols[f.column][row] = null;
        continue;
      }
      try {
        cols[f.column][row] = convs[i](s);
      } catch (e) {
        if (e instanceof ConvertError) throw new ConvertError(`field '${f.field.name}' (column ${f.position + 1}): ${e.message}`);
        throw e;
      }
    }
  };
  return {
    decode(payload, cols, row) {
      let end = payload.length;
      if (end > 0 && payload[end - 1] === 0x0a) end--;
      if (end > 0 && payload[end - 1] === 0x0d) end--;
      decodeText(payloadText(payload, end), cols, row);
    },
    decodeText,
  };
}

function textWriter(t: SqlType): (v: unknown) => string {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (v) => String(v);
    case 'BOOLEAN':
      return (v) => (v ? 'true' : 'false');
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      return (v) => decToString(v as bigint, scale);
    }
    case 'DATE':
      return (v) => formatDate(v as number);
    case 'TIME':
      return (v) => formatTime(v as number, t.precision ?? 0);
    case 'TIMESTAMP':
      return (v) => formatTimestamp(v as number, t.precision ?? 3);
    case 'TIMESTAMP_LTZ':
      return (v) => `${formatTimestamp(v as number, t.precision ?? 3)}Z`;
    case 'BYTES':
      return (v) => Buffer.from(v as Uint8Array).toString('base64');
    case 'NULL':
      return () => '';
    default:
      return unreachable(t.kind);
  }
}

export function csvEncoder(fields: readonly FormatField[], opts: FormatOptions): RowEncoder {
  const ordered = [...fields].sort((a, b) => a.position - b.position);
  const writers = ordered.map((f) => textWriter(f.field.type));
  const { csvDelimiter: delimiter, csvQuote: quote, csvNullLiteral: nullLiteral } = opts;
  const needsQuote = (s: string): boolean =>
    s === '' || s.includes(delimiter) || s.includes('\n') || s.includes('\r') || (quote !== undefined && s.includes(quote)) || s === nullLiteral;
  return {
    encode(cols, row) {
      let out = '';
      for (let i = 0; i < ordered.length; i++) {
        if (i > 0) out += delimiter;
        const v = cols[ordered[i].column][row];
        if (v === null || v === undefined) {
          out += nullLiteral ?? '';
          continue;
        }
        const s = writers[i](v);
        out += quote !== undefined && needsQuote(s) ? quote + s.split(quote).join(quote + quote) + quote : s;
      }
      return Buffer.from(out, 'utf8');
    },
  };
}
