/**
 * Builds decoders and encoders by format name. `fieldCount` is the number of fields the format
 * covers in a message (CSV needs it to check records; raw needs exactly one).
 */
import { unreachable } from '../../src/errors.js';
import type { ChangelogDecoder, FormatField, FormatName, FormatOptions, RowDecoder, RowEncoder, TextRowDecoder } from './format.js';
import { jsonDecoder, jsonEncoder } from './json-format.js';
import { csvDecoder, csvEncoder } from './csv-format.js';
import { rawDecoder, rawEncoder } from './raw-format.js';
import { debeziumJsonDecoder, debeziumJsonEncoder } from './debezium-json-format.js';

export * from './format.js';
export { checkRawFields } from './raw-format.js';
export { csvRecordEnd } from './csv-record.js';

/** A decoder for a row format (not debezium-json: see changelogDecoder). */
export function rowDecoder(format: Exclude<FormatName, 'debezium-json'>, fields: readonly FormatField[], fieldCount: number, opts: FormatOptions): RowDecoder {
  switch (format) {
    case 'json':
      return jsonDecoder(fields, opts);
    case 'csv':
      return csvDecoder(fields, fieldCount, opts);
    case 'raw':
      return rawDecoder(fields);
    default:
      return unreachable(format);
  }
}

/** The decoder of a text record format (file records: JSON lines, CSV), the same as rowDecoder's. */
export function textRowDecoder(format: 'json' | 'csv', fields: readonly FormatField[], fieldCount: number, opts: FormatOptions): TextRowDecoder {
  switch (format) {
    case 'json':
      return jsonDecoder(fields, opts);
    case 'csv':
      return csvDecoder(fields, fieldCount, opts);
    default:
      return unreachable(format);
  }
}

/** The decoder of the changelog format (debezium-json). */
export function changelogDecoder(fields: readonly FormatField[], opts: FormatOptions): ChangelogDecoder {
  return debeziumJsonDecoder(fields, opts);
}

export function rowEncoder(format: FormatName, fields: readonly FormatField[], opts: FormatOptions): RowEncoder {
  switch (format) {
    case 'json':
      return jsonEncoder(fields);
    case 'csv':
      return csvEncoder(fields, opts);
    case 'raw':
      return rawEncoder(fields);
    case 'debezium-json':
      return debeziumJsonEncoder(fields);
    default:
      return unreachable(format);
  }
}
