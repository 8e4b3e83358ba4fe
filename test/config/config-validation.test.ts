/**
 * Every configuration key weir reads is checked when it is set: an out-of-range or malformed value
 * is a user error naming the key, the value and what is allowed, through applyConfig, a job file's
 * SET (with its position), `weir run --set` and `weir sql`'s SET, and leaves the configuration as
 * it was. Restart strategies are derived from the restart-strategy.* keys as Flink does.
 */
import { describe, expect, it } from 'vitest';
import { applyConfig, defaultJobConfig, KNOWN_CONFIG_KEYS, resetConfig, type JobConfig } from '../../src/config/job-config.js';
import { RESTART_KEYS } from '../../src/config/restart-config.js';
import { prepareJob } from '../../src/cli/job-file.js';
import { RESULT_MODE_KEY } from '../../src/cli/sql/session.js';
import { isWeirError } from '../../src/errors.js';
import { STATE_TTL_KEY } from '../../src/plan/physical-config.js';
import { IDLE_TIMEOUT_CONFIG } from '../../src/plan/source-watermark.js';
import { KEY_GROUPS } from '../../src/model/partition.js';
import { runShell } from '../cli/sql/sql-helpers.js';
import { escapeRe, expectUserError, runWeir, tempDir, writeFile } from '../cli/cli-helpers.js';

/** The user error applyConfig throws for key = value (fails the test when it accepts it). */
function rejection(key: string, value: string, c: JobConfig = defaultJobConfig()): string {
  const before = new Map(c.raw);
  try {
    applyConfig(c, key, value);
  } catch (e) {
    if (!isWeirError(e) || e.domain !== 'user') throw e;
    // a rejected value is not kept
    expect(c.raw).toEqual(before);
    return e.message;
  }
  throw new Error(`'${key}' = '${value}' was accepted`);
}

const DURATION = (key: string, value: string): string => `'${key}' must be a duration such as '200ms', '10 s' or '1 min', got '${value}'`;

