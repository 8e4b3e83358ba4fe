/**
 * Declarative connector options. A connector declares every key it knows (exact keys such as
 * 'rows-per-second' and patterns such as 'fields.#.kind', where '#' stands for one name) with a
 * zod schema that parses the SQL string, and `validateOptions` turns a table's WITH (...) into
 * typed values or one clear user error naming the option, its SQL position and the valid values.
 * Values of secret-looking keys (password, secret, token, ...) never appear in messages.
 */
import { z } from 'zod';
import type { TableDef } from '../catalog/table.js';
import { tryParseDuration } from '../config/duration.js';
import { userError, type WeirError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';

/** One option: how to parse it, whether it must be there, its default, and what it does. */
// biome-ignore lint/correctness/noUnusedVariables: Present is a phantom type: it tells the option's readers whether a value is certain
export class Opt<T, Present extends boolean = false> {
  constructor(
    readonly schema: z.ZodType<T>,
    /** What a valid value looks like, completing "must be ...": 'a positive integer'. */
    readonly expected: string,
    readonly description: string,
    readonly isRequired: boolean = false,
    readonly defaultValue: T | undefined = undefined,
  ) {}

  required(): Opt<T, true> {
    return new Opt<T, true>(this.schema, this.expected, this.description, true, undefined);
  }

  default(value: T): Opt<T, true> {
    return new Opt<T, true>(this.schema, this.expected, this.description, false, value);
  }
}

// zod is invariant in its generics; `any` here only widens the record of declarations.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: an option of any value type (Opt is invariant in T)
export type AnyOpt = Opt<any, boolean>;

export interface OptionSpec<D extends Record<string, AnyOpt>> {
  /** The 'connector' value, for messages. */
  readonly connector: string;
  readonly options: D;
}

type PatternKey<K> = K extends `${string}#${string}` ? K : never;
type ExactKey<K> = K extends `${string}#${string}` ? never : K;
type ValueOf<O> = O extends Opt<infer T, infer P> ? (P extends true ? T : T | undefined) : never;
type PatternValueOf<O> = O extends Opt<infer T, boolean> ? T : never;

/**
 * Typed result: exact keys map to their value (undefined when absent and without default);
 * pattern keys map to a Map from the text matched by '#' to the value, in the order written.
 */
export type OptionValues<D extends Record<string, AnyOpt>> = {
  readonly [K in keyof D as ExactKey<K>]: ValueOf<D[K]>;
} & {
  readonly [K in keyof D as PatternKey<K>]: ReadonlyMap<string, PatternValueOf<D[K]>>;
};

export function defineOptions<D extends Record<string, AnyOpt>>(connector: string, options: D): OptionSpec<D> {
  return { connector, options };
}

/** The keys a connector knows, for ConnectorFactory.optionKeys. 'connector' is always valid. */
export function optionKeys(spec: OptionSpec<Record<string, AnyOpt>>): string[] {
  return ['connector', ...Object.keys(spec.options)].sort();
}

// ---------------------------------------------------------------- option builders

const INT_RE = /^[+-]?\d+$/;

function intSchema(min: number | undefined, max: number | undefined): z.ZodType<number> {
  return z
    .string()
    .trim()
    .regex(INT_RE)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min ?? Number.MIN_SAFE_INTEGER)
        .max(max ?? Number.MAX_SAFE_INTEGER),
    );
}

function intExpected(min: number | undefined, max: number | undefined): string {
  if (max === undefined) {
    if (min === 1) return 'a positive integer';
    if (min === 0) return 'a non-negative integer';
    if (min !== undefined) return `an integer >= ${min}`;
    return 'an integer';
  }
  return `an integer between ${min ?? Number.MIN_SAFE_INTEGER} and ${max}`;
}

