import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/**
 * The checkpoint modes the crash tests run in: the lower parallelism with whole (full) snapshots
 * on the default `hashmap` backend, the higher one with incremental checkpoints
 * (`execution.checkpointing.incremental`) on the `rocksdb` backend (asynchronous snapshots, state
 * on disk), so both backends and both checkpoint kinds stay covered without running every test
 * twice. Only the crashed runs take these options: the uninterrupted reference run stays on full
 * snapshots in the heap, so the comparison also checks rocksdb and incremental against them.
 *
 * `describe.each` rows: [parallelism, mode for the test name ('full checkpoints' or 'incremental
 * checkpoints'), incremental], for titles like `..., parallelism %i, %s`.
 */
export type CheckpointMode = [parallelism: number, mode: string, incremental: boolean];

export function checkpointModes(full: number, incremental: number): CheckpointMode[] {
  return [
    [full, 'full checkpoints', false],
    [incremental, 'incremental checkpoints on rocksdb', true],
  ];
}

/** The job file's SET lines for the mode (empty for full checkpoints on hashmap, the defaults). */
export function incrementalSetting(incremental: boolean | undefined): string {
  return incremental === true ? "SET 'execution.checkpointing.incremental' = 'true';\nSET 'state.backend.type' = 'rocksdb';" : '';
}

/**
 * Incremental checkpoints keep their state files in `<checkpoint-dir>/<pipeline.name>/shared/`,
 * named `chk-<n>-<uid>-<subtask>.state`: after the final run the retained checkpoints still name
 * some, so none there means the option did nothing.
 */
export function expectSharedStateFiles(checkpointDir: string, jobName: string, label: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(join(checkpointDir, jobName, 'shared'));
  } catch {
    // No shared folder: the assertion below fails with the message.
  }
  const stateFiles = names.filter((n) => /^chk-\d+-.+\.state$/.test(n));
  expect(stateFiles.length, `shared state files of ${jobName} (${label})`).toBeGreaterThan(0);
}
