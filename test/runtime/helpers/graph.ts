import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schema } from '../../../src/model/types.js';
import { registerTempDir } from '../../support/temp-dirs.js';
import { silentLogger } from '../../../src/log.js';
import type { JobGraph, JobVertex, Partitioning } from '../../../src/runtime/job-graph.js';
import type { JobOptions } from '../../../src/job/job-options.js';
import type { Operator } from '../../../src/runtime/operator.js';
import type { Source } from '../../../src/runtime/source.js';
import { RowKind } from '../../../src/model/changelog.js';

export type Stage =
  | { kind: 'source'; uid: string; parallelism: number; source: Source; schema: Schema }
  | {
      kind: 'operator';
      uid: string;
      parallelism: number;
      create: () => Operator;
      schema: Schema;
      /** How rows reach this stage from the previous one. */
      partitioning: Partitioning;
      isSink?: boolean;
    };

/** A linear pipeline: stage i feeds stage i + 1. */
export function pipeline(jobName: string, stages: Stage[]): JobGraph {
  const vertices: JobVertex[] = stages.map((s, id) =>
    s.kind === 'source'
      ? {
          kind: 'source',
          id,
          uid: s.uid,
          name: s.uid,
          description: '',
          parallelism: s.parallelism,
          outputSchema: s.schema,
          changelogMode: 'insert-only',
          source: s.source,
        }
      : {
          kind: 'operator',
          id,
          uid: s.uid,
          name: s.uid,
          description: '',
          parallelism: s.parallelism,
          outputSchema: s.schema,
          changelogMode: 'updating',
          createOperator: s.create,
          isSink: s.isSink ?? false,
        },
  );
  const edges = stages.slice(1).map((s, i) => ({
    source: i,
    target: i + 1,
    targetInput: 0,
    partitioning: s.kind === 'operator' ? s.partitioning : ({ kind: 'forward' } as const),
  }));
  return { jobName, fingerprint: stages.map((s) => s.uid).join('|'), vertices, edges };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-rt-'));
  // Also removed after the test file if a caller never runs `cleanup` (see test/support/temp-dirs.ts).
  registerTempDir(dir);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function jobOptions(dir: string, over: Partial<JobOptions['checkpointing']> = {}, rest: Partial<JobOptions> = {}): JobOptions {
  return {
    checkpointDir: dir,
    // The timeout is a hang guard here: a checkpoint that is merely slow on a loaded machine must
    // not fail (tests of the timeout itself set their own).
    checkpointing: { intervalMs: 0, mode: 'EXACTLY_ONCE', timeoutMs: 60_000, minPauseMs: 0, numRetained: 3, ...over },
    restartStrategy: { type: 'none' },
    log: silentLogger,
    ...rest,
  };
}

/** Applies a committed changelog ([kind, key, value] rows) to a key -> value map. */
export function materialize(rows: readonly unknown[][]): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  for (const [kind, key, value] of rows) {
    if (kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER) m.set(key, value);
    else m.delete(key);
  }
  return m;
}

export function expectedSums(ids: readonly number[], keys = 10): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  for (const id of ids) m.set(id % keys, ((m.get(id % keys) as number) ?? 0) + id);
  return m;
}

export function sortedIds(rows: readonly unknown[][]): number[] {
  return rows.map((r) => r[1] as number).sort((a, b) => a - b);
}
