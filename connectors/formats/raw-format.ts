/**
 * Flink's `raw` format: the whole payload is one column, STRING (UTF-8) or BYTES.
 */
import { formatType } from '../../src/model/types.js';
import { userError } from '../../src/errors.js';
import { payloadText, type FormatField, type RowDecoder, type RowEncoder } from './format.js';

/** `fieldCount`: the format must cover exactly one column of type STRING/VARCHAR/CHAR or BYTES. */
export function checkRawFields(fields: readonly FormatField[], fieldCount: number, table: string): void {
  const bad = fields.find((f) => !['STRING', 'VARCHAR', 'CHAR', 'BYTES'].includes(f.field.type.kind));
  if (fieldCount !== 1 || bad) {
    throw userError(
      'INVALID_FORMAT',
      `table '${table}': format 'raw' reads and writes exactly one column of type STRING or BYTES` +
        (bad ? `; column '${bad.field.name}' is ${formatType(bad.field.type)}` : `; it covers ${fieldCount} columns`),
      { details: { table } },
    );
  }
}

export function rawDecoder(fields: readonly FormatField[]): RowDecoder {
  const f = fields[0];
  if (f === undefined) return { decode() {} };
  const bytes = f.field.type.kind === 'BYTES';
  const column = f.column;
  return {
    decode(payload, cols, row) {
      cols[column][row] = bytes ? new Uint8Array(payload) : payloadText(payload);
    },
  };
}

export function rawEncoder(fields: readonly FormatField[]): RowEncoder {
  const f = fields[0];
  const column = f.column;
  return {
    encode(cols, row) {
      const v = cols[column][row];
      if (v === null || v === undefined) return null;
      return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
    },
  };
}
