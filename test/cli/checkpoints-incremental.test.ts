import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fmtBytes } from '../../src/cli/status-line.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { completedCheckpoints, expectUserError, lines, runOk, runWeir, tempDir, writeFile } from './cli-helpers.js';

/**
 * `weir checkpoints list` with incremental checkpoints (issue 14): each checkpoint's full size and
 * the bytes it added, and the list's verification of the sections a checkpoint keeps in other
 * checkpoints' shared files. One bounded run is the fixture; each damaging test works on a copy.
 *
 * Nothing here depends on how many checkpoints the run completes (that varies with the machine's
 * speed): the assertions are properties of whatever checkpoints are there. The one count needed is
 * two completed checkpoints (the heap backend's snapshot after a whole one is always incremental),
 * which a 3-second job at a 200 ms interval gives.
 */
const JOB = 'orders_incremental';
const ROWS = 300_000;
const SHARED = '../shared/';

function jobSql(db: string): string {
  return `SET 'pipeline.name' = '${JOB}';
SET 'parallelism.default' = '2';
SET 'execution.checkpointing.interval' = '200 ms';
SET 'execution.checkpointing.incremental' = 'true';
SET 'state.checkpoints.num-retained' = '5';

CREATE TABLE orders (order_id BIGINT, customer_id INT, amount DECIMAL(10, 2)) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '100000',
  'fields.order_id.kind' = 'sequence', 'fields.order_id.start' = '1', 'fields.order_id.end' = '${ROWS}',
  'fields.customer_id.min' = '1', 'fields.customer_id.max' = '100000',
  'fields.amount.min' = '1', 'fields.amount.max' = '500'
);
CREATE TABLE revenue (customer_id INT, orders BIGINT, revenue DECIMAL(38, 2), PRIMARY KEY (customer_id) NOT ENFORCED)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'revenue');
INSERT INTO revenue SELECT customer_id, COUNT(*), SUM(amount) FROM orders GROUP BY customer_id;
`;
}

type Section = [number, number, number, string, string?];

interface Meta {
  checkpointId: number;
  stateSize: number;
  addedSize?: number;
  operators: Record<string, { subtasks: { stateFile: string | null; sections?: Section[] }[] }>;
}

function meta(folder: string): Meta {
  return JSON.parse(readFileSync(join(folder, '_metadata'), 'utf8')) as Meta;
}

/** Every section of a checkpoint, with the file it is in (relative to the checkpoint folder). */
function sectionsOf(m: Meta): { file: string; kg: number; offset: number; length: number }[] {
  const out: { file: string; kg: number; offset: number; length: number }[] = [];
  for (const op of Object.values(m.operators)) {
    for (const st of op.subtasks) {
      for (const [kg, offset, length, , file] of st.sections ?? []) out.push({ file: file ?? st.stateFile!, kg, offset, length });
    }
  }
  return out;
}

/** The state files a checkpoint reads. */
function filesOf(m: Meta): Set<string> {
  const out = new Set<string>();
  for (const op of Object.values(m.operators)) for (const st of op.subtasks) if (st.stateFile !== null) out.add(st.stateFile);
  for (const s of sectionsOf(m)) out.add(s.file);
  return out;
}

interface Fixture {
  dir: string;
  chk: string;
  jobDir: string;
  file: string;
}

/** The rows of `weir checkpoints list JOB` as cells, keyed by column name. */
async function listRows(f: Fixture): Promise<Record<string, string>[]> {
  const out = lines((await runOk(['checkpoints', 'list', JOB, '--checkpoint-dir', f.chk])).stdout).filter((l) => l.startsWith('|'));
  const cells = (l: string): string[] =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const header = cells(out[0]);
  expect(header).toEqual(['job', 'kind', 'id', 'completed', 'duration', 'size', 'added', 'source positions', 'path']);
  return out.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [header[i], c])));
}

function copyOf(f: Fixture): Fixture {
  const dir = tempDir('chk-incremental-copy');
  cpSync(f.dir, dir, { recursive: true });
  return { dir, chk: join(dir, 'chk'), jobDir: join(dir, 'chk', JOB), file: join(dir, 'job.sql') };
}

