import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/**
 * The checkpoint modes the crash tests run in: the lower parallelism with whole (full) snapshots,
 * the higher one with incremental checkpoints (`execution.checkpointing.incremental`), so both
 * modes stay covered without running every test twice. Only the crashed runs take the option: the
 * uninterrupted reference run stays on full snapshots, so the comparison also checks incremental
 * against full.
 *
 * `describe.each` rows: [parallelism, mode for the test name ('full checkpoints' or 'incremental
 * checkpoints'), incremental], for titles like `..., parallelism %i, %s`.
 */
export type CheckpointMode = [parallelism: number, mode: string, incremental: boolean];

export function checkpointModes(full: number, incremental: number): CheckpointMode[] {
  return [
    [full, 'full checkpoints', false],
    [incremental, 'incremental checkpoints', true],
  ];
}

/** The job file's SET line for the mode (empty for full checkpoints, the default). */
export function incrementalSetting(incremental: boolean | undefined): string {
  return incremental === true ? "SET 'execution.checkpointing.incremental' = 'true';" : '';
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
