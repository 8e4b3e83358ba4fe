import { userError } from '../errors.js';

const UNITS: Record<string, number> = {
  ns: 1e-6,
  nano: 1e-6,
  nanos: 1e-6,
  nanosecond: 1e-6,
  nanoseconds: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  micro: 1e-3,
  micros: 1e-3,
  microsecond: 1e-3,
  microseconds: 1e-3,
  ms: 1,
  milli: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Parses a Flink duration ('200ms', '10 s', '1 min', '5min', '1h', '2 d'; a bare number is
 * milliseconds) into milliseconds, or returns undefined when the text is not a duration.
 */
export function tryParseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const factor = unit === '' ? 1 : UNITS[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

/** As tryParseDuration, but a user error naming `what` (an option or config key) when invalid. */
export function parseDuration(text: string, what: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw userError('INVALID_OPTION', `'${what}' must be a duration such as '200ms', '10 s' or '1 min', got '${text}'`, {
      details: { key: what },
    });
  }
  return ms;
}
