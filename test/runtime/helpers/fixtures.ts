import { afterEach } from 'vitest';
import type { RunningJob } from '../../../src/job/job.js';
import { createSinkOperator } from '../../../src/sink/sink-operator.js';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { pipeline, tempDir } from './graph.js';
import { SEQUENCE_SCHEMA, type SequenceSourceOptions, sequenceSource } from './sequence-source.js';
import { SUM_SCHEMA, keyedSum, passThrough } from './test-operators.js';
import { type SinkRecorder, testSink } from './test-sink.js';

/** Temp folders removed after each test of the calling file. */
export function useTempDirs(): () => Promise<string> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  return async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };
}

/** source(p) -hash(k)-> SUM(v) GROUP BY k (p) -hash-> sink(p) */
export function keyedJob(name: string, rec: SinkRecorder, src: SequenceSourceOptions, p: { source: number; sum: number; sink: number }, sumUid = 'sum') {
  return pipeline(name, [
    { kind: 'source', uid: 'src', parallelism: p.source, source: sequenceSource(src), schema: SEQUENCE_SCHEMA },
    { kind: 'operator', uid: sumUid, parallelism: p.sum, create: () => keyedSum(), schema: SUM_SCHEMA, partitioning: { kind: 'hash', keys: [1] } },
    {
      kind: 'operator',
      uid: 'sink',
      parallelism: p.sink,
      create: () => createSinkOperator(testSink(rec), [0]),
      schema: SUM_SCHEMA,
      partitioning: { kind: 'hash', keys: [0] },
      isSink: true,
    },
  ]);
}

/** source(p) -forward-> pass(p) -rebalance-> sink(sinkP) */
export function passJob(name: string, rec: SinkRecorder, src: SequenceSourceOptions, p: number, sinkP = p) {
  return pipeline(name, [
    { kind: 'source', uid: 'src', parallelism: p, source: sequenceSource(src), schema: SEQUENCE_SCHEMA },
    { kind: 'operator', uid: 'pass', parallelism: p, create: passThrough, schema: SEQUENCE_SCHEMA, partitioning: { kind: 'forward' } },
    {
      kind: 'operator',
      uid: 'sink',
      parallelism: sinkP,
      create: () => createSinkOperator(testSink(rec), []),
      schema: SEQUENCE_SCHEMA,
      partitioning: { kind: 'rebalance' },
      isSink: true,
    },
  ]);
}

/** Committed [kind, k, s] rows of a keyed job. */
export function sumRows(rec: SinkRecorder): unknown[][] {
  return rec.committed.map((r) => [r[0], r[1], r[2]]);
}

/** Polls `cond`; `timeoutMs` is only a hang guard (generous: a loaded machine is slow, not wrong). */
export async function waitFor(cond: () => boolean, timeoutMs = HANG_GUARD_MS): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: the condition did not hold within the hang guard');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const TERMINAL = ['FINISHED', 'STOPPED', 'CANCELED', 'FAILED'];

/** Waits until `cond` holds while the job still runs. */
export async function runningUntil(job: RunningJob, cond: () => boolean): Promise<void> {
  await waitFor(() => (cond() && job.status().state === 'RUNNING') || TERMINAL.includes(job.status().state));
  if (job.status().state !== 'RUNNING') throw new Error(`job is ${job.status().state}`);
}