const quoteList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/** Builders for the option kinds connectors need. Each takes the one-line description. */
export const opt = {
  string(description: string): Opt<string> {
    return new Opt(z.string(), 'a string', description);
  },
  nonEmptyString(description: string): Opt<string> {
    return new Opt(z.string().trim().min(1), 'a non-empty string', description);
  },
  /** A single character such as a CSV delimiter ('\t' written as a tab or as the two characters). */
  char(description: string): Opt<string> {
    const schema = z
      .string()
      .transform((s) => (s === '\\t' ? '\t' : s))
      .pipe(z.string().length(1));
    return new Opt(schema, 'a single character', description);
  },
  int(description: string, bounds: { min?: number; max?: number } = {}): Opt<number> {
    return new Opt(intSchema(bounds.min, bounds.max), intExpected(bounds.min, bounds.max), description);
  },
  number(description: string, bounds: { min?: number; max?: number } = {}): Opt<number> {
    const schema = z
      .string()
      .trim()
      .min(1)
      .transform(Number)
      .pipe(
        z
          .number()
          .refine(Number.isFinite)
          .min(bounds.min ?? -Infinity)
          .max(bounds.max ?? Infinity),
      );
    const range =
      bounds.min !== undefined && bounds.max !== undefined ? ` between ${bounds.min} and ${bounds.max}` : bounds.min !== undefined ? ` >= ${bounds.min}` : '';
    return new Opt(schema, `a number${range}`, description);
  },
  bool(description: string): Opt<boolean> {
    const schema = z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['true', 'false']))
      .transform((s) => s === 'true');
    return new Opt(schema, "'true' or 'false'", description);
  },
  enum<const V extends readonly [string, ...string[]]>(values: V, description: string): Opt<V[number]> {
    const schema = z.string().trim().toLowerCase().pipe(z.enum(values));
    return new Opt(schema as z.ZodType<V[number]>, `one of ${quoteList(values)}`, description);
  },
  /** A Flink duration: '200ms', '10 s', '1 min'; a plain number is milliseconds. Parsed to ms. */
  duration(description: string): Opt<number> {
    const schema = z.string().transform((s, ctx) => {
      const ms = tryParseDuration(s);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'not a duration' });
        return z.NEVER;
      }
      return ms;
    });
    return new Opt(schema, "a duration such as '200ms', '10 s' or '1 min'", description);
  },
  /** A Flink memory size: '128mb', '1 gb', '512k'; a plain number is bytes. Parsed to bytes. */
  memorySize(description: string): Opt<number> {
    const schema = z.string().transform((s, ctx) => {
      const bytes = tryParseMemorySize(s);
      if (bytes === undefined || bytes <= 0) {
        ctx.addIssue({ code: 'custom', message: 'not a memory size' });
        return z.NEVER;
      }
      return bytes;
    });
    return new Opt(schema, "a memory size such as '128mb' or '1gb'", description);
  },
};

// ---------------------------------------------------------------- durations and sizes

/**
 * Parses a Flink duration ('200ms', '10 s', '1 min', '5min', '1h', '2 d'; a plain number is
 * milliseconds) into milliseconds. Throws a user error (INVALID_DURATION) otherwise.
 */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw userError('INVALID_DURATION', `invalid duration '${text}'; expected e.g. '200ms', '10 s', '1 min' or '2 h'`);
  }
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  k: 1024,
  kb: 1024,
  kibibytes: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mebibytes: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gibibytes: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tebibytes: 1024 ** 4,
};

/** Bytes of a Flink memory size ('128mb', '1 gb', '512k', '1000'), or undefined. */
export function tryParseMemorySize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

// ---------------------------------------------------------------- validation

const SECRET_KEY_RE = /password|secret|token|credential|jaas|api[-_.]?key|private[-_.]?key/i;

/** True for keys whose values must never be shown (messages, EXPLAIN, logs). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_RE.test(key);
}

/** Options as `k=v, k2=v2` for describe()/EXPLAIN, secrets masked, 'connector' left out. */
export function describeOptions(table: TableDef): string {
  return Object.keys(table.options)
    .filter((k) => k !== 'connector')
    .sort()
    .map((k) => `${k}=${isSecretKey(k) ? '***' : table.options[k]}`)
    .join(', ');
}

