/**
 * Date/time functions. Formats are Java patterns ('yyyy-MM-dd HH:mm:ss'), as in Flink. The
 * session time zone is UTC (see datetime-util.ts). Parsing functions (TO_TIMESTAMP, TO_DATE,
 * UNIX_TIMESTAMP with a string) return NULL for text that does not match, as Flink does.
 * EXTRACT and TIMESTAMPADD/TIMESTAMPDIFF take their unit as a string literal first argument
 * (the binder turns `EXTRACT(YEAR FROM x)` / `TIMESTAMPADD(DAY, ...)` unit keywords into one).
 */
import { type SqlType, type, isString, withNullable } from '../../model/types.js';
import { isTimestamp } from '../type-rules.js';
import {
  MS_PER_DAY,
  addMonthsToMs,
  civil,
  daysFromCivil,
  daysOfMs,
  parseDate,
  parseTimestamp,
  patternFormatter,
  patternParser,
  weekday,
} from '../datetime-util.js';
import {
  type InferContext,
  type ScalarFunction,
  BIGINT,
  INT,
  STRING,
  anyNullable,
  constString,
  expectArg,
  intArg,
  register,
  alias,
  strArg,
} from './registry.js';

const DEFAULT_TS_FORMAT = 'yyyy-MM-dd HH:mm:ss';

/** ISO-8601 week of year (weeks start on Monday; week 1 holds January 4th). */
export function isoWeek(days: number): number {
  const wd = (weekday(days) + 6) % 7; // Monday = 0
  const thursday = days - wd + 3;
  const y = civil(thursday)[0];
  return Math.floor((thursday - daysFromCivil(y, 1, 1)) / 7) + 1;
}

export const EXTRACT_UNITS = [
  'MILLENNIUM',
  'CENTURY',
  'DECADE',
  'YEAR',
  'QUARTER',
  'MONTH',
  'WEEK',
  'DAY',
  'DOW',
  'DOY',
  'HOUR',
  'MINUTE',
  'SECOND',
  'MILLISECOND',
  'MICROSECOND',
  'EPOCH',
  'DAYOFWEEK',
  'DAYOFYEAR',
  'DAYOFMONTH',
] as const;

/** A field of a timestamp in epoch ms (a DATE is passed as its midnight). */
export function extractField(unit: string, ms: number): number {
  const days = daysOfMs(ms);
  const tod = ms - days * MS_PER_DAY;
  switch (unit) {
    case 'MILLENNIUM':
      return Math.floor((civil(days)[0] - 1) / 1000) + 1;
    case 'CENTURY':
      return Math.floor((civil(days)[0] - 1) / 100) + 1;
    case 'DECADE':
      return Math.floor(civil(days)[0] / 10);
    case 'YEAR':
      return civil(days)[0];
    case 'QUARTER':
      return Math.floor((civil(days)[1] - 1) / 3) + 1;
    case 'MONTH':
      return civil(days)[1];
    case 'WEEK':
      return isoWeek(days);
    case 'DAY':
    case 'DAYOFMONTH':
      return civil(days)[2];
    case 'DOW':
    case 'DAYOFWEEK':
      return weekday(days) + 1;
    case 'DOY':
    case 'DAYOFYEAR':
      return days - daysFromCivil(civil(days)[0], 1, 1) + 1;
    case 'HOUR':
      return Math.floor(tod / 3_600_000);
    case 'MINUTE':
      return Math.floor(tod / 60_000) % 60;
    case 'SECOND':
      return Math.floor(tod / 1000) % 60;
    case 'MILLISECOND':
      return tod % 60_000;
    case 'MICROSECOND':
      return (tod % 60_000) * 1000;
    case 'EPOCH':
      return Math.floor(ms / 1000);
    default:
      throw new RangeError(`unknown unit ${unit}`);
  }
}

/** JS source turning a non-null DATE/TIME/TIMESTAMP atom into epoch ms. */
const toMs = (atom: string, t: SqlType): string => (t.kind === 'DATE' ? `(${atom} * ${MS_PER_DAY})` : atom);

const temporalArg = (ctx: InferContext, i: number, allowTime: boolean): SqlType => {
  const t = ctx.types[i];
  if (t.kind === 'NULL') return type('TIMESTAMP', true, 3);
  if (t.kind === 'DATE' || isTimestamp(t) || (allowTime && t.kind === 'TIME')) return t;
  return ctx.argError(i, allowTime ? 'DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ' : 'DATE, TIMESTAMP or TIMESTAMP_LTZ');
};

function unitArg(ctx: InferContext, allowed: readonly string[]): string {
  const u = constString(ctx, 0)?.toUpperCase();
  if (u === undefined || !allowed.includes(u)) ctx.fail(`invalid time unit ${u ?? '(not a literal)'} for ${ctx.name}: expected one of ${allowed.join(', ')}`);
  return u;
}

