/**
 * Formats shared by connectors: Flink's `json`, `csv`, `raw` and the `debezium-json` changelog,
 * for message-queue payloads (Kafka, upsert-Kafka) and, json and csv, for file records. A decoder is compiled once per job for the
 * fields it must produce and then turns one message payload into row values; an encoder turns
 * one row of a batch into a payload. Both follow weir's value representation (src/expr/types.ts).
 */
import type { Field } from '../../src/model/types.js';
import { strictUtf8 } from '../common/utf8.js';
import { ConvertError } from './value-convert.js';

export { ConvertError };

export const FORMAT_NAMES = ['json', 'csv', 'raw', 'debezium-json'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** One field a format reads or writes. */
export interface FormatField {
  readonly field: Field;
  /** Position of the field in the message (CSV column, order of JSON keys when writing). */
  readonly position: number;
  /** Column of the output batch (decoding) or of the input batch (encoding). */
  readonly column: number;
}

/** Format options (Flink names without the format prefix: 'ignore-parse-errors', 'field-delimiter'). */
export interface FormatOptions {
  readonly ignoreParseErrors: boolean;
  readonly failOnMissingField: boolean;
  readonly csvDelimiter: string;
  readonly csvQuote: string | undefined;
  readonly csvNullLiteral: string | undefined;
}

export const DEFAULT_FORMAT_OPTIONS: FormatOptions = {
  ignoreParseErrors: false,
  failOnMissingField: false,
  csvDelimiter: ',',
  csvQuote: '"',
  csvNullLiteral: undefined,
};

/**
 * Decodes one payload into one row (json, csv, raw): sets the target columns of row `row`.
 * Throws ConvertError or SyntaxError on malformed input (the caller names topic/partition/offset).
 */
export interface RowDecoder {
  decode(payload: Buffer, cols: unknown[][], row: number): void;
}

/**
 * Decodes one record that is already text (the filesystem source's records, whose UTF-8 its
 * reader has checked and whose line ends it has cut): sets the target columns of row `row`.
 * The same decoding as RowDecoder.decode of the format; throws ConvertError or SyntaxError on
 * malformed input (the caller names file and line).
 */
export interface TextRowDecoder {
  decodeText(text: string, cols: unknown[][], row: number): void;
}

/** Where decoded changelog rows go: a kind per row and the row's column values. */
export interface RowAppender {
  /** Starts a row of `kind` and returns its index; the decoder then fills its columns. */
  startRow(kind: number): number;
  readonly cols: unknown[][];
}

/**
 * Decodes one payload into 0..2 changelog rows (debezium-json: an update is -U and +U).
 * A null payload (a tombstone) yields no rows.
 */
export interface ChangelogDecoder {
  decode(payload: Buffer, out: RowAppender): void;
}

/**
 * Encodes row `row` of a batch (columns `cols`); `kind` matters for changelog formats only.
 * null: the message has a null payload (raw format of a NULL value).
 */
export interface RowEncoder {
  encode(cols: readonly unknown[][], row: number, kind: number): Buffer | null;
}

/** True for formats whose messages carry a row kind. */
export function isChangelogFormat(f: FormatName): boolean {
  return f === 'debezium-json';
}

/** A short description of a payload for error messages. */
export function preview(payload: Buffer): string {
  const s = payload.toString('utf8', 0, Math.min(payload.length, 80));
  return JSON.stringify(payload.length > 80 ? `${s}...` : s);
}

/** ConvertError or SyntaxError (JSON.parse): the malformed-record errors a decoder throws. */
export function isParseError(e: unknown): e is Error {
  return e instanceof ConvertError || e instanceof SyntaxError;
}

/**
 * A payload's text: invalid UTF-8 is a malformed record (as Flink's JSON and CSV parsers treat it),
 * never silently turned into U+FFFD, so `*.ignore-parse-errors` decides whether it fails the job.
 */
export function payloadText(payload: Buffer, end = payload.length): string {
  const text = strictUtf8(payload, 0, end);
  if (typeof text === 'string') return text;
  throw new ConvertError(`invalid UTF-8 at byte offset ${text.invalidAt}`);
}
