/**
 * Column generators for datagen. A value depends only on (global row index, field salt, seed):
 * no Math.random and no state, so any subtask, any restart and any projection regenerate exactly
 * the same value for the same row. Generators fill one column of a batch at a time.
 */
import type { SqlType } from '../../src/model/types.js';
import { unreachable } from '../../src/errors.js';
import { pow10 } from '../../src/expr/decimal.js';
import { MS_PER_DAY } from '../../src/expr/datetime-util.js';

/**
 * Fills `col[0..count)` with the values of global rows g0, g0 + step, g0 + 2*step, ...
 * Must not allocate per row beyond the values themselves.
 */
export type ColumnGen = (col: unknown[], g0: number, step: number, count: number) => void;

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 32-bit FNV-1a, to turn a field name into a salt. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Salt for one stream of randomness (a field's values, its nulls, ...) under a seed. */
export function salt(field: string, stream: string, seed: number): number {
  return mix32(hashName(`${field}\u0000${stream}`) ^ mix32((seed | 0) ^ Math.imul((seed / TWO_32) | 0, 0x9e3779b1)));
}

/** Uniform 32-bit hash of a global row index (< 2^53) under a salt. */
export function hash32(g: number, s: number): number {
  let x = (g >>> 0) ^ s;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x ^= Math.imul((g / TWO_32) | 0, 0x9e3779b1);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x = Math.imul(x ^ (x >>> 16), 0x27d4eb2f);
  return (x ^ (x >>> 15)) >>> 0;
}

/** Uniform double in [0, 1) with 53 random bits (two hashes). */
function unit53(g: number, s1: number, s2: number): number {
  return ((hash32(g, s1) >>> 5) * 67108864 + (hash32(g, s2) >>> 6)) / TWO_53;
}

// ---------------------------------------------------------------- field configs

export type FieldGenSpec =
  | { readonly kind: 'sequence'; readonly start: number; readonly end: number }
  | {
      readonly kind: 'random';
      /** Parsed into the column's representation: number, or bigint for DECIMAL. */
      readonly min?: number | bigint;
      readonly max?: number | bigint;
      readonly length?: number;
      readonly nullRate: number;
      /** ms: temporal values fall in [virtual now - maxPast, virtual now]. */
      readonly maxPast: number;
    };

/** What every generator of one source shares. */
export interface GenEnv {
  readonly seed: number;
  /** Wall clock of the first start, recorded in the splits so restarts keep it. */
  readonly baseTime: number;
  /** Rows per second across the source: row g is "due" at baseTime + g / rowsPerSecond s. */
  readonly rowsPerSecond: number;
  readonly stringPool: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const STRING_POOL_SIZE = 1 << 20;

/** A deterministic pool of random letters; random strings are slices of it (cheap in V8). */
export function makeStringPool(seed: number): string {
  const s = salt('', 'string-pool', seed);
  const parts: string[] = [];
  for (let start = 0; start < STRING_POOL_SIZE; start += 4096) {
    const chunk = new Array<string>(4096);
    for (let i = 0; i < 4096; i++) chunk[i] = ALPHANUMERIC[hash32(start + i, s) % 62];
    parts.push(chunk.join(''));
  }
  return parts.join('');
}

export const INT_RANGES: Partial<Record<SqlType['kind'], readonly [number, number]>> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
  BIGINT: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Types a sequence can produce (as Flink: numbers and strings). */
export function sequenceSupported(t: SqlType): boolean {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return true;
    default:
      return false;
  }
}

function sequenceGen(t: SqlType, start: number): ColumnGen {
  switch (t.kind) {
    case 'DECIMAL': {
      const f = pow10(t.scale ?? 0);
      return (col, g0, step, count) => {
        for (let r = 0, g = g0; r < count; r++, g += step) col[r] = BigInt(start + g) * f;
      };
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return (col, g0, step, count) => {
        for (let r = 0, g = g0; r < count; r++, g += step) col[r] = String(start + g);
      };
    default:
      return (col, g0, step, count) => {
        for (let r = 0, g = g0 + start; r < count; r++, g += step) col[r] = g;
      };
  }
}

/** Wraps a generator so that a `nullRate` fraction of rows (chosen by hash) is NULL. */
function withNulls(gen: ColumnGen, nullRate: number, nullSalt: number): ColumnGen {
  if (nullRate <= 0) return gen;
  const threshold = nullRate * TWO_32;
  return (col, g0, step, count) => {
    gen(col, g0, step, count);
    for (let r = 0, g = g0; r < count; r++, g += step) if (hash32(g, nullSalt) < threshold) col[r] = null;
  };
}

function randomInt(min: number, max: number, s1: number, s2: number): ColumnGen {
  const range = max - min + 1;
  if (range <= TWO_32) {
    const scale = range / TWO_32;
    return (col, g0, step, count) => {
      for (let r = 0, g = g0; r < count; r++, g += step) col[r] = min + Math.floor(hash32(g, s1) * scale);
    };
  }
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) col[r] = Math.min(max, min + Math.floor(unit53(g, s1, s2) * range));
  };
}

