import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { completedCheckpoints, readMetadata, runOk, tempDir, writeFile } from './cli-helpers.js';

/** `weir explain JOB.sql`: the operator DAG with uids, parallelism and exchanges. */
const SOURCE = `CREATE TABLE src (id BIGINT, k INT, v INT) WITH (
  'connector' = 'datagen', 'number-of-rows' = '3000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3000',
  'fields.k.min' = '1', 'fields.k.max' = '40', 'fields.v.min' = '1', 'fields.v.max' = '10');`;

function aggregateJob(dir: string): { file: string; db: string } {
  const db = join(dir, 'agg.duckdb');
  const file = writeFile(
    dir,
    'agg.sql',
    `SET 'pipeline.name' = 'per-key';
SET 'parallelism.default' = '3';
${SOURCE}
CREATE TABLE per_k (k INT, n BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'per_k');
INSERT INTO per_k SELECT k, COUNT(*), SUM(CAST(v AS BIGINT)) FROM src WHERE v > 3 GROUP BY k;
`,
  );
  return { file, db };
}

interface Vertex {
  index: number;
  name: string;
  uid: string;
  parallelism: number;
  inputs: string[];
}

/** Parses explain's vertex blocks: `[i] Name`, `uid: ...`, `parallelism: n, ...`, `input: [j] X via EXCHANGE`. */
function parseExplain(text: string): Vertex[] {
  const out: Vertex[] = [];
  for (const block of text.split(/\n(?=\[\d+\] )/).slice(1)) {
    const head = /^\[(\d+)\] (.+)$/m.exec(block)!;
    out.push({
      index: Number(head[1]),
      name: head[2],
      uid: /^\s+uid: (\S+)$/m.exec(block)![1],
      parallelism: Number(/^\s+parallelism: (\d+)/m.exec(block)![1]),
      inputs: [...block.matchAll(/^\s+input: (.+)$/gm)].map((m) => m[1]),
    });
  }
  return out;
}

describe('weir explain', () => {
  it('shows uids, parallelism and HASH exchanges for a GROUP BY with parallelism 3; the uids are those a run checkpoints', async () => {
    const dir = tempDir('cli-explain');
    const { file, db } = aggregateJob(dir);
    const r = await runOk(['explain', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Job 'per-key' \(fingerprint [0-9a-f]+\)\n/);
    const vertices = parseExplain(r.stdout);
    expect(vertices.map((v) => v.name)).toEqual(['Source: src', 'Calc', 'KeyedAggregate', 'Sink: per_k']);
    for (const v of vertices) {
      expect(v.parallelism).toBe(3);
      expect(v.uid).toMatch(/^[a-z]+-[0-9a-f]{12}$/);
    }
    expect(new Set(vertices.map((v) => v.uid)).size).toBe(4);
    expect(vertices[1].inputs).toEqual(['[0] Source: src via FORWARD']);
    expect(vertices[2].inputs).toEqual(['[1] Calc via HASH[k]']);
    expect(vertices[3].inputs).toEqual(['[2] KeyedAggregate via HASH[k]']);

    // --set overrides the file's parallelism; the uids do not depend on it
    const p1 = parseExplain((await runOk(['explain', file, '--set', 'parallelism.default=1'])).stdout);
    expect(p1.map((v) => v.parallelism)).toEqual([1, 1, 1, 1]);
    expect(p1.map((v) => v.uid)).toEqual(vertices.map((v) => v.uid));

    // the run checkpoints state under exactly these uids, with 3 subtasks each
    await runOk(['run', file, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    const jobDir = join(dir, 'chk', 'per-key');
    const meta = readMetadata(join(jobDir, `chk-${Math.max(...completedCheckpoints(jobDir))}`));
    const byUid = new Map(vertices.map((v) => [v.uid, v.name]));
    for (const [uid, op] of Object.entries(meta.operators)) {
      expect(byUid.get(uid)).toBe(op.name);
      expect(op.parallelism).toBe(3);
    }
    expect(Object.keys(meta.operators)).toContain(vertices[2].uid);
    expect(Object.keys(meta.sources)).toEqual([vertices[0].uid]);
    expect(meta.sources[vertices[0].uid].positions).toHaveLength(3);

    // and the result is right: DuckDB's own GROUP BY over the same generated rows agrees
    const raw = join(dir, 'raw.duckdb');
    const rawJob = writeFile(
      dir,
      'raw.sql',
      `${SOURCE}
CREATE TABLE raw_rows (id BIGINT, k INT, v INT) WITH ('connector' = 'duckdb', 'path' = '${raw}', 'table-name' = 'raw_rows');
INSERT INTO raw_rows SELECT * FROM src;`,
    );
    await runOk(['run', rawJob, '--checkpoint-dir', join(dir, 'chk'), '-q']);
    const expected = await queryDuckDb(raw, 'SELECT k, count(*), sum(v) FROM raw_rows WHERE v > 3 GROUP BY k ORDER BY k');
    expect(expected.length).toBeGreaterThan(30);
    expect(await queryDuckDb(db, 'SELECT k, n, total FROM per_k ORDER BY k')).toEqual(expected);
  });
});