const EXTRACT: ScalarFunction = {
  name: 'EXTRACT',
  minArgs: 2,
  maxArgs: 2,
  nulls: 'strict',
  infer(ctx) {
    const unit = unitArg(ctx, EXTRACT_UNITS);
    const t = temporalArg(ctx, 1, true);
    if (t.kind === 'DATE' && ['HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND'].includes(unit)) ctx.fail(`cannot extract ${unit} from a DATE`);
    if (t.kind === 'TIME' && !['HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND'].includes(unit)) ctx.fail(`cannot extract ${unit} from a TIME`);
    return { args: [ctx.types[0], t], result: BIGINT(anyNullable(ctx.types)) };
  },
  gen(g) {
    const unit = constString(g, 0)!.toUpperCase();
    return `${g.konst(extractField)}(${JSON.stringify(unit)}, ${toMs(g.a[1], g.call.args[1].type)})`;
  },
};

/** YEAR(x), MONTH(x), ... as EXTRACT(unit FROM x). */
function field(name: string, unit: string, allowTime: boolean): ScalarFunction {
  return {
    name,
    minArgs: 1,
    maxArgs: 1,
    nulls: 'strict',
    infer: (ctx) => ({ args: [temporalArg(ctx, 0, allowTime)], result: BIGINT(anyNullable(ctx.types)) }),
    gen: (g) => `${g.konst(extractField)}(${JSON.stringify(unit)}, ${toMs(g.a[0], g.call.args[0].type)})`,
  };
}

/** DATE_FORMAT(timestamp | string, format): a string first argument is parsed as a timestamp. */
const DATE_FORMAT: ScalarFunction = {
  name: 'DATE_FORMAT',
  minArgs: 2,
  maxArgs: 2,
  nulls: 'strict',
  infer(ctx) {
    const t = ctx.types[0];
    const first = isString(t) ? t : temporalArg(ctx, 0, false);
    return { args: [first, strArg(ctx, 1)], result: STRING(anyNullable(ctx.types) || isString(t)) };
  },
  gen(g) {
    const t = g.call.args[0].type;
    const fmt = constString(g, 1);
    const f = fmt !== undefined ? g.konst(patternFormatter(fmt)) : `${g.konst(patternFormatter)}(${g.a[1]})`;
    if (isString(t)) {
      const ms = g.temp();
      g.emit(`${ms} = ${g.konst(parseTimestamp)}(${g.a[0]});`);
      return `(${ms} === undefined ? null : ${f}(${ms}))`;
    }
    return `${f}(${toMs(g.a[0], t)})`;
  },
};

function parseWith(g: { konst(v: unknown): string; a: readonly string[] }, fmt: string | undefined, dflt: (s: string) => number | undefined): string {
  if (g.a.length < 2) return `${g.konst(dflt)}(${g.a[0]})`;
  if (fmt !== undefined) return `${g.konst(patternParser(fmt))}(${g.a[0]})`;
  return `${g.konst(patternParser)}(${g.a[1]})(${g.a[0]})`;
}

const TO_TIMESTAMP: ScalarFunction = {
  name: 'TO_TIMESTAMP',
  minArgs: 1,
  maxArgs: 2,
  nulls: 'strict',
  infer: (ctx) => ({ args: ctx.types.map((_, i) => strArg(ctx, i)), result: type('TIMESTAMP', true, 3) }),
  gen(g) {
    const v = g.temp();
    g.emit(`${v} = ${parseWith(g, constString(g, 1), parseTimestamp)};`);
    return `(${v} === undefined ? null : ${v})`;
  },
};

const TO_DATE: ScalarFunction = {
  name: 'TO_DATE',
  minArgs: 1,
  maxArgs: 2,
  nulls: 'strict',
  infer: (ctx) => ({ args: ctx.types.map((_, i) => strArg(ctx, i)), result: type('DATE', true) }),
  gen(g) {
    const v = g.temp();
    if (g.a.length < 2) {
      g.emit(`${v} = ${g.konst(parseDate)}(${g.a[0]});`);
      return `(${v} === undefined ? null : ${v})`;
    }
    g.emit(`${v} = ${parseWith(g, constString(g, 1), parseTimestamp)};`);
    return `(${v} === undefined ? null : Math.floor(${v} / ${MS_PER_DAY}))`;
  },
};

