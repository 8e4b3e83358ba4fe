/**
 * Flink's `restart-strategy.*` keys: each value is checked when it is set, and the strategy a job
 * runs with is derived from all of them together (and from whether checkpointing is on), so the
 * order of SET statements does not matter.
 *
 * - `restart-strategy.type` (deprecated key: `restart-strategy`): `exponential-delay`,
 *   `fixed-delay`, `failure-rate`, or `disable` / `none` / `off`, with Flink's aliases
 *   `exponentialdelay`, `fixeddelay`, `failurerate`.
 * - Unset: `exponential-delay` when checkpointing is on and `disable` when it is off (Flink since
 *   1.19). Where weir differs from Flink: a key of one strategy set without a type (e.g. only
 *   `restart-strategy.fixed-delay.attempts`) selects that strategy; Flink would ignore the key.
 */
import { durationValue, intValue, invalidConfig, MAX_INT, MAX_TIMER_MS, numberValue } from './config-values.js';

/** A resolved restart strategy (what the `restart-strategy.*` keys configure). */
export type RestartStrategy =
  | { readonly type: 'none' }
  | { readonly type: 'fixed-delay'; readonly attempts: number; readonly delayMs: number }
  | { readonly type: 'failure-rate'; readonly maxFailuresPerInterval: number; readonly intervalMs: number; readonly delayMs: number }
  | {
      readonly type: 'exponential-delay';
      readonly initialBackoffMs: number;
      readonly maxBackoffMs: number;
      readonly multiplier: number;
      readonly jitterFactor: number;
      readonly resetThresholdMs: number;
      /** Restarts allowed until the backoff resets; Infinity = no limit (Flink's default). */
      readonly attemptsBeforeReset: number;
    };

type StrategyType = RestartStrategy['type'];

const TYPE_KEY = 'restart-strategy.type';
const DEPRECATED_TYPE_KEY = 'restart-strategy';
const P = 'restart-strategy.';

/** Flink's main values and aliases (RestartStrategyOptions.RestartStrategyType). */
const TYPE_NAMES: Readonly<Record<string, StrategyType>> = {
  'exponential-delay': 'exponential-delay',
  exponentialdelay: 'exponential-delay',
  'fixed-delay': 'fixed-delay',
  fixeddelay: 'fixed-delay',
  'failure-rate': 'failure-rate',
  failurerate: 'failure-rate',
  disable: 'none',
  none: 'none',
  off: 'none',
};

function typeValue(value: string, key: string): StrategyType {
  const t = TYPE_NAMES[value.trim().toLowerCase()];
  if (t === undefined) {
    throw invalidConfig(key, value, 'one of exponential-delay, fixed-delay, failure-rate, disable, none, off (or exponentialdelay, fixeddelay, failurerate)');
  }
  return t;
}

/** Each key: its strategy (undefined for the type keys), its parser, and its default value as text. */
const KEYS: Record<string, { of?: StrategyType; parse: (v: string, k: string) => number | StrategyType; fallback?: string }> = {
  [TYPE_KEY]: { parse: typeValue },
  [DEPRECATED_TYPE_KEY]: { parse: typeValue },
  [`${P}fixed-delay.attempts`]: { of: 'fixed-delay', parse: (v, k) => intValue(v, k, 0), fallback: '1' },
  [`${P}fixed-delay.delay`]: { of: 'fixed-delay', parse: (v, k) => durationValue(v, k, { max: MAX_TIMER_MS }), fallback: '1 s' },
  [`${P}failure-rate.max-failures-per-interval`]: { of: 'failure-rate', parse: (v, k) => intValue(v, k, 1), fallback: '1' },
  [`${P}failure-rate.failure-rate-interval`]: { of: 'failure-rate', parse: (v, k) => durationValue(v, k, { min: 1 }), fallback: '1 min' },
  [`${P}failure-rate.delay`]: { of: 'failure-rate', parse: (v, k) => durationValue(v, k, { max: MAX_TIMER_MS }), fallback: '1 s' },
  [`${P}exponential-delay.initial-backoff`]: { of: 'exponential-delay', parse: (v, k) => durationValue(v, k, { min: 1, max: MAX_TIMER_MS }), fallback: '1 s' },
  [`${P}exponential-delay.max-backoff`]: { of: 'exponential-delay', parse: (v, k) => durationValue(v, k, { min: 1, max: MAX_TIMER_MS }), fallback: '1 min' },
  [`${P}exponential-delay.backoff-multiplier`]: {
    of: 'exponential-delay',
    parse: (v, k) => numberValue(v, k, (n) => n > 1, 'a number > 1'),
    fallback: '1.5',
  },
  [`${P}exponential-delay.jitter-factor`]: {
    of: 'exponential-delay',
    parse: (v, k) => numberValue(v, k, (n) => n >= 0 && n <= 1, 'a number from 0 to 1'),
    fallback: '0.1',
  },
  [`${P}exponential-delay.reset-backoff-threshold`]: { of: 'exponential-delay', parse: (v, k) => durationValue(v, k, { min: 1 }), fallback: '1 h' },
  [`${P}exponential-delay.attempts-before-reset-backoff`]: { of: 'exponential-delay', parse: (v, k) => intValue(v, k, 1), fallback: String(MAX_INT) },
};

export const RESTART_KEYS: readonly string[] = Object.keys(KEYS);

export function isRestartKey(key: string): boolean {
  return Object.hasOwn(KEYS, key);
}

/** Checks one restart-strategy key's value (throws a user error naming it). */
export function checkRestartKey(key: string, value: string): void {
  KEYS[key].parse(value, key);
}

/** The strategy of a job from the restart keys as set (already checked) and whether it checkpoints. */
export function restartStrategyOf(raw: ReadonlyMap<string, string>, checkpointing: boolean): RestartStrategy {
  const typeText = raw.get(TYPE_KEY) ?? raw.get(DEPRECATED_TYPE_KEY);
  let type: StrategyType | undefined = typeText === undefined ? undefined : typeValue(typeText, raw.has(TYPE_KEY) ? TYPE_KEY : DEPRECATED_TYPE_KEY);
  if (type === undefined) {
    // weir: the strategy whose keys were set (when keys of several were, the one whose key was first set last)
    for (const k of raw.keys()) if (isRestartKey(k)) type = KEYS[k].of ?? type;
  }
  type ??= checkpointing ? 'exponential-delay' : 'none';
  const num = (name: string): number => {
    const key = `${P}${name}`;
    return KEYS[key].parse(raw.get(key) ?? KEYS[key].fallback!, key) as number;
  };
  switch (type) {
    case 'none':
      return { type };
    case 'fixed-delay':
      return { type, attempts: num('fixed-delay.attempts'), delayMs: num('fixed-delay.delay') };
    case 'failure-rate':
      return {
        type,
        maxFailuresPerInterval: num('failure-rate.max-failures-per-interval'),
        intervalMs: num('failure-rate.failure-rate-interval'),
        delayMs: num('failure-rate.delay'),
      };
    case 'exponential-delay': {
      const attempts = num('exponential-delay.attempts-before-reset-backoff');
      return {
        type,
        initialBackoffMs: num('exponential-delay.initial-backoff'),
        maxBackoffMs: num('exponential-delay.max-backoff'),
        multiplier: num('exponential-delay.backoff-multiplier'),
        jitterFactor: num('exponential-delay.jitter-factor'),
        resetThresholdMs: num('exponential-delay.reset-backoff-threshold'),
        // Flink's "infinite" is Integer.MAX_VALUE
        attemptsBeforeReset: attempts === MAX_INT ? Number.POSITIVE_INFINITY : attempts,
      };
    }
  }
}