/** [key, bad value, the message] for every key weir reads. */
const REJECTED: [string, string, string][] = [
  ['parallelism.default', '129', `'parallelism.default' must be an integer from 1 to ${KEY_GROUPS}, got '129'`],
  ['parallelism.default', '0', "'parallelism.default' must be an integer from 1 to 128, got '0'"],
  ['parallelism.default', '1.5', "'parallelism.default' must be an integer from 1 to 128, got '1.5'"],
  ['parallelism.default', '0x10', "'parallelism.default' must be an integer from 1 to 128, got '0x10'"],
  ['parallelism.default', '', "'parallelism.default' must be an integer from 1 to 128, got ''"],
  [STATE_TTL_KEY, '1 hh', DURATION(STATE_TTL_KEY, '1 hh')],
  [STATE_TTL_KEY, '-1 s', DURATION(STATE_TTL_KEY, '-1 s')],
  [STATE_TTL_KEY, '99999999999999999999 d', DURATION(STATE_TTL_KEY, '99999999999999999999 d')],
  [IDLE_TIMEOUT_CONFIG, 'soon', DURATION(IDLE_TIMEOUT_CONFIG, 'soon')],
  [RESULT_MODE_KEY, 'grid', `'${RESULT_MODE_KEY}' must be one of table, changelog, tableau, got 'grid'`],
  [
    'execution.checkpointing.interval',
    '5ms',
    "'execution.checkpointing.interval' must be 0 (no periodic checkpoints) or a duration from 10 ms to 24 d, got '5ms'",
  ],
  [
    'execution.checkpointing.interval',
    '30 d',
    "'execution.checkpointing.interval' must be 0 (no periodic checkpoints) or a duration from 10 ms to 24 d, got '30 d'",
  ],
  ['execution.checkpointing.interval', '1 hh', DURATION('execution.checkpointing.interval', '1 hh')],
  ['execution.checkpointing.timeout', '0', "'execution.checkpointing.timeout' must be a duration from 10 ms to 24 d, got '0'"],
  ['execution.checkpointing.min-pause', '25 d', "'execution.checkpointing.min-pause' must be a duration from 0 ms to 24 d, got '25 d'"],
  ['execution.checkpointing.mode', 'SOMETIMES', "'execution.checkpointing.mode' must be one of EXACTLY_ONCE, AT_LEAST_ONCE, got 'SOMETIMES'"],
  ['state.backend.type', 'filesystem', "'state.backend.type' must be one of hashmap, rocksdb, got 'filesystem'"],
  [
    'state.backend.rocksdb.localdir',
    '',
    "'state.backend.rocksdb.localdir' must be a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system), got ''",
  ],
  [
    'state.backend.local-dir',
    's3://bucket/state',
    "'state.backend.local-dir' must be a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system), got 's3://bucket/state'",
  ],
  ['state.checkpoints.num-retained', '0', "'state.checkpoints.num-retained' must be an integer >= 1, got '0'"],
  ['state.checkpoints.num-retained', '1e3', "'state.checkpoints.num-retained' must be an integer >= 1, got '1e3'"],
  ['state.checkpoints.num-retained', '3000000000', "'state.checkpoints.num-retained' must be an integer >= 1, got '3000000000'"],
  [
    'state.checkpoints.dir',
    's3://bucket/chk',
    "'state.checkpoints.dir' must be a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system), got 's3://bucket/chk'",
  ],
  [
    'execution.checkpointing.dir',
    '',
    "'execution.checkpointing.dir' must be a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system), got ''",
  ],
  [
    'execution.savepoint.path',
    'hdfs:///sp',
    "'execution.savepoint.path' must be a local folder (a path or a file:// URI; weir keeps checkpoints on the local file system), got 'hdfs:///sp'",
  ],
  ['execution.savepoint.ignore-unclaimed-state', 'yes', "'execution.savepoint.ignore-unclaimed-state' must be true or false, got 'yes'"],
  ['execution.checkpointing.incremental', 'on', "'execution.checkpointing.incremental' must be true or false, got 'on'"],
  ['state.backend.incremental', '1', "'state.backend.incremental' must be true or false, got '1'"],
  [
    'pipeline.name',
    '../up',
    "invalid job name '../up' (from 'pipeline.name'): it names the checkpoint folder, so it cannot be empty, '.', '..' or contain '/' or '\\'",
  ],
  [
    'restart-strategy.type',
    'sometimes',
    "'restart-strategy.type' must be one of exponential-delay, fixed-delay, failure-rate, disable, none, off (or exponentialdelay, fixeddelay, failurerate), got 'sometimes'",
  ],
  [
    'restart-strategy',
    'always',
    "'restart-strategy' must be one of exponential-delay, fixed-delay, failure-rate, disable, none, off (or exponentialdelay, fixeddelay, failurerate), got 'always'",
  ],
  ['restart-strategy.fixed-delay.attempts', '-1', "'restart-strategy.fixed-delay.attempts' must be an integer >= 0, got '-1'"],
  ['restart-strategy.fixed-delay.delay', '1 hh', DURATION('restart-strategy.fixed-delay.delay', '1 hh')],
  [
    'restart-strategy.failure-rate.max-failures-per-interval',
    '0',
    "'restart-strategy.failure-rate.max-failures-per-interval' must be an integer >= 1, got '0'",
  ],
  ['restart-strategy.failure-rate.failure-rate-interval', '0', "'restart-strategy.failure-rate.failure-rate-interval' must be a duration >= 1 ms, got '0'"],
  ['restart-strategy.failure-rate.delay', '30 d', "'restart-strategy.failure-rate.delay' must be a duration from 0 ms to 24 d, got '30 d'"],
  [
    'restart-strategy.exponential-delay.initial-backoff',
    '0',
    "'restart-strategy.exponential-delay.initial-backoff' must be a duration from 1 ms to 24 d, got '0'",
  ],
  ['restart-strategy.exponential-delay.max-backoff', '1 hh', DURATION('restart-strategy.exponential-delay.max-backoff', '1 hh')],
  ['restart-strategy.exponential-delay.backoff-multiplier', '1', "'restart-strategy.exponential-delay.backoff-multiplier' must be a number > 1, got '1'"],
  [
    'restart-strategy.exponential-delay.backoff-multiplier',
    'Infinity',
    "'restart-strategy.exponential-delay.backoff-multiplier' must be a number > 1, got 'Infinity'",
  ],
  ['restart-strategy.exponential-delay.jitter-factor', '1.5', "'restart-strategy.exponential-delay.jitter-factor' must be a number from 0 to 1, got '1.5'"],
  [
    'restart-strategy.exponential-delay.reset-backoff-threshold',
    '0',
    "'restart-strategy.exponential-delay.reset-backoff-threshold' must be a duration >= 1 ms, got '0'",
  ],
  [
    'restart-strategy.exponential-delay.attempts-before-reset-backoff',
    '0',
    "'restart-strategy.exponential-delay.attempts-before-reset-backoff' must be an integer >= 1, got '0'",
  ],
];

