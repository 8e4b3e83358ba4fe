import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { queryDuckDb } from '../support/duckdb-read.js';
import { runWeir, runWithKills, seededRandom, tempDir } from '../support/weir-process.js';
import { checkpointModes, expectSharedStateFiles } from './checkpoint-modes.js';
import { ROWS, writeScenario, type Scenario } from './crash-scenarios.js';

/**
 * Crash tests: `weir run` as a real process, killed with SIGKILL at random moments at least five
 * times and restarted each time with `--from-checkpoint latest`; when it finally exits 0 its
 * output must equal an uninterrupted run's exactly (nothing lost, nothing twice). Parallelism 1
 * runs with full checkpoints, parallelism 3 with incremental ones (the crashed runs; the reference
 * run takes full snapshots).
 */
const KILLS = 5;

async function uninterrupted(scenario: Scenario, parallelism: number): Promise<unknown[][]> {
  const dir = tempDir(`crash-ref-${scenario}`);
  const s = writeScenario(dir, scenario, parallelism);
  const r = await runWeir(['run', s.jobFile, '--checkpoint-dir', join(dir, 'chk'), '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return read(s.target, s.resultQuery);
}

async function read(target: string, sql: string): Promise<unknown[][]> {
  return target.endsWith('.duckdb') ? queryDuckDb(target, sql) : queryDuckDb(':memory:', sql);
}

async function withCrashes(scenario: Scenario, parallelism: number, incremental: boolean, seed: number): Promise<{ rows: unknown[][]; kills: number }> {
  const dir = tempDir(`crash-${scenario}`);
  const s = writeScenario(dir, scenario, parallelism, { incremental });
  const random = seededRandom(seed);
  const args = ['run', s.jobFile, '--checkpoint-dir', join(dir, 'chk'), '--from-checkpoint', 'latest', '-q'];
  const kills = await runWithKills(args, { kills: KILLS, random, label: `seed ${seed}` });
  if (incremental) expectSharedStateFiles(join(dir, 'chk'), `crash-${scenario}`, `seed ${seed}`);
  return { rows: await read(s.target, s.resultQuery), kills };
}

describe.each(checkpointModes(1, 3))('crash recovery, parallelism %i, %s', (parallelism, _mode, incremental) => {
  it.each<Scenario>(['aggregate-upsert', 'projection-append', 'filesystem-parquet'])(
    '%s: SIGKILL at random moments, restart from latest, output equals the uninterrupted run',
    async (scenario) => {
      const seed = Number(process.env.WEIR_CRASH_SEED ?? Date.now() % 100000);
      const expected = await uninterrupted(scenario, parallelism);
      const { rows, kills } = await withCrashes(scenario, parallelism, incremental, seed);
      expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(KILLS);
      expect(rows.length, `seed ${seed}`).toBe(expected.length);
      expect(rows, `seed ${seed}`).toEqual(expected);
      if (scenario === 'aggregate-upsert') {
        const total = rows.reduce((acc: number, r) => acc + Number(r[1]), 0);
        expect(total).toBe(ROWS);
      } else {
        const ids = new Set(rows.map((r) => r[0]));
        expect(ids.size).toBe(rows.length);
        expect(rows.length).toBeGreaterThan(ROWS * 0.4);
      }
    },
    300_000,
  );
});