describe('weir checkpoints list with incremental checkpoints', () => {
  let fixture: Fixture;

  beforeAll(async () => {
    const dir = tempDir('chk-incremental');
    const db = join(dir, 'out.duckdb');
    const file = writeFile(dir, 'job.sql', jobSql(db));
    const chk = join(dir, 'chk');
    await runOk(['run', file, '--checkpoint-dir', chk, '-q']);
    // the bounded job ran to its end: every order is counted once
    expect(await queryDuckDb(db, 'SELECT sum(orders)::BIGINT FROM revenue')).toEqual([[ROWS]]);
    fixture = { dir, chk, jobDir: join(chk, JOB), file };
  });

  it('shows each checkpoint full size and the bytes it added; every one is valid', async () => {
    const ids = completedCheckpoints(fixture.jobDir);
    expect(ids.length, `checkpoints retained: ${ids.join(', ')} (the job should complete at least 2)`).toBeGreaterThanOrEqual(2);
    expect(ids.length).toBeLessThanOrEqual(5);

    const rows = await listRows(fixture);
    expect(rows.map((r) => r.kind)).toEqual(ids.map(() => 'checkpoint'));
    // newest first
    expect(rows.map((r) => Number(r.id))).toEqual([...ids].reverse());
    const metas = ids.map((id) => meta(join(fixture.jobDir, `chk-${id}`)));
    for (const r of rows) {
      const m = metas.find((x) => x.checkpointId === Number(r.id))!;
      expect(r.completed, `chk-${r.id}`).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r.path).toBe(join(fixture.jobDir, `chk-${r.id}`));
      // as the metadata records them; no addedSize: it added its whole state
      expect(r.size).toBe(fmtBytes(m.stateSize));
      expect(r.added).toBe(fmtBytes(m.addedSize ?? m.stateSize));
      expect(m.addedSize ?? m.stateSize).toBeLessThanOrEqual(m.stateSize);
    }
    // the snapshot after a whole one is incremental: some retained checkpoint added less than its
    // full size, and it reads sections out of files earlier checkpoints wrote
    const incremental = metas.filter((m) => m.addedSize !== undefined && m.addedSize < m.stateSize);
    expect(incremental.length, JSON.stringify(metas.map((m) => [m.checkpointId, m.stateSize, m.addedSize]))).toBeGreaterThan(0);
    for (const m of incremental) {
      const own = new Set(Object.values(m.operators).flatMap((op) => op.subtasks.map((st) => st.stateFile)));
      expect(sectionsOf(m).some((s) => !own.has(s.file))).toBe(true);
    }
    // every keyed state file is in the job's shared folder
    for (const m of metas) expect([...filesOf(m)].filter((f) => f.startsWith(SHARED)).length).toBeGreaterThan(0);
  });

  it('a missing shared file: the list reports every checkpoint that needs it, and restoring one is a one-line error', async () => {
    const c = copyOf(fixture);
    const ids = completedCheckpoints(c.jobDir);
    const oldest = join(c.jobDir, `chk-${ids[0]}`);
    // a file the oldest checkpoint reads: preferably one an earlier checkpoint wrote (a chain)
    const m = meta(oldest);
    const own = new Set(Object.values(m.operators).flatMap((op) => op.subtasks.map((st) => st.stateFile)));
    const shared = [...filesOf(m)].filter((f) => f.startsWith(SHARED)).sort();
    const missing = shared.find((f) => !own.has(f)) ?? shared[0];
    expect(missing, `shared files of chk-${ids[0]}`).toBeDefined();
    rmSync(join(oldest, missing));
    const problem = `state file ${missing} is missing`;

    const rows = await listRows(c);
    expect(rows.find((r) => Number(r.id) === ids[0])?.completed).toBe(`CORRUPT: ${problem}`);
    // exactly the checkpoints that read the file are flagged (the newer ones share it or not)
    for (const r of rows) {
      const needs = filesOf(meta(join(c.jobDir, `chk-${r.id}`))).has(missing);
      if (needs) expect(r.completed, `chk-${r.id}`).toBe(`CORRUPT: ${problem}`);
      else expect(r.completed, `chk-${r.id}`).not.toMatch(/CORRUPT/);
    }

    expectUserError(
      await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', oldest]),
      `error: checkpoint ${oldest} is corrupt: ${problem}`,
    );
  });

  it('a damaged shared file: the list reports every checkpoint that reads the damaged section', async () => {
    const c = copyOf(fixture);
    const ids = completedCheckpoints(c.jobDir);
    const oldest = join(c.jobDir, `chk-${ids[0]}`);
    const m = meta(oldest);
    const own = new Set(Object.values(m.operators).flatMap((op) => op.subtasks.map((st) => st.stateFile)));
    const keyed = sectionsOf(m).filter((s) => s.kg >= 0 && s.length > 0 && s.file.startsWith(SHARED));
    const section = keyed.find((s) => !own.has(s.file)) ?? keyed[0];
    expect(section, `keyed sections of chk-${ids[0]}`).toBeDefined();
    // one byte in the middle of the section, the file's length unchanged
    const path = join(oldest, section.file);
    const bytes = readFileSync(path);
    const at = section.offset + Math.floor(section.length / 2);
    bytes[at] ^= 0xff;
    writeFileSync(path, bytes);
    const problem = `state file ${section.file} sha256 mismatch (key group ${section.kg})`;

    const rows = await listRows(c);
    expect(rows.find((r) => Number(r.id) === ids[0])?.completed).toBe(`CORRUPT: ${problem}`);
    for (const r of rows) {
      const reads = sectionsOf(meta(join(c.jobDir, `chk-${r.id}`))).some((s) => s.file === section.file && s.offset <= at && at < s.offset + s.length);
      if (reads) expect(r.completed, `chk-${r.id}`).toBe(`CORRUPT: ${problem}`);
      else expect(r.completed, `chk-${r.id}`).not.toMatch(/CORRUPT/);
    }

    expectUserError(
      await runWeir(['run', c.file, '--checkpoint-dir', c.chk, '--from-checkpoint', oldest]),
      `error: checkpoint ${oldest} is corrupt: ${problem}`,
    );
  });
});