/** TO_TIMESTAMP_LTZ(epoch, precision): precision 0 reads seconds, 3 (the default) milliseconds. */
const TO_TIMESTAMP_LTZ: ScalarFunction = {
  name: 'TO_TIMESTAMP_LTZ',
  minArgs: 1,
  maxArgs: 2,
  nulls: 'strict',
  infer(ctx) {
    const t = expectArg(ctx, 0, 'numeric', BIGINT(true));
    const p = ctx.args[1];
    if (p && !(p.kind === 'literal' && (p.value === 0 || p.value === 3)))
      ctx.fail('the precision of TO_TIMESTAMP_LTZ must be the literal 0 (seconds) or 3 (milliseconds)');
    const args: SqlType[] = t.kind === 'DECIMAL' ? [type('DOUBLE', t.nullable)] : [t];
    if (p) args.push(ctx.types[1]);
    return { args, result: type('TIMESTAMP_LTZ', anyNullable(ctx.types), 3) };
  },
  gen(g) {
    const p = g.call.args[1] ? (g.call.args[1] as { value: number }).value : 3;
    return p === 0 ? `Math.trunc(${g.a[0]} * 1000)` : `Math.trunc(${g.a[0]})`;
  },
};

const FROM_UNIXTIME: ScalarFunction = {
  name: 'FROM_UNIXTIME',
  minArgs: 1,
  maxArgs: 2,
  nulls: 'strict',
  infer: (ctx) => ({ args: [intArg(ctx, 0), ...(ctx.types.length > 1 ? [strArg(ctx, 1)] : [])], result: STRING(anyNullable(ctx.types)) }),
  gen(g) {
    const fmt = g.a.length > 1 ? constString(g, 1) : DEFAULT_TS_FORMAT;
    const f = fmt !== undefined ? g.konst(patternFormatter(fmt)) : `${g.konst(patternFormatter)}(${g.a[1]})`;
    return `${f}(${g.a[0]} * 1000)`;
  },
};

/** UNIX_TIMESTAMP(): now in seconds; UNIX_TIMESTAMP(s[, format]): s parsed (default 'yyyy-MM-dd HH:mm:ss'). */
const UNIX_TIMESTAMP: ScalarFunction = {
  name: 'UNIX_TIMESTAMP',
  minArgs: 0,
  maxArgs: 2,
  nulls: 'strict',
  deterministic: false,
  infer: (ctx) => ({ args: ctx.types.map((_, i) => strArg(ctx, i)), result: BIGINT(ctx.types.length > 0) }),
  gen(g) {
    if (g.a.length === 0) return 'Math.floor(Date.now() / 1000)';
    const v = g.temp();
    g.emit(`${v} = ${parseWith(g, constString(g, 1), parseTimestamp)};`);
    return `(${v} === undefined ? null : Math.floor(${v} / 1000))`;
  },
};

const ADD_UNITS = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND'];
const UNIT_MS: Record<string, number> = { WEEK: 7 * MS_PER_DAY, DAY: MS_PER_DAY, HOUR: 3_600_000, MINUTE: 60_000, SECOND: 1000, MILLISECOND: 1 };
const UNIT_MONTHS: Record<string, number> = { YEAR: 12, QUARTER: 3, MONTH: 1 };

/** TIMESTAMPADD(unit, n, x); also the target of `x + INTERVAL ...`. A DATE stays a DATE for day-or-larger units. */
const TIMESTAMPADD: ScalarFunction = {
  name: 'TIMESTAMPADD',
  minArgs: 3,
  maxArgs: 3,
  nulls: 'strict',
  infer(ctx) {
    const unit = unitArg(ctx, ADD_UNITS);
    const n = intArg(ctx, 1);
    const t = temporalArg(ctx, 2, false);
    const small = UNIT_MS[unit] !== undefined && UNIT_MS[unit] < MS_PER_DAY;
    const result = t.kind === 'DATE' && small ? type('TIMESTAMP', t.nullable, 3) : t;
    return { args: [ctx.types[0], n, t], result: withNullable(result, anyNullable(ctx.types)) };
  },
  gen(g) {
    const unit = constString(g, 0)!.toUpperCase();
    const t = g.call.args[2].type;
    const x = g.a[2],
      n = g.a[1];
    if (t.kind === 'DATE') {
      if (UNIT_MONTHS[unit]) return `Math.floor(${g.konst(addMonthsToMs)}(${x} * ${MS_PER_DAY}, ${n} * ${UNIT_MONTHS[unit]}) / ${MS_PER_DAY})`;
      if (g.call.type.kind === 'DATE') return `(${x} + ${n} * ${UNIT_MS[unit] / MS_PER_DAY})`;
      return `(${x} * ${MS_PER_DAY} + ${n} * ${UNIT_MS[unit]})`;
    }
    if (UNIT_MONTHS[unit]) return `${g.konst(addMonthsToMs)}(${x}, ${n} * ${UNIT_MONTHS[unit]})`;
    return `(${x} + ${n} * ${UNIT_MS[unit]})`;
  },
};

