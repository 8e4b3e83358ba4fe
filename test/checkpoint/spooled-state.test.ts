import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prepareJob } from '../../src/cli/job-file.js';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { loadRestorePlan } from '../../src/checkpoint/restore.js';
import { planOptions } from '../../src/config/job-config.js';
import { startJob } from '../../src/job/job.js';
import { silentLogger } from '../../src/log.js';
import { keyGroupRange } from '../../src/model/partition.js';
import { planJob } from '../../src/plan/physical.js';
import { GROUP_STATE } from '../../src/runtime/operators/keyed-aggregate-disk.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import { snapshotLimits } from '../../src/state/rocks-snapshot.js';
import { SectionSpool, spoolDir } from '../../src/state/section-spool.js';
import { jobOptions, tempDir } from '../runtime/helpers/graph.js';
import '../../connectors/index.js';

/**
 * A rocksdb snapshot larger than what a snapshot holds in memory goes to a spool file as it is
 * read, and the checkpoint takes that file over: the job's checkpoint holds every key once, in
 * sections a restore with another parallelism reads, and no spool file is left behind.
 */
const saved = { ...snapshotLimits };
afterEach(() => {
  Object.assign(snapshotLimits, saved);
  vi.restoreAllMocks();
});

const KEYS = 3000;
const graphOf = (parallelism: number) => {
  const job = prepareJob(
    `SET 'state.backend.type' = 'rocksdb';
SET 'parallelism.default' = '${parallelism}';
CREATE TABLE src (k BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '${2 * KEYS}', 'fields.v.min' = '1', 'fields.v.max' = '1');
CREATE TABLE out (g BIGINT, c BIGINT, PRIMARY KEY (g) NOT ENFORCED) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT k % ${KEYS}, COUNT(*) FROM src GROUP BY k % ${KEYS};`,
    'spool.sql',
    [],
  );
  return { graph: planJob(job.inserts, job.catalog, { jobName: 'spool', ...planOptions(job.config) }), config: job.config };
};

/**
 * The job at `parallelism` on rocksdb, with the snapshot bounds lowered so that its final (whole)
 * snapshot spools, in sections of 8 groups; only a final checkpoint.
 */
async function startSpooling(parallelism: number) {
  snapshotLimits.spoolBytes = 2048;
  snapshotLimits.sectionEntries = 8;
  const { dir } = await tempDir();
  const localDir = join(dir, 'local');
  const { graph, config } = graphOf(parallelism);
  const running = startJob(graph, jobOptions(join(dir, 'chk'), { intervalMs: 0 }, { stateBackend: config.stateBackend, stateLocalDir: localDir }));
  return { running, localDir };
}

describe('spooled rocksdb snapshots', () => {
  it('a whole snapshot past the in-memory bound is written to a file the checkpoint takes over, and restores at another parallelism', async () => {
    const spools = vi.spyOn(SectionSpool, 'create');
    const { running, localDir } = await startSpooling(2);
    const done = await running.done;
    expect(done.state).toBe('FINISHED');
    const folder = done.lastCheckpoint!.path;
    const metadata = await readMetadata(folder);

    // the aggregate's files: a key group's groups in several sections, the file as long as they are
    const [uid, op] = Object.entries(metadata.operators).find(([, o]) => o.subtasks.some((s) => (s.sections?.length ?? 0) > 0))!;
    for (const s of op.subtasks) {
      expect(statSync(join(folder, s.stateFile!)).size).toBe(s.bytes);
      const perGroup = new Map<number, number>();
      for (const [kg] of s.sections!) perGroup.set(kg, (perGroup.get(kg) ?? 0) + 1);
      expect(Math.max(...perGroup.values())).toBeGreaterThan(1);
    }
    // both subtasks spooled, and no spool file stays behind
    expect(spools).toHaveBeenCalledTimes(2);
    const spool = spoolDir(localDir);
    expect(existsSync(spool) ? readdirSync(spool) : []).toEqual([]);

    // restored with parallelism 3 (into the heap backend's value state): every group once, with its count
    const plan = await loadRestorePlan(folder, metadata, graphOf(3).graph, false, silentLogger);
    const counts = new Map<unknown, unknown>();
    for (let subtask = 0; subtask < 3; subtask++) {
      const { keyed } = await plan.forOperator(uid, subtask, 3);
      const heap = new HeapKeyedStateBackend({ keyGroups: keyGroupRange(subtask, 3), ttlMs: 0, restored: keyed, label: 'check' });
      await heap.valueState<unknown, unknown[]>(GROUP_STATE).forEach((v, k) => {
        expect(counts.has(k)).toBe(false);
        counts.set(k, v);
      });
    }
    expect(counts.size).toBe(KEYS);
    // each group's row count and COUNT(*) are 2 (k and k + KEYS)
    for (const v of counts.values()) expect([Number((v as unknown[])[1]), Number((v as unknown[]).at(-1))]).toEqual([2, 2]);
  });

  it('a job canceled while a spooled snapshot is read stops reading it and deletes its file', async () => {
    let added = 0;
    let addedAtCancel = 0;
    let canceling: Promise<void> | undefined;
    const { running, localDir } = await startSpooling(1);
    const add = SectionSpool.prototype.add;
    vi.spyOn(SectionSpool.prototype, 'add').mockImplementation(async function (this: SectionSpool, kg, bytes) {
      if (++added === 5) {
        addedAtCancel = added;
        canceling = running.cancel();
      }
      return add.call(this, kg, bytes);
    });
    const outcome = await running.done;
    await canceling;
    expect(outcome.state).toBe('CANCELED');
    expect(addedAtCancel).toBe(5);
    // the snapshot (375 sections) stopped a few sections later, as soon as the task ended
    expect(added).toBeLessThan(100);
    const spool = spoolDir(localDir);
    expect(existsSync(spool) ? readdirSync(spool) : []).toEqual([]);
  });
});
