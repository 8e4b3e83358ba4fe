/**
 * Parsers for configuration values (SET / --set), each rejecting what weir cannot use with a user
 * error naming the key, the value and what is allowed, so a mistake shows where it was made and
 * not later as an internal error of the planner or the runtime.
 */
import { userError, type WeirError } from '../errors.js';
import { tryParseDuration } from './duration.js';

/**
 * The longest duration weir waits on in one timer (checkpoint interval, timeout, restart delays):
 * Node's timers fire at once beyond 2^31-1 ms (~24.8 days), so longer values would turn into a
 * tight loop. Flink's durations go up to Long.MAX_VALUE ms; weir stops at 24 days.
 */
export const MAX_TIMER_MS = 24 * 86_400_000;
/** Java's Integer.MAX_VALUE: the largest value of Flink's int options. */
export const MAX_INT = 2_147_483_647;

export function invalidConfig(key: string, value: string, allowed: string): WeirError {
  return userError('INVALID_CONFIG', `'${key}' must be ${allowed}, got '${value}'`, { details: { key } });
}

/** A readable duration for messages: '10 ms', '1 s', '24 d'. */
export function formatMs(ms: number): string {
  for (const [unit, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n} ${unit}`;
  }
  return `${ms} ms`;
}

export function intValue(value: string, key: string, min: number, max: number = MAX_INT): number {
  const t = value.trim();
  const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidConfig(key, value, max === MAX_INT ? `an integer >= ${min}` : `an integer from ${min} to ${max}`);
  }
  return n;
}

/** A decimal number (as Java's Double.parseDouble takes it, without NaN / Infinity / hex). */
export function numberValue(value: string, key: string, ok: (n: number) => boolean, allowed: string): number {
  const t = value.trim();
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(n) || !ok(n)) throw invalidConfig(key, value, allowed);
  return n;
}

/**
 * A Flink duration in milliseconds within [min, max]; `zeroMeans` allows 0 besides the range and
 * says what it means ('no periodic checkpoints').
 */
export function durationValue(value: string, key: string, opts: { min?: number; max?: number; zeroMeans?: string } = {}): number {
  const ms = tryParseDuration(value);
  if (ms === undefined || !Number.isSafeInteger(ms)) {
    throw userError('INVALID_OPTION', `'${key}' must be a duration such as '200ms', '10 s' or '1 min', got '${value}'`, { details: { key } });
  }
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (ms === 0 && opts.zeroMeans !== undefined) return 0;
  if (ms < min || ms > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a duration >= ${formatMs(min)}` : `a duration from ${formatMs(min)} to ${formatMs(max)}`;
    throw invalidConfig(key, value, opts.zeroMeans !== undefined ? `0 (${opts.zeroMeans}) or ${range}` : range);
  }
  return ms;
}

/** One of `allowed` (case-insensitive, '-' and '_' alike). */
export function enumValue<T extends string>(value: string, key: string, allowed: readonly T[]): T {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/_/g, '-');
  const hit = allowed.find((a) => norm(a) === norm(value));
  if (hit === undefined) throw invalidConfig(key, value, `one of ${allowed.join(', ')}`);
  return hit;
}

export function boolValue(value: string, key: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidConfig(key, value, 'true or false');
}

/**
 * A local folder: a path or a file:// URI (the scheme is dropped). weir keeps checkpoints on the
 * local file system only, so another scheme (s3://, hdfs://) is refused rather than taken for a
 * relative folder named 's3:'.
 */
export function localPathValue(value: string, key: string): string {
  const t = value.trim();
  if (/^file:\/\//i.test(t)) {
    const p = t.replace(/^file:\/\//i, '');
    if (p !== '') return p;
  } else if (t !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    return t;
  }
  throw invalidConfig(key, value, 'a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system)');
}