function randomDecimal(min: bigint, max: bigint, s1: number, s2: number): ColumnGen {
  const range = max - min + 1n;
  if (range <= BigInt(TWO_53)) {
    const n = Number(range);
    return (col, g0, step, count) => {
      for (let r = 0, g = g0; r < count; r++, g += step) col[r] = min + BigInt(Math.min(n - 1, Math.floor(unit53(g, s1, s2) * n)));
    };
  }
  // Wider than 2^53: draw 128 bits and reduce (the modulo bias is irrelevant for test data).
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) {
      const hi = (BigInt(hash32(g, s1)) << 32n) | BigInt(hash32(g, s2));
      const lo = (BigInt(hash32(g, s1 ^ 0x5bd1e995)) << 32n) | BigInt(hash32(g, s2 ^ 0x5bd1e995));
      col[r] = min + (((hi << 64n) | lo) % range);
    }
  };
}

function randomDouble(min: number, max: number, s1: number, s2: number, float32: boolean): ColumnGen {
  const width = max - min;
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) {
      const v = min + unit53(g, s1, s2) * width;
      col[r] = float32 ? Math.fround(v) : v;
    }
  };
}

function randomString(length: number, pool: string, s1: number): ColumnGen {
  const span = pool.length - length + 1;
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) {
      const off = hash32(g, s1) % span;
      col[r] = pool.slice(off, off + length);
    }
  };
}

function randomBytes(length: number, s1: number): ColumnGen {
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) {
      const b = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        const h = hash32(g * 31 + i, s1);
        for (let k = 0; k < 4 && i + k < length; k++) b[i + k] = (h >>> (k * 8)) & 0xff;
      }
      col[r] = b;
    }
  };
}

/** Epoch ms of the row's virtual "now" minus a random amount up to maxPast. */
function randomInstant(env: GenEnv, maxPast: number, s1: number, out: (ms: number) => number): ColumnGen {
  const msPerRow = 1000 / env.rowsPerSecond;
  const base = env.baseTime;
  return (col, g0, step, count) => {
    for (let r = 0, g = g0; r < count; r++, g += step) {
      const now = base + Math.floor(g * msPerRow);
      col[r] = out(maxPast > 0 ? now - Math.floor((hash32(g, s1) / TWO_32) * (maxPast + 1)) : now);
    }
  };
}

const defaultStringLength = (t: SqlType): number => (t.kind === 'CHAR' ? (t.precision ?? 1) : Math.min(100, t.precision ?? 100));

/** The generator of one column. `spec` has been validated against `t` already. */
export function columnGenerator(name: string, t: SqlType, spec: FieldGenSpec, env: GenEnv): ColumnGen {
  if (spec.kind === 'sequence') return sequenceGen(t, spec.start);
  const s1 = salt(name, 'value', env.seed);
  const s2 = salt(name, 'value2', env.seed);
  return withNulls(randomGen(t, spec, env, s1, s2), spec.nullRate, salt(name, 'null', env.seed));
}

function randomGen(t: SqlType, spec: Extract<FieldGenSpec, { kind: 'random' }>, env: GenEnv, s1: number, s2: number): ColumnGen {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT': {
      const [lo, hi] = INT_RANGES[t.kind]!;
      return randomInt((spec.min as number | undefined) ?? lo, (spec.max as number | undefined) ?? hi, s1, s2);
    }
    case 'FLOAT':
    case 'DOUBLE':
      return randomDouble((spec.min as number | undefined) ?? 0, (spec.max as number | undefined) ?? 1, s1, s2, t.kind === 'FLOAT');
    case 'DECIMAL': {
      const lim = pow10(t.precision ?? 10) - 1n;
      return randomDecimal((spec.min as bigint | undefined) ?? -lim, (spec.max as bigint | undefined) ?? lim, s1, s2);
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return randomString(Math.min(spec.length ?? defaultStringLength(t), env.stringPool.length), env.stringPool, s1);
    case 'BYTES':
      return randomBytes(spec.length ?? 100, s1);
    case 'BOOLEAN':
      return (col, g0, step, count) => {
        for (let r = 0, g = g0; r < count; r++, g += step) col[r] = hash32(g, s1) >= 0x80000000;
      };
    case 'DATE':
      return randomInstant(env, spec.maxPast, s1, (ms) => Math.floor(ms / MS_PER_DAY));
    case 'TIME':
      return randomInstant(env, spec.maxPast, s1, (ms) => ms - Math.floor(ms / MS_PER_DAY) * MS_PER_DAY);
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return randomInstant(env, spec.maxPast, s1, (ms) => ms);
    case 'NULL':
      return (col, _g0, _step, count) => {
        for (let r = 0; r < count; r++) col[r] = null;
      };
    default:
      return unreachable(t.kind);
  }
}
