import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { tryParseDuration } from '../../src/config/duration.js';
import { applyConfig, defaultJobConfig, resetConfig } from '../../src/config/job-config.js';
import { prepareJob } from '../../src/cli/job-file.js';
import '../../connectors/index.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import {
  completedCheckpoints,
  expectContiguous,
  idStats,
  lines,
  readMetadata,
  runOk,
  runWeir,
  sequenceJobSql,
  startRunning,
  tempDir,
  waitFor,
  writeFile,
} from './cli-helpers.js';

/** Flink option names: parsing (in process) and their effect on a real run (through the CLI). */
describe('job configuration', () => {
  it('parses Flink durations', () => {
    expect(tryParseDuration('200ms')).toBe(200);
    expect(tryParseDuration('10 s')).toBe(10_000);
    expect(tryParseDuration('1 min')).toBe(60_000);
    expect(tryParseDuration('2 minutes')).toBe(120_000);
    expect(tryParseDuration('1h')).toBe(3_600_000);
    expect(tryParseDuration('1500')).toBe(1500);
    expect(tryParseDuration('0')).toBe(0);
    expect(tryParseDuration('fast')).toBeUndefined();
    expect(tryParseDuration('10 parsecs')).toBeUndefined();
    expect(tryParseDuration('-1 s')).toBeUndefined();
  });

  it('maps every documented key', () => {
    const c = defaultJobConfig();
    const set = (k: string, v: string): void => expect(applyConfig(c, k, v)).toBeUndefined();
    set('pipeline.name', 'orders');
    set('execution.checkpointing.interval', '10 s');
    set('execution.checkpointing.mode', 'at_least_once');
    set('execution.checkpointing.timeout', '1 min');
    set('execution.checkpointing.min-pause', '200ms');
    set('state.checkpoints.num-retained', '3');
    set('state.checkpoints.dir', 'file:///var/weir');
    set('parallelism.default', '4');
    set('restart-strategy.type', 'fixed-delay');
    set('restart-strategy.fixed-delay.attempts', '5');
    set('restart-strategy.fixed-delay.delay', '2 s');
    set('execution.savepoint.path', '/var/weir/orders/savepoints/sp');
    set('table.exec.mini-batch.enabled', 'true'); // a Flink planner key: accepted without a warning
    expect(c).toMatchObject({
      pipelineName: 'orders',
      checkpointIntervalMs: 10_000,
      checkpointMode: 'AT_LEAST_ONCE',
      checkpointTimeoutMs: 60_000,
      checkpointMinPauseMs: 200,
      numRetained: 3,
      checkpointDir: '/var/weir',
      parallelism: 4,
      restartStrategy: { type: 'fixed-delay', attempts: 5, delayMs: 2000 },
      savepointPath: '/var/weir/orders/savepoints/sp',
    });
    set('restart-strategy.type', 'none');
    expect(c.restartStrategy).toEqual({ type: 'none' });
    // RESET of one key restores its default and keeps the others
    const r = resetConfig(c, 'parallelism.default');
    expect(r.parallelism).toBe(1);
    expect(r.pipelineName).toBe('orders');
  });

  it('warns about unknown keys, with a suggestion for near misses of known ones', () => {
    const c = defaultJobConfig();
    expect(applyConfig(c, 'state.checkpoints.num-retaind', '2')).toBe(
      "unknown configuration key 'state.checkpoints.num-retaind' (kept, but weir does not read it); did you mean 'state.checkpoints.num-retained'?",
    );
    expect(applyConfig(c, 'execution.runtime-mode', 'streaming')).toBe("unknown configuration key 'execution.runtime-mode' (kept, but weir does not read it)");
    expect(c.raw.get('execution.runtime-mode')).toBe('streaming');
  });

  it('--set wins over SET in the file', () => {
    const sql = `SET 'parallelism.default' = '2';\nSET 'execution.checkpointing.interval' = '5 s';\n${sequenceJobSql({ db: '/tmp/unused.duckdb', end: 1 })}`;
    const job = prepareJob(sql, '/jobs/nightly.sql', ['parallelism.default=3']);
    expect(job.jobName).toBe('nightly');
    expect(job.config.parallelism).toBe(3);
    expect(job.config.checkpointIntervalMs).toBe(100); // the later SET in the file wins over the earlier one
  });

  it('warnings about unknown keys show control characters escaped, never raw', () => {
    const sql = `SET 'pipeline.nam\u001b[31me' = 'x';\n${sequenceJobSql({ db: '/tmp/unused.duckdb', end: 1 })}`;
    const job = prepareJob(sql, '/jobs/esc.sql', ['state.\u0000x=1']);
    expect(job.warnings).toEqual([
      "/jobs/esc.sql:1:1: unknown configuration key 'pipeline.nam\\x1b[31me' (kept, but weir does not read it)",
      "--set: unknown configuration key 'state.\\x00x' (kept, but weir does not read it)",
    ]);
  });
});

