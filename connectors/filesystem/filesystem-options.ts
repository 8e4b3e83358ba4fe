/**
 * Options of 'connector' = 'filesystem' (as Flink's filesystem connector with the json and csv
 * formats), shared by the source and the sink.
 */
import { resolve } from 'node:path';
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, opt, optionError, validateOptions } from '../../src/connector/options.js';

export const FILESYSTEM_OPTIONS = defineOptions('filesystem', {
  path: opt.nonEmptyString('a file or a folder (the source reads every non-hidden file in it; the sink writes part files into it)').required(),
  format: opt.enum(['json', 'csv', 'parquet'], 'file format: json (one object per line), csv, or parquet (sink only)').required(),
  'json.ignore-parse-errors': opt.bool('skip malformed lines instead of failing').default(false),
  'json.fail-on-missing-field': opt.bool('fail when a column is missing from a JSON object').default(false),
  'csv.field-delimiter': opt.char('field delimiter').default(','),
  'csv.quote-character': opt.char('quote character').default('"'),
  'csv.disable-quote-character': opt.bool('treat quotes as ordinary characters').default(false),
  'csv.allow-comments': opt.bool("skip lines starting with '#'").default(false),
  'csv.ignore-parse-errors': opt.bool('skip malformed lines instead of failing').default(false),
  'csv.null-literal': opt.string('text read as NULL (an empty unquoted field is always NULL; "" is the empty string)'),
  'sink.rolling-policy.file-size': opt.memorySize('largest part file the sink writes; a checkpoint may produce several'),
});

export type FileFormat = 'json' | 'csv' | 'parquet';

export interface FilesystemConfig {
  /** Absolute. */
  readonly path: string;
  readonly format: FileFormat;
  readonly ignoreParseErrors: boolean;
  readonly failOnMissingField: boolean;
  readonly csv: {
    readonly delimiter: string;
    readonly quote: string | undefined;
    readonly allowComments: boolean;
    readonly nullLiteral: string | undefined;
  };
  readonly rollingFileSize: number | undefined;
}

export function resolveFilesystemConfig(table: TableDef): FilesystemConfig {
  const o = validateOptions(FILESYSTEM_OPTIONS, table);
  for (const key of Object.keys(table.options)) {
    const prefix = key.split('.')[0];
    if ((prefix === 'json' || prefix === 'csv') && prefix !== o.format) {
      throw optionError(table, key, 'INVALID_OPTION', `option '${key}' applies to format '${prefix}', but 'format' is '${o.format}'`);
    }
  }
  const format = o.format;
  return {
    path: resolve(o.path),
    format,
    ignoreParseErrors: format === 'json' ? o['json.ignore-parse-errors'] : o['csv.ignore-parse-errors'],
    failOnMissingField: o['json.fail-on-missing-field'],
    csv: {
      delimiter: o['csv.field-delimiter'],
      quote: o['csv.disable-quote-character'] ? undefined : o['csv.quote-character'],
      allowComments: o['csv.allow-comments'],
      nullLiteral: o['csv.null-literal'],
    },
    rollingFileSize: o['sink.rolling-policy.file-size'],
  };
}