const ACCEPTED: [string, string][] = [
  ['parallelism.default', `${KEY_GROUPS}`],
  ['parallelism.default', ' 3 '],
  [STATE_TTL_KEY, '1 h'],
  ['state.backend.type', 'hashmap'],
  ['state.backend.type', 'rocksdb'],
  ['state.backend.local-dir', '/var/tmp/weir-state'],
  ['state.backend.rocksdb.localdir', 'file:///var/tmp/weir-state'],
  [STATE_TTL_KEY, '0'],
  [IDLE_TIMEOUT_CONFIG, '500 ms'],
  [RESULT_MODE_KEY, 'TABLEAU'],
  ['execution.checkpointing.interval', '0'],
  ['execution.checkpointing.interval', '10ms'],
  ['execution.checkpointing.timeout', '24 d'],
  ['state.checkpoints.dir', 'file:///var/weir'],
  ['restart-strategy.type', 'exponentialdelay'],
  ['restart-strategy.type', 'OFF'],
  ['restart-strategy.exponential-delay.backoff-multiplier', '2'],
  ['restart-strategy.exponential-delay.jitter-factor', '0'],
  ['restart-strategy.exponential-delay.attempts-before-reset-backoff', '2147483647'],
];

describe('configuration values are checked when set', () => {
  it.each(REJECTED)('%s = %j is rejected', (key, value, message) => {
    expect(rejection(key, value)).toBe(message);
  });

  it.each(ACCEPTED)('%s = %j is accepted', (key, value) => {
    const c = defaultJobConfig();
    expect(applyConfig(c, key, value)).toBeUndefined();
    expect(c.raw.get(key)).toBe(value);
  });

  it('covers every key weir reads', () => {
    const tested = new Set([...REJECTED.map(([k]) => k)]);
    expect([...KNOWN_CONFIG_KEYS, RESULT_MODE_KEY].filter((k) => !tested.has(k))).toEqual([]);
  });

  it('a near miss of a table.* key weir reads gets a hint; other table.* keys pass quietly', () => {
    const c = defaultJobConfig();
    expect(applyConfig(c, 'table.exec.state.tll', '1 h')).toBe(
      "configuration key 'table.exec.state.tll' is not read by weir; did you mean 'table.exec.state.ttl'?",
    );
    expect(applyConfig(c, 'table.exec.mini-batch.enabled', 'true')).toBeUndefined();
    // a key of Object.prototype is just an unknown key
    expect(applyConfig(c, 'constructor', 'x')).toBe("unknown configuration key 'constructor' (kept, but weir does not read it)");
  });
});

