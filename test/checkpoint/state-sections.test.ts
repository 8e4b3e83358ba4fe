import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateFileName } from '../../src/checkpoint/layout.js';
import { readMetadata } from '../../src/checkpoint/metadata-files.js';
import { loadRestorePlan } from '../../src/checkpoint/restore.js';
import { silentLogger } from '../../src/log.js';
import { startJob } from '../../src/job/job.js';
import { jobOptions } from '../runtime/helpers/graph.js';
import { keyedJob, useTempDirs } from '../runtime/helpers/fixtures.js';
import { SinkRecorder } from '../runtime/helpers/test-sink.js';
import { deserializeState } from '../../src/state/serde.js';

const dir = useTempDirs();

describe('state files cut by key group', () => {
  it('a restore with another parallelism reads only the key groups a subtask now owns, verifying each', async () => {
    const d = await dir();
    const src = { splits: 2, rowsPerSplit: 2000, batchSize: 50, delayMs: 0, keys: 1000 };
    const graph = keyedJob('sections', new SinkRecorder(), src, { source: 2, sum: 2, sink: 1 });
    const done = await startJob(graph, jobOptions(d, { intervalMs: 0, numRetained: 1 })).done;
    expect(done.state).toBe('FINISHED');
    const folder = done.lastCheckpoint!.path;
    const metadata = await readMetadata(folder);
    const plan = async () =>
      loadRestorePlan(folder, metadata, keyedJob('sections', new SinkRecorder(), src, { source: 2, sum: 3, sink: 1 }), false, silentLogger);

    // every key group's section reaches exactly the new subtask owning it (0-42, 43-85, 86-127)
    const parts = await Promise.all([0, 1, 2].map(async (s) => (await plan()).forOperator('sum', s, 3)));
    const groupsOf = (sections: readonly Uint8Array[]) => sections.map((b) => deserializeState<[number, unknown]>(b)[0]);
    const written = Object.values(metadata.operators.sum.subtasks).flatMap((st) => st.sections!.map(([kg]) => kg));
    expect(parts.flatMap((p) => groupsOf(p.keyed)).sort((a, b) => a - b)).toEqual([...written].sort((a, b) => a - b));
    expect(groupsOf(parts[0].keyed).every((kg) => kg <= 42)).toBe(true);
    expect(groupsOf(parts[2].keyed).every((kg) => kg >= 86)).toBe(true);

    // damage a section that only new subtask 2 reads (a key group >= 86, in old subtask 1's file)
    const st1 = metadata.operators.sum.subtasks.find((s) => s.subtask === 1)!;
    const [kg, offset] = st1.sections!.find(([g]) => g >= 86)!;
    const file = join(folder, stateFileName('sum', 1));
    const bytes = await readFile(file);
    bytes[offset] ^= 0xff;
    await writeFile(file, bytes);
    const p = await plan();
    expect((await p.forOperator('sum', 0, 3)).keyed.length).toBe(parts[0].keyed.length);
    await expect(p.forOperator('sum', 2, 3)).rejects.toMatchObject({
      code: 'CHECKPOINT_CORRUPT',
      message: expect.stringContaining(`does not match its checksum (key group ${kg})`),
    });
  });
});
