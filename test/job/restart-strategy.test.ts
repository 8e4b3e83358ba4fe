/**
 * The restart strategies' arithmetic against Flink's (ExponentialDelay-, FixedDelay- and
 * FailureRateRestartBackoffTimeStrategy), and which failures are restarted at all.
 */
import { describe, expect, it } from 'vitest';
import { externalError, internalError, userError } from '../../src/errors.js';
import type { RestartStrategy } from '../../src/config/restart-config.js';
import { classifyFailure, INTERNAL_RESTART_LIMIT, RestartPolicy } from '../../src/job/restart-strategy.js';

const outage = externalError('POSTGRES', 'PostgreSQL at 127.0.0.1:5432/db: connect ECONNREFUSED');
const exponential = (over: Partial<Extract<RestartStrategy, { type: 'exponential-delay' }>> = {}): RestartStrategy => ({
  type: 'exponential-delay',
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  multiplier: 1.5,
  jitterFactor: 0,
  resetThresholdMs: 3_600_000,
  attemptsBeforeReset: Number.POSITIVE_INFINITY,
  ...over,
});

/** Delays of consecutive failures, each `gapMs` after the previous restart ran. */
function delays(p: RestartPolicy, n: number, gapMs = 10): (number | string)[] {
  const out: (number | string)[] = [];
  let now = 1_000_000;
  for (let i = 0; i < n; i++) {
    const d = p.onFailure(outage, now, false);
    out.push(d.restart ? d.delayMs : d.reason);
    now += (d.restart ? d.delayMs : 0) + gapMs;
  }
  return out;
}

describe('exponential-delay', () => {
  it('multiplies the backoff up to max-backoff and keeps restarting (no attempt limit by default)', () => {
    const d = delays(new RestartPolicy(exponential()), 14);
    expect(d.slice(0, 6)).toEqual([1000, 1500, 2250, 3375, 5062, 7593]);
    expect(d.slice(-3)).toEqual([60_000, 60_000, 60_000]);
  });

  it('jitter moves each backoff by at most jitter-factor of it, never below initial-backoff', () => {
    const low = new RestartPolicy(exponential({ jitterFactor: 0.1 }), () => 0);
    const high = new RestartPolicy(exponential({ jitterFactor: 0.1 }), () => 0.999999);
    expect(delays(low, 3)).toEqual([1000, 1350, 2025]); // the first one is held at initial-backoff
    expect(delays(high, 3)).toEqual([1100, 1650, 2475]);
  });

  it('resets to initial-backoff once the job ran for reset-backoff-threshold since its last restart', () => {
    const p = new RestartPolicy(exponential({ resetThresholdMs: 60_000 }));
    expect(p.onFailure(outage, 0, false)).toEqual({ restart: true, delayMs: 1000 });
    expect(p.onFailure(outage, 2000, false)).toEqual({ restart: true, delayMs: 1500 });
    // the last restart ran at 3500; 60 s later the backoff starts over
    expect(p.onFailure(outage, 63_499, false)).toEqual({ restart: true, delayMs: 2250 });
    expect(p.onFailure(outage, 65_749 + 60_000, false)).toEqual({ restart: true, delayMs: 1000 });
  });

  it('attempts-before-reset-backoff limits the restarts until the backoff resets', () => {
    const p = new RestartPolicy(exponential({ attemptsBeforeReset: 2, resetThresholdMs: 60_000 }));
    expect(delays(p, 3)).toEqual([1000, 1500, 'restart-strategy.exponential-delay.attempts-before-reset-backoff (2) used up']);
    const q = new RestartPolicy(exponential({ attemptsBeforeReset: 1, resetThresholdMs: 60_000 }));
    expect(q.onFailure(outage, 0, false).restart).toBe(true);
    expect(q.onFailure(outage, 61_000 + 1000, false)).toEqual({ restart: true, delayMs: 1000 });
  });

  it('does not overflow after thousands of restarts', () => {
    const d = delays(new RestartPolicy(exponential({ jitterFactor: 0.1 })), 3000);
    expect(d.every((x) => typeof x === 'number' && x >= 1000 && x <= 60_000)).toBe(true);
  });
});

describe('fixed-delay and failure-rate', () => {
  it('fixed-delay: attempts restarts, delay apart', () => {
    expect(delays(new RestartPolicy({ type: 'fixed-delay', attempts: 2, delayMs: 500 }), 3)).toEqual([
      500,
      500,
      'restart-strategy.fixed-delay.attempts (2) used up',
    ]);
    expect(delays(new RestartPolicy({ type: 'none' }), 1)).toEqual(["restart-strategy.type is 'none'"]);
  });

  it('failure-rate: at most max-failures-per-interval failures within any failure-rate-interval', () => {
    const p = new RestartPolicy({ type: 'failure-rate', maxFailuresPerInterval: 2, intervalMs: 1000, delayMs: 0 });
    const at = (t: number): boolean => p.onFailure(outage, t, false).restart;
    expect([at(0), at(100), at(1200), at(1300), at(1400)]).toEqual([true, true, true, true, false]);
    const q = new RestartPolicy({ type: 'failure-rate', maxFailuresPerInterval: 2, intervalMs: 1000, delayMs: 0 });
    expect([q.onFailure(outage, 0, false).restart, q.onFailure(outage, 100, false).restart, q.onFailure(outage, 200, false).restart]).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('which failures are restarted', () => {
  it('classifies user, non-retriable external, retriable external, raw socket and internal errors', () => {
    expect(classifyFailure(userError('SQL_INVALID', 'bad'))).toBe('user');
    expect(classifyFailure(externalError('PG_COMMIT_LOST', 'lost', { retriable: false }))).toBe('fatal');
    expect(classifyFailure(outage)).toBe('retriable');
    expect(classifyFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' }))).toBe('retriable');
    expect(classifyFailure(internalError('broken invariant'))).toBe('internal');
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('internal');
  });

  it('user errors and non-retriable external errors fail at once, whatever the strategy', () => {
    const p = new RestartPolicy(exponential());
    expect(p.onFailure(userError('EXPR_EVAL', "invalid value 'x' for INT"), 0, false)).toEqual({
      restart: false,
      reason: 'a user error: restarting cannot help',
    });
    expect(p.onFailure(externalError('PG_COMMIT_LOST', 'lost', { retriable: false }), 0, false).restart).toBe(false);
  });

  it(`internal errors: at most ${INTERNAL_RESTART_LIMIT} restarts in a row without a completed checkpoint`, () => {
    const p = new RestartPolicy(exponential());
    const bug = new TypeError('x is undefined');
    const run = (progressed: boolean[]): boolean[] => progressed.map((pr, i) => p.onFailure(bug, i * 100_000, pr).restart);
    expect(run([false, false, false, false])).toEqual([true, true, true, false]);
    const q = new RestartPolicy(exponential());
    // a checkpoint completed between failures: the bug is rare, not a crash loop
    expect(Array.from({ length: 6 }, (_, i) => q.onFailure(bug, i * 100_000, i % 2 === 1).restart)).toEqual([true, true, true, true, true, true]);
    // external outages are not limited by this
    const r = new RestartPolicy(exponential());
    expect(Array.from({ length: 20 }, (_, i) => r.onFailure(outage, i * 100_000, false).restart).every(Boolean)).toBe(true);
  });
});