function patternRegex(pattern: string): RegExp {
  const parts = pattern.split('#').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(.+)')}$`);
}

/** The closest known key (patterns instantiated with the unknown key's segment), if close enough. */
function suggest(unknown: string, known: readonly string[]): string | undefined {
  const segments = unknown.split('.');
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    let candidate = k;
    if (k.includes('#')) {
      const ks = k.split('.');
      if (ks.length !== segments.length) continue;
      candidate = ks.map((s, i) => (s === '#' ? segments[i] : s)).join('.');
    }
    const d = editDistance(unknown.toLowerCase(), candidate.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = candidate;
    }
  }
  const limit = Math.max(2, Math.floor(unknown.length / 3));
  return bestDist <= limit ? best : undefined;
}

/** A user error about one option, with its SQL position. For connector-specific checks too. */
export function optionError(table: TableDef, key: string, code: 'UNKNOWN_OPTION' | 'INVALID_OPTION' | 'MISSING_OPTION', reason: string): WeirError {
  return userError(code, `table '${table.name}': ${reason}`, {
    position: table.optionPositions[key] ?? table.pos,
    details: { table: table.name, option: key },
  });
}

/** `option 'k' must be <expected>, got '<value>'` (the value left out for secret keys). */
export function invalidOption(table: TableDef, key: string, expected: string): WeirError {
  const value = table.options[key];
  const got = isSecretKey(key) || value === undefined ? '' : `, got '${value}'`;
  return optionError(table, key, 'INVALID_OPTION', `option '${key}' must be ${expected}${got}`);
}

/**
 * Checks a table's options against a spec: every key known, every value valid, every required key
 * present. Returns typed values with defaults applied; throws UNKNOWN_OPTION, INVALID_OPTION or
 * MISSING_OPTION (one line, with the option's position) on the first problem.
 */
export function validateOptions<D extends Record<string, AnyOpt>>(spec: OptionSpec<D>, table: TableDef): OptionValues<D> {
  const defs = spec.options;
  const exact = Object.keys(defs).filter((k) => !k.includes('#'));
  const patterns = Object.keys(defs)
    .filter((k) => k.includes('#'))
    .map((k) => ({ key: k, re: patternRegex(k), values: new Map<string, unknown>() }));
  const out: Record<string, unknown> = {};
  for (const p of patterns) out[p.key] = p.values;

  for (const [key, raw] of Object.entries(table.options)) {
    if (key === 'connector') continue;
    let def: AnyOpt | undefined = Object.hasOwn(defs, key) && !key.includes('#') ? defs[key] : undefined;
    let target: { map: Map<string, unknown>; name: string } | undefined;
    if (!def) {
      for (const p of patterns) {
        const m = p.re.exec(key);
        if (m) {
          def = defs[p.key];
          target = { map: p.values, name: m[1] };
          break;
        }
      }
    }
    if (!def) {
      const known = optionKeys(spec);
      const hint = suggest(key, known);
      throw optionError(
        table,
        key,
        'UNKNOWN_OPTION',
        `unknown option '${key}' for connector '${spec.connector}'; ${hint ? `did you mean '${hint}'? ` : ''}valid options: ${known.join(', ')}`,
      );
    }
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) throw invalidOption(table, key, def.expected);
    if (target) target.map.set(target.name, parsed.data);
    else out[key] = parsed.data;
  }

  for (const key of exact) {
    if (out[key] !== undefined) continue;
    const def = defs[key];
    if (def.isRequired) {
      throw userError('MISSING_OPTION', `table '${table.name}': missing required option '${key}' for connector '${spec.connector}' (${def.description})`, {
        position: table.pos,
        details: { table: table.name, option: key },
      });
    }
    out[key] = def.defaultValue;
  }
  return out as OptionValues<D>;
}
