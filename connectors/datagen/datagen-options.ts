/**
 * datagen's options (as Flink's datagen connector) and their resolution into per-column
 * generator specs, with the checks that need the table's columns and types.
 */
import type { TableDef } from '../../src/catalog/table.js';
import type { Field, SqlType } from '../../src/model/types.js';
import { formatType, isNumeric, isString } from '../../src/model/types.js';
import { parseDecimal, decFits } from '../../src/expr/decimal.js';
import { defineOptions, invalidOption, opt, optionError, validateOptions } from '../../src/connector/options.js';
import { physicalFields } from '../common/columns.js';
import { INT_RANGES, sequenceSupported, type FieldGenSpec } from './generators.js';

export const DATAGEN_OPTIONS = defineOptions('datagen', {
  'rows-per-second': opt.int('rows emitted per second across all subtasks (a throttle)', { min: 1 }).default(10000),
  'number-of-rows': opt.int('total number of rows; the source is unbounded when absent', { min: 0 }),
  seed: opt.int('seed of the random values: the same seed gives the same rows').default(0),
  'fields.#.kind': opt.enum(['random', 'sequence'], "generator of the column: 'random' (default) or 'sequence'"),
  'fields.#.min': opt.nonEmptyString('smallest random value of a numeric column'),
  'fields.#.max': opt.nonEmptyString('largest random value of a numeric column'),
  'fields.#.max-past': opt.duration('random DATE/TIME/TIMESTAMP values lie at most this far before the row time'),
  'fields.#.length': opt.int('length of random strings and bytes', { min: 0 }),
  'fields.#.start': opt.int('first value of a sequence'),
  'fields.#.end': opt.int('last value of a sequence (the source ends after it)'),
  'fields.#.null-rate': opt.number('fraction of NULL values of a random column', { min: 0, max: 1 }),
});

export interface DatagenConfig {
  readonly rowsPerSecond: number;
  readonly seed: number;
  /** Rows in total (global indexes 0 .. totalRows-1); Infinity when unbounded. */
  readonly totalRows: number;
  /** Generator spec per physical column, by column name. */
  readonly fields: ReadonlyMap<string, FieldGenSpec>;
}

const isTemporal = (t: SqlType): boolean => t.kind === 'DATE' || t.kind === 'TIME' || t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ';

