/**
 * Restart strategies (Flink's `restart-strategy.*`) and which failures they may restart.
 *
 * The backoff arithmetic follows Flink's RestartBackoffTimeStrategy implementations, so a setting
 * behaves as it does in Flink: a restart library from npm would bring its own jitter and reset
 * rules, and the whole logic is a few lines.
 *
 * What is restarted (weir's rule; Flink restarts on any exception):
 * - user errors (bad SQL, options, data under a fail policy) never: the same input fails again;
 * - external errors marked non-retriable never (e.g. a prepared transaction rolled back outside
 *   weir): restoring the last checkpoint cannot bring the lost data back;
 * - retriable external errors, and raw Node socket errors (ECONNREFUSED, ...) that a connector let
 *   through, as often as the strategy allows;
 * - internal errors (bugs) and anything else unclassified, at most INTERNAL_RESTART_LIMIT times in
 *   a row without a checkpoint completing in between: a rare bug does not stop a long-running job,
 *   a crash loop ends instead of restarting forever.
 */
import type { RestartStrategy } from '../config/restart-config.js';
import { isWeirError } from '../errors.js';

/** Internal (or unclassified) failures restarted in a row while no checkpoint completes. */
export const INTERNAL_RESTART_LIMIT = 3;

/** Node socket error codes: the other side is away or unreachable, which a later attempt may find cured. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENOTFOUND',
]);

export type FailureClass = 'user' | 'fatal' | 'retriable' | 'internal';

export function classifyFailure(e: unknown): FailureClass {
  if (isWeirError(e)) {
    if (e.domain === 'user') return 'user';
    if (e.domain === 'external') return e.retriable ? 'retriable' : 'fatal';
    return 'internal';
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'retriable';
  return 'internal';
}

export type RestartDecision = { readonly restart: true; readonly delayMs: number } | { readonly restart: false; readonly reason: string };

/**
 * The restart bookkeeping of one job: told about every failure, it answers whether to restart and
 * after how long. `progressed` says whether a checkpoint completed since the previous failure.
 */
export class RestartPolicy {
  /** exponential-delay: restarts since the backoff was last reset. */
  private attempt = 0;
  /** exponential-delay: when the last restart ran (Flink's nextRestartTimestamp). */
  private lastRestartAt = Number.NEGATIVE_INFINITY;
  /** fixed-delay: restarts so far. */
  private restarts = 0;
  /** failure-rate: times of the latest failures (at most maxFailuresPerInterval + 1). */
  private readonly failures: number[] = [];
  private internalInARow = 0;

  constructor(
    readonly strategy: RestartStrategy,
    private readonly random: () => number = Math.random,
  ) {}

  onFailure(e: unknown, now: number, progressed: boolean): RestartDecision {
    const cls = classifyFailure(e);
    if (cls === 'user') return { restart: false, reason: 'a user error: restarting cannot help' };
    if (cls === 'fatal') return { restart: false, reason: 'a non-retriable external error' };
    if (progressed) this.internalInARow = 0;
    if (cls === 'internal' && ++this.internalInARow > INTERNAL_RESTART_LIMIT) {
      return { restart: false, reason: `an internal error ${this.internalInARow} times in a row without a completed checkpoint` };
    }
    const s = this.strategy;
    switch (s.type) {
      case 'none':
        return { restart: false, reason: "restart-strategy.type is 'none'" };
      case 'fixed-delay':
        if (++this.restarts > s.attempts) return { restart: false, reason: `restart-strategy.fixed-delay.attempts (${s.attempts}) used up` };
        return { restart: true, delayMs: s.delayMs };
      case 'failure-rate': {
        if (this.failures.length > s.maxFailuresPerInterval) this.failures.shift();
        this.failures.push(now);
        if (this.failures.length > s.maxFailuresPerInterval && now - this.failures[0] <= s.intervalMs) {
          return { restart: false, reason: `more than ${s.maxFailuresPerInterval} failure(s) within restart-strategy.failure-rate.failure-rate-interval` };
        }
        return { restart: true, delayMs: s.delayMs };
      }
      case 'exponential-delay': {
        // A job that ran for reset-backoff-threshold since its last restart starts over at the initial backoff.
        if (now - this.lastRestartAt >= s.resetThresholdMs) this.attempt = 0;
        // Capped so that an outage of days (thousands of attempts) cannot overflow to Infinity.
        const base = Math.min(Math.floor(s.initialBackoffMs * s.multiplier ** this.attempt), Number.MAX_SAFE_INTEGER);
        const offset = Math.floor(base * s.jitterFactor);
        const jitter = offset === 0 ? 0 : Math.floor(this.random() * (2 * offset + 1)) - offset;
        const delayMs = Math.max(s.initialBackoffMs, Math.min(base + jitter, s.maxBackoffMs));
        this.lastRestartAt = now + delayMs;
        if (++this.attempt > s.attemptsBeforeReset) {
          return { restart: false, reason: `restart-strategy.exponential-delay.attempts-before-reset-backoff (${s.attemptsBeforeReset}) used up` };
        }
        return { restart: true, delayMs };
      }
    }
  }
}
