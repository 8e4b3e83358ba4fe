import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_LIVE_FRACTION, heapExhausted } from '../../src/job/heap-watch.js';
import { runWeir, tempDir } from '../support/weir-process.js';

const MiB = 1024 * 1024;

/** `weir run` of job `name` (its statements `sql`) with an old generation of `oldSpaceMib` MiB. */
async function runOutOfHeap(name: string, oldSpaceMib: number, sql: string) {
  const dir = tempDir(name);
  const job = join(dir, 'job.sql');
  writeFileSync(job, `SET 'pipeline.name' = '${name}';\nSET 'state.checkpoints.dir' = '${join(dir, 'chk')}';\n${sql}`);
  return runWeir(['run', job, '--quiet'], { env: { NODE_OPTIONS: `--max-old-space-size=${oldSpaceMib}` } });
}

describe('running out of heap', () => {
  it('is an error naming the operator with the most keys, once live data passes the share of the limit', () => {
    const sizes = [
      { operator: 'Source: src (1/1)', keys: 0 },
      { operator: 'KeyedAggregate (2/2)', keys: 12_345_678 },
      { operator: 'KeyedAggregate (1/2)', keys: 12_000_000 },
    ];
    expect(heapExhausted({ used: HEAP_LIVE_FRACTION * 1000 * MiB, limit: 1000 * MiB }, sizes, 'hashmap')).toBeUndefined();
    const e = heapExhausted({ used: 900 * MiB, limit: 1000 * MiB }, sizes, 'hashmap') as Error & { code?: string; domain?: string };
    expect(e.code).toBe('HEAP_EXHAUSTED');
    expect(e.domain).toBe('user'); // no restart: the same state fills the heap again
    expect(e.message).toBe(
      "weir ran out of memory: after a full garbage collection the heap still holds 900 MiB of its 1,000 MiB limit; the largest state is operator 'KeyedAggregate (2/2)' with 12,345,678 keys (state.backend.type 'hashmap' keeps state in the heap). Give the process more heap (NODE_OPTIONS=--max-old-space-size=<MiB>), or set 'table.exec.state.ttl' so that keys idle that long expire",
    );
    expect(heapExhausted({ used: 900 * MiB, limit: 1000 * MiB }, [], 'hashmap')!.message).toContain('no operator holds keyed state');
  });

  it('weir run --help shows the heap limit the process runs with and how to change it', async () => {
    const limit = async (mib: number) => {
      const r = await runWeir(['run', '--help'], { env: { NODE_OPTIONS: `--max-old-space-size=${mib}` } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Change it with NODE_OPTIONS=--max-old-space-size=<MiB>');
      return Number(/this process's heap limit is ([\d,]+) MiB/.exec(r.stdout)![1].replaceAll(',', ''));
    };
    const small = await limit(300);
    const large = await limit(900);
    expect(small).toBeGreaterThanOrEqual(300);
    expect(large - small).toBeGreaterThanOrEqual(500);
  });

  it('weir run: a join whose state outgrows a small heap fails with that error, not a V8 fatal error', async () => {
    // A regular join keeps both sides in value states (Maps): nothing reserves room before they
    // grow, so the heap watch after a full GC must catch it, below the old generation's limit.
    const r = await runOutOfHeap(
      'oom-join',
      160,
      `CREATE TABLE a (k BIGINT, v STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '100000000', 'fields.v.length' = '40');
CREATE TABLE b (k BIGINT, w STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.kind' = 'sequence', 'fields.k.start' = '200000001', 'fields.k.end' = '300000000', 'fields.w.length' = '40');
CREATE TABLE out_join (k BIGINT, v STRING, w STRING) WITH ('connector' = 'blackhole');
INSERT INTO out_join SELECT a.k, a.v, b.w FROM a JOIN b ON a.k = b.k;
`,
    );
    expect(r.stderr).not.toContain('FATAL ERROR');
    expect(r.stderr).toMatch(
      /error: weir ran out of memory: after a full garbage collection the heap still holds [\d,]+ MiB of its 160 MiB limit; the largest state is operator '[^']*Join[^']*' with [\d,]+ keys/,
    );
    expect(r.code).toBe(1);
  });

  it('weir run: a GROUP BY over more keys than the heap holds fails with that error and exit 1, not a V8 fatal error', async () => {
    const r = await runOutOfHeap(
      'oom',
      120,
      `CREATE TABLE src (k BIGINT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '100000000', 'fields.v.min' = '0', 'fields.v.max' = '9');
CREATE TABLE out_agg (k BIGINT, c BIGINT, s INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'blackhole');
INSERT INTO out_agg SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;
`,
    );
    expect(r.stderr).not.toContain('FATAL ERROR');
    // Caught either after a full GC or before the group table's next doubling, whichever comes first.
    expect(r.stderr).toMatch(
      /error: weir ran out of memory: (after a full garbage collection|growing a state table by [\d,]+ MiB would not fit).*; the largest state is operator 'KeyedAggregate \(1\/1\)' with [\d,]+ keys/,
    );
    expect(r.code).toBe(1);
  });
});