describe('configuration through weir run', () => {
  it('execution.checkpointing.interval and state.checkpoints.num-retained shape the checkpoint folder', async () => {
    const dir = tempDir('cli-config');
    // '1 h' leaves only the final checkpoint of a bounded run; '50ms' one after another, of which
    // 2 are kept: that run goes on until checkpoint 5 exists, then stops with a final one.
    const slow = writeFile(dir, 'rare.sql', sequenceJobSql({ db: join(dir, 'rare.duckdb'), end: 1500, rowsPerSecond: 1000, interval: '1 h' }));
    const often = writeFile(
      dir,
      'often.sql',
      sequenceJobSql({
        db: join(dir, 'often.duckdb'),
        end: 100_000_000,
        rowsPerSecond: 1000,
        interval: '50ms',
        prelude: "SET 'state.checkpoints.num-retained' = '2';",
      }),
    );
    const oftenDir = join(dir, 'chk', 'often');
    const running = startRunning([often, '--checkpoint-dir', join(dir, 'chk'), '-q'], oftenDir);
    await runOk(['run', slow, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(completedCheckpoints(join(dir, 'chk', 'rare'))).toEqual([1]);
    expect(readMetadata(join(dir, 'chk', 'rare', 'chk-1')).final).toBe(true);
    await expectContiguous(join(dir, 'rare.duckdb'), 1500);

    const run = await running;
    await waitFor('checkpoint 5', () => Math.max(...completedCheckpoints(oftenDir)) >= 5, undefined, run);
    run.child.kill('SIGTERM');
    expect((await run.exit).code, run.stderr()).toBe(0);
    const kept = completedCheckpoints(oftenDir);
    expect(kept).toHaveLength(2);
    expect(kept[1]).toBeGreaterThan(5);
    const ids = await idStats(join(dir, 'often.duckdb'));
    expect(ids.max).toBeGreaterThan(0);
    expect(ids).toEqual({ count: ids.max, distinct: ids.max, min: 1, max: ids.max });
  });

  it('AT_LEAST_ONCE with parallelism 2: a GROUP BY still counts every row of a bounded run once', async () => {
    const dir = tempDir('cli-alo');
    const db = join(dir, 'agg.duckdb');
    const file = writeFile(
      dir,
      'alo.sql',
      `SET 'execution.checkpointing.mode' = 'AT_LEAST_ONCE';
SET 'execution.checkpointing.interval' = '50ms';
SET 'parallelism.default' = '2';
CREATE TABLE src (id BIGINT, k INT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '4000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2000',
  'fields.k.min' = '1', 'fields.k.max' = '7');
CREATE TABLE per_k (k INT, n BIGINT, ids BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'per_k');
INSERT INTO per_k SELECT k, COUNT(*), SUM(id) FROM src GROUP BY k;
`,
    );
    await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    expect(completedCheckpoints(join(dir, 'chk', 'alo')).length).toBeGreaterThanOrEqual(1);
    const [[keys, n, ids]] = await queryDuckDb(db, 'SELECT count(*), sum(n), sum(ids) FROM per_k');
    expect(keys).toBe(7);
    expect(n).toBe(2000);
    expect(ids).toBe((2000 * 2001) / 2);
  });

  it('restart-strategy: fixed-delay restarts after an external failure as often as configured, none never', async () => {
    const dir = tempDir('cli-restart');
    const db = join(dir, 'locked.duckdb');
    const file = writeFile(dir, 'locked.sql', sequenceJobSql({ db, end: 10 }));
    // this process holds the DuckDB file read-write, so the job's sink cannot open it
    const holder = await DuckDBInstance.create(db);
    try {
      const restartsOf = (stderr: string): number[] =>
        lines(stderr)
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg: string; restart?: number })
          .filter((l) => l.msg === 'job failed; restarting from the latest checkpoint')
          .map((l) => l.restart!);
      const [fixed, none] = await Promise.all([
        runWeir([
          'run',
          file,
          '--checkpoint-dir',
          join(dir, 'a'),
          '-q',
          '--set',
          'restart-strategy.type=fixed-delay',
          '--set',
          'restart-strategy.fixed-delay.attempts=2',
          '--set',
          'restart-strategy.fixed-delay.delay=50ms',
        ]),
        runWeir(['run', file, '--checkpoint-dir', join(dir, 'b'), '-q', '--set', 'restart-strategy.type=none']),
      ]);
      for (const r of [fixed, none]) {
        expect(r.code).toBe(1);
        expect(lines(r.stderr).filter((l) => l.startsWith('error: '))).toEqual([expect.stringMatching(new RegExp(`^error: DuckDB: cannot open '${db}': `))]);
      }
      expect(restartsOf(fixed.stderr)).toEqual([1, 2]);
      expect(restartsOf(none.stderr)).toEqual([]);
    } finally {
      holder.closeSync();
    }
  });
});
