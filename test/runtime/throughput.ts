/**
 * Throughput of source -> pass-through -> sink, parallelism 1, batches of 1024 rows.
 * Not a test: run with `npx tsx test/runtime/throughput.ts [rows]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJob } from '../../src/job/job.js';
import { createSinkOperator } from '../../src/sink/sink-operator.js';
import type { Sink } from '../../src/sink/two-phase-commit.js';
import { jobOptions, pipeline } from './helpers/graph.js';
import { SEQUENCE_SCHEMA, sequenceSource } from './helpers/sequence-source.js';
import { passThrough } from './helpers/test-operators.js';

const rows = Number(process.argv[2] ?? 20_000_000);
let written = 0;
const countingSink: Sink = {
  acceptsUpdates: true,
  describe: () => 'count',
  createWriter: () => ({
    async open() {},
    async recover() {},
    async begin(id: number) {
      return id;
    },
    async write(_txn: unknown, batch: { size: number }) {
      written += batch.size;
    },
    async preCommit(txn: unknown) {
      return txn as number;
    },
    async commit() {},
    async abort() {},
    async close() {},
  }),
};

for (const intervalMs of [0, 1000]) {
  const dir = await mkdtemp(join(tmpdir(), 'weir-tp-'));
  written = 0;
  const graph = pipeline('tp', [
    { kind: 'source', uid: 'src', parallelism: 1, source: sequenceSource({ splits: 1, rowsPerSplit: rows, batchSize: 1024 }), schema: SEQUENCE_SCHEMA },
    { kind: 'operator', uid: 'pass', parallelism: 1, create: passThrough, schema: SEQUENCE_SCHEMA, partitioning: { kind: 'forward' } },
    {
      kind: 'operator',
      uid: 'sink',
      parallelism: 1,
      create: () => createSinkOperator(countingSink, []),
      schema: SEQUENCE_SCHEMA,
      partitioning: { kind: 'forward' },
      isSink: true,
    },
  ]);
  const start = performance.now();
  const job = startJob(graph, jobOptions(dir, { intervalMs }));
  await job.done;
  const secs = (performance.now() - start) / 1000;
  console.log(
    `interval ${intervalMs} ms: ${written} rows in ${secs.toFixed(2)} s = ${Math.round(written / secs).toLocaleString('en-US')} rows/s, ` +
      `${job.status().checkpointsCompleted} checkpoints`,
  );
  await rm(dir, { recursive: true, force: true });
}