export function timestampDiff(unit: string, a: number, b: number): number {
  const months = UNIT_MONTHS[unit];
  if (months === undefined) return Math.trunc((b - a) / UNIT_MS[unit]) + 0;
  const da = daysOfMs(a),
    db = daysOfMs(b);
  const ca = [...civil(da)],
    cb = [...civil(db)];
  let m = cb[0] * 12 + cb[1] - (ca[0] * 12 + ca[1]);
  const restA = ca[2] * MS_PER_DAY + (a - da * MS_PER_DAY);
  const restB = cb[2] * MS_PER_DAY + (b - db * MS_PER_DAY);
  if (m > 0 && restB < restA) m--;
  else if (m < 0 && restB > restA) m++;
  return Math.trunc(m / months) + 0;
}

const TIMESTAMPDIFF: ScalarFunction = {
  name: 'TIMESTAMPDIFF',
  minArgs: 3,
  maxArgs: 3,
  nulls: 'strict',
  infer(ctx) {
    unitArg(ctx, ADD_UNITS);
    const a = temporalArg(ctx, 1, false),
      b = temporalArg(ctx, 2, false);
    return { args: [ctx.types[0], a, b], result: INT(anyNullable(ctx.types)) };
  },
  gen(g) {
    const unit = constString(g, 0)!.toUpperCase();
    const [, ta, tb] = g.call.args.map((x) => x.type);
    return `${g.konst(timestampDiff)}(${JSON.stringify(unit)}, ${toMs(g.a[1], ta)}, ${toMs(g.a[2], tb)})`;
  },
};

export const FLOOR_UNITS = ['YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND'];

/** FLOOR/CEIL(ts TO unit) on epoch ms. Weeks start on Sunday (as Calcite's FLOOR TO WEEK). */
export function floorCeilTime(ms: number, unit: string, ceil: boolean): number {
  const fixed = UNIT_MS[unit];
  let f: number;
  if (fixed !== undefined && unit !== 'WEEK') f = Math.floor(ms / fixed) * fixed;
  else if (unit === 'WEEK') {
    const d = daysOfMs(ms);
    f = (d - weekday(d)) * MS_PER_DAY;
  } else {
    const c = civil(daysOfMs(ms));
    const m0 = unit === 'YEAR' ? 1 : unit === 'QUARTER' ? Math.floor((c[1] - 1) / 3) * 3 + 1 : c[1];
    f = daysFromCivil(c[0], m0, 1) * MS_PER_DAY;
  }
  if (!ceil || f === ms) return f;
  if (unit === 'WEEK') return f + 7 * MS_PER_DAY;
  return UNIT_MONTHS[unit] ? addMonthsToMs(f, UNIT_MONTHS[unit]) : f + fixed;
}

/** Niladic, nondeterministic functions: evaluated per row, never folded. */
function now(name: string, t: SqlType, src: string): ScalarFunction {
  return { name, minArgs: 0, maxArgs: 0, nulls: 'strict', deterministic: false, infer: () => ({ args: [], result: t }), gen: () => src };
}

register(
  EXTRACT,
  field('YEAR', 'YEAR', false),
  field('QUARTER', 'QUARTER', false),
  field('MONTH', 'MONTH', false),
  field('WEEK', 'WEEK', false),
  field('DAYOFYEAR', 'DOY', false),
  field('DAYOFMONTH', 'DAY', false),
  field('DAYOFWEEK', 'DOW', false),
  field('HOUR', 'HOUR', true),
  field('MINUTE', 'MINUTE', true),
  field('SECOND', 'SECOND', true),
  DATE_FORMAT,
  TO_TIMESTAMP,
  TO_DATE,
  TO_TIMESTAMP_LTZ,
  FROM_UNIXTIME,
  UNIX_TIMESTAMP,
  TIMESTAMPADD,
  TIMESTAMPDIFF,
  now('CURRENT_TIMESTAMP', type('TIMESTAMP_LTZ', false, 3), 'Date.now()'),
  now('NOW', type('TIMESTAMP_LTZ', false, 3), 'Date.now()'),
  now('CURRENT_ROW_TIMESTAMP', type('TIMESTAMP_LTZ', false, 3), 'Date.now()'),
  now('PROCTIME', type('TIMESTAMP_LTZ', false, 3), 'Date.now()'),
  now('LOCALTIMESTAMP', type('TIMESTAMP', false, 3), 'Date.now()'),
  now('CURRENT_DATE', type('DATE', false), `Math.floor(Date.now() / ${MS_PER_DAY})`),
  now('CURRENT_TIME', type('TIME', false, 0), `(Math.floor(Date.now() / 1000) * 1000 % ${MS_PER_DAY})`),
  now('LOCALTIME', type('TIME', false, 0), `(Math.floor(Date.now() / 1000) * 1000 % ${MS_PER_DAY})`),
);
alias('DAY', 'DAYOFMONTH');