describe('restart strategies from the restart-strategy.* keys', () => {
  const EXPONENTIAL = {
    type: 'exponential-delay',
    initialBackoffMs: 1000,
    maxBackoffMs: 60_000,
    multiplier: 1.5,
    jitterFactor: 0.1,
    resetThresholdMs: 3_600_000,
    attemptsBeforeReset: Number.POSITIVE_INFINITY,
  };
  const withSets = (...sets: [string, string][]): JobConfig => {
    const c = defaultJobConfig();
    for (const [k, v] of sets) applyConfig(c, k, v);
    return c;
  };

  it("defaults to Flink's: exponential-delay with checkpointing on, none with it off", () => {
    expect(defaultJobConfig().restartStrategy).toEqual(EXPONENTIAL);
    expect(withSets(['execution.checkpointing.interval', '0']).restartStrategy).toEqual({ type: 'none' });
    // the order of the SETs does not matter
    expect(withSets(['execution.checkpointing.interval', '0'], ['restart-strategy.type', 'exponential-delay']).restartStrategy).toEqual(EXPONENTIAL);
  });

  it('reads every exponential-delay key', () => {
    const c = withSets(
      ['restart-strategy.type', 'exponential-delay'],
      ['restart-strategy.exponential-delay.initial-backoff', '200 ms'],
      ['restart-strategy.exponential-delay.max-backoff', '5 s'],
      ['restart-strategy.exponential-delay.backoff-multiplier', '2.5'],
      ['restart-strategy.exponential-delay.jitter-factor', '0'],
      ['restart-strategy.exponential-delay.reset-backoff-threshold', '10 min'],
      ['restart-strategy.exponential-delay.attempts-before-reset-backoff', '7'],
    );
    expect(c.restartStrategy).toEqual({
      type: 'exponential-delay',
      initialBackoffMs: 200,
      maxBackoffMs: 5000,
      multiplier: 2.5,
      jitterFactor: 0,
      resetThresholdMs: 600_000,
      attemptsBeforeReset: 7,
    });
  });

  it("fixed-delay and failure-rate with Flink's defaults; aliases and the deprecated key", () => {
    expect(withSets(['restart-strategy.type', 'fixeddelay']).restartStrategy).toEqual({ type: 'fixed-delay', attempts: 1, delayMs: 1000 });
    expect(withSets(['restart-strategy', 'failurerate']).restartStrategy).toEqual({
      type: 'failure-rate',
      maxFailuresPerInterval: 1,
      intervalMs: 60_000,
      delayMs: 1000,
    });
    expect(withSets(['restart-strategy.type', 'disable']).restartStrategy).toEqual({ type: 'none' });
    // the new key wins over the deprecated one
    expect(withSets(['restart-strategy.type', 'none'], ['restart-strategy', 'fixed-delay']).restartStrategy).toEqual({ type: 'none' });
  });

  it("a strategy's key without a type selects that strategy (weir); an explicit type wins", () => {
    expect(withSets(['restart-strategy.fixed-delay.attempts', '4']).restartStrategy).toEqual({ type: 'fixed-delay', attempts: 4, delayMs: 1000 });
    const c = withSets(['restart-strategy.fixed-delay.attempts', '4'], ['restart-strategy.type', 'exponential-delay']);
    expect(c.restartStrategy).toEqual(EXPONENTIAL);
    // RESET of the type: back to the strategy the remaining keys select
    expect(resetConfig(c, 'restart-strategy.type').restartStrategy).toEqual({ type: 'fixed-delay', attempts: 4, delayMs: 1000 });
  });

  it('lists every restart key as known (completion, did-you-mean)', () => {
    for (const k of RESTART_KEYS) expect(KNOWN_CONFIG_KEYS).toContain(k);
  });
});

const JOB =
  "CREATE TABLE s (x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');\nCREATE TABLE t (x INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT x FROM s;\n";

describe('rejected where the user sets them', () => {
  it('job file SET (with its position) and --set', () => {
    const job = `SET 'pipeline.name' = 'j';\nSET 'table.exec.state.ttl' = '1 hh';\n${JOB}`;
    expect(() => prepareJob(job, '/jobs/j.sql')).toThrow(
      expect.objectContaining({ position: { line: 2, column: 1 }, message: DURATION('table.exec.state.ttl', '1 hh') }),
    );
    expect(() => prepareJob(JOB, '/jobs/j.sql', ['parallelism.default=129'])).toThrow(
      "--set parallelism.default=129: 'parallelism.default' must be an integer from 1 to 128, got '129'",
    );
  });

  it('weir run --set parallelism.default=129: one line, exit 1, before anything runs', async () => {
    const dir = tempDir('config-reject');
    const file = writeFile(dir, 'job.sql', JOB);
    const r = await runWeir(['run', file, '--checkpoint-dir', `${dir}/chk`, '--set', 'parallelism.default=129']);
    expectUserError(r, "error: --set parallelism.default=129: 'parallelism.default' must be an integer from 1 to 128, got '129'");
  });

  it("weir sql: SET 'table.exec.state.ttl' = '1 hh' is an error at the statement and the value is not kept", async () => {
    const r = await runShell("SET 'table.exec.state.ttl' = '1 hh';\nSET 'parallelism.default' = '129';\nSET;\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^\\[ERROR\\] 1:1: ${escapeRe(DURATION('table.exec.state.ttl', '1 hh'))}\\n`));
    expect(r.stderr).toContain("[ERROR] 2:1: 'parallelism.default' must be an integer from 1 to 128, got '129'");
    expect(r.stdout).toContain('Empty set');
  });
});