/** Validates the options against the table and resolves every physical column's generator. */
export function resolveDatagenConfig(table: TableDef): DatagenConfig {
  const o = validateOptions(DATAGEN_OPTIONS, table);
  const physical = physicalFields(table);
  const byName = new Map(physical.map((f) => [f.name, f]));
  const fieldKeys = [
    'fields.#.kind',
    'fields.#.min',
    'fields.#.max',
    'fields.#.max-past',
    'fields.#.length',
    'fields.#.start',
    'fields.#.end',
    'fields.#.null-rate',
  ] as const;
  for (const pattern of fieldKeys) {
    for (const name of o[pattern].keys()) {
      if (!byName.has(name)) {
        const key = pattern.replace('#', name);
        throw optionError(
          table,
          key,
          'UNKNOWN_OPTION',
          `option '${key}' names no column of the table; its columns are: ${physical.map((f) => f.name).join(', ')}`,
        );
      }
    }
  }

  let totalRows = o['number-of-rows'] ?? Infinity;
  const fields = new Map<string, FieldGenSpec>();
  for (const f of physical) {
    const key = (suffix: string): string => `fields.${f.name}.${suffix}`;
    const kind = o['fields.#.kind'].get(f.name) ?? 'random';
    const notFor = (suffix: string, why: string): never => {
      throw optionError(table, key(suffix), 'INVALID_OPTION', `option '${key(suffix)}' does not apply to column '${f.name}' ${why}`);
    };
    if (kind === 'sequence') {
      if (!sequenceSupported(f.type)) {
        throw optionError(
          table,
          key('kind'),
          'INVALID_OPTION',
          `option '${key('kind')}': a sequence cannot generate column '${f.name}' of type ${formatType(f.type)}; use 'random'`,
        );
      }
      for (const s of ['min', 'max', 'max-past', 'length', 'null-rate'] as const) {
        if (o[`fields.#.${s}`].has(f.name)) notFor(s, "(its kind is 'sequence'; use 'start' and 'end')");
      }
      const start = o['fields.#.start'].get(f.name);
      const end = o['fields.#.end'].get(f.name);
      for (const [s, v] of [
        ['start', start],
        ['end', end],
      ] as const) {
        if (v === undefined) {
          throw optionError(table, key('kind'), 'MISSING_OPTION', `option '${key(s)}' is required when '${key('kind')}' is 'sequence'`);
        }
      }
      if (end! < start!) throw invalidOption(table, key('end'), `>= 'fields.${f.name}.start' (${start})`);
      checkSequenceRange(table, f, key('end'), end!);
      checkSequenceRange(table, f, key('start'), start!);
      totalRows = Math.min(totalRows, end! - start! + 1);
      fields.set(f.name, { kind: 'sequence', start: start!, end: end! });
      continue;
    }
    for (const s of ['start', 'end'] as const) if (o[`fields.#.${s}`].has(f.name)) notFor(s, "(its kind is 'random'; set 'kind' to 'sequence')");
    const minText = o['fields.#.min'].get(f.name);
    const maxText = o['fields.#.max'].get(f.name);
    if ((minText !== undefined || maxText !== undefined) && !isNumeric(f.type)) {
      notFor(minText !== undefined ? 'min' : 'max', `of type ${formatType(f.type)} (only numeric columns take 'min'/'max')`);
    }
    const length = o['fields.#.length'].get(f.name);
    if (length !== undefined && !isString(f.type) && f.type.kind !== 'BYTES')
      notFor('length', `of type ${formatType(f.type)} (only strings and bytes have a length)`);
    const maxPast = o['fields.#.max-past'].get(f.name);
    if (maxPast !== undefined && !isTemporal(f.type)) notFor('max-past', `of type ${formatType(f.type)} (only DATE, TIME and TIMESTAMP columns)`);
    const min = minText === undefined ? undefined : parseBound(table, f, key('min'), minText);
    const max = maxText === undefined ? undefined : parseBound(table, f, key('max'), maxText);
    if (min !== undefined && max !== undefined && min > max) throw invalidOption(table, key('max'), `>= 'fields.${f.name}.min' (${minText})`);
    fields.set(f.name, {
      kind: 'random',
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
      ...(length !== undefined ? { length } : {}),
      nullRate: o['fields.#.null-rate'].get(f.name) ?? 0,
      maxPast: maxPast ?? 0,
    });
  }
  return { rowsPerSecond: o['rows-per-second'], seed: o.seed, totalRows, fields };
}

function checkSequenceRange(table: TableDef, f: Field, key: string, v: number): void {
  const range = INT_RANGES[f.type.kind];
  if (range && (v < range[0] || v > range[1])) throw invalidOption(table, key, `within the range of ${formatType(f.type)} [${range[0]}, ${range[1]}]`);
  if (f.type.kind === 'DECIMAL' && !decFits(BigInt(v) * 10n ** BigInt(f.type.scale ?? 0), f.type.precision ?? 10)) {
    throw invalidOption(table, key, `within the range of ${formatType(f.type)}`);
  }
}

/** A min/max bound in the column's representation (number, or unscaled bigint for DECIMAL). */
function parseBound(table: TableDef, f: Field, key: string, text: string): number | bigint {
  const t = f.type;
  if (t.kind === 'DECIMAL') {
    const v = parseDecimal(text, t.scale ?? 0);
    if (v === undefined || !decFits(v, t.precision ?? 10)) throw invalidOption(table, key, `a number that fits ${formatType(t)}`);
    return v;
  }
  const n = Number(text.trim());
  const range = INT_RANGES[t.kind];
  if (range) {
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) throw invalidOption(table, key, `an integer within the range of ${formatType(t)}`);
    return n;
  }
  if (!Number.isFinite(n)) throw invalidOption(table, key, 'a number');
  return n;
}
