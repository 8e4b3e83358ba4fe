import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryDuckDb } from '../support/duckdb-read.js';
import { HANG_GUARD_MS } from '../support/hang-guard.js';
import { completedCheckpoints, readMetadata, runOk, savepointFolders, startRunning, tempDir, waitFor, writeFile } from './cli-helpers.js';

/**
 * Incremental checkpoints (`execution.checkpointing.incremental`) of a running keyed job, through
 * real `weir run` processes: retention keeps every shared file a retained checkpoint names and
 * deletes the rest (num-retained 1 and 3, a savepoint taken in between), a savepoint needs no
 * shared file, and restoring the oldest retained checkpoint (a chain over files of checkpoints
 * retention deleted long ago) or the savepoint gives exactly the output of the input up to where
 * the restored job stopped.
 */
const KEYS = 5000;

function job(dir: string, name: string, retained: number): { file: string; db: string; chk: string; jobDir: string } {
  const db = join(dir, 'out.duckdb');
  const file = writeFile(
    dir,
    `${name}.sql`,
    `SET 'pipeline.name' = '${name}';
SET 'execution.checkpointing.interval' = '100ms';
SET 'execution.checkpointing.incremental' = 'true';
SET 'state.checkpoints.num-retained' = '${retained}';
CREATE TABLE src (id BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '5000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000000'
);
CREATE TABLE per_key (k BIGINT, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'per_key');
INSERT INTO per_key SELECT id % ${KEYS}, COUNT(*), SUM(id) FROM src GROUP BY id % ${KEYS};
`,
  );
  const chk = join(dir, 'chk');
  return { file, db, chk, jobDir: join(chk, name) };
}

/** What per_key holds once ids 1..n went through the job. */
function expected(n: number): [number, number, number][] {
  const rows = new Map<number, [number, number, number]>();
  for (let id = 1; id <= n; id++) {
    const k = id % KEYS;
    const r = rows.get(k) ?? [k, 0, 0];
    r[1]++;
    r[2] += id;
    rows.set(k, r);
  }
  return [...rows.values()].sort((a, b) => a[0] - b[0]);
}

/** Ids the source had emitted at a checkpoint (the datagen sequence's position, parallelism 1). */
function position(folder: string): number {
  return Object.values(readMetadata(folder).sources)[0].positions[0].position as number;
}

function sharedNamed(folder: string): string[] {
  const meta = readMetadata(folder) as unknown as {
    operators: Record<string, { subtasks: { stateFile: string | null; sections?: (string | number)[][] }[] }>;
  };
  const names = new Set<string>();
  for (const op of Object.values(meta.operators)) {
    for (const st of op.subtasks) {
      for (const f of [st.stateFile, ...(st.sections ?? []).map((s) => s[4] as string | undefined)]) {
        if (typeof f === 'string' && f.startsWith('../shared/')) names.add(f.slice('../shared/'.length));
      }
    }
  }
  return [...names].sort();
}

/**
 * Whether the newest complete checkpoint's source position has reached `n`. A restored run goes on
 * from an earlier position; stopped before it passes where the previous run stopped, the upsert
 * table would still hold that run's later rows for the keys it has not reached again.
 */
function reached(jobDir: string, n: number): boolean {
  const id = newest(jobDir);
  try {
    return id > 0 && position(join(jobDir, `chk-${id}`)) >= n;
  } catch {
    return false; // retention removed it meanwhile: the next poll reads a newer one
  }
}

/** The id of the newest complete checkpoint (0: none). */
function newest(jobDir: string): number {
  return Math.max(0, ...completedCheckpoints(jobDir));
}

function sharedFiles(jobDir: string): string[] {
  const dir = join(jobDir, 'shared');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** After the job stopped: the shared folder holds exactly the files the retained checkpoints name. */
function expectSharedExactlyReferenced(jobDir: string): void {
  const named = new Set(completedCheckpoints(jobDir).flatMap((id) => sharedNamed(join(jobDir, `chk-${id}`))));
  expect(sharedFiles(jobDir)).toEqual([...named].sort());
}

async function table(db: string): Promise<unknown[][]> {
  return queryDuckDb(db, 'SELECT k, cnt, total FROM per_key ORDER BY k');
}

async function stop(name: string, chk: string): Promise<string> {
  const r = await runOk(['stop', name, '--checkpoint-dir', chk]);
  const m = /checkpoint (\d+) at (.*)\n$/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return m![2];
}

describe('incremental checkpoints of a running job', { timeout: 600_000 }, () => {
  it.each([3, 1])(
    'num-retained %i with a savepoint in between: shared files live exactly as long as a retained checkpoint names them; the oldest retained and the savepoint restore exactly',
    async (retained) => {
      const dir = tempDir(`incremental-${retained}`);
      const name = `inc${retained}`;
      const j = job(dir, name, retained);
      const first = await startRunning([j.file, '--checkpoint-dir', j.chk, '-q'], j.jobDir, 1);
      await waitFor('6 checkpoints', () => Math.max(0, ...completedCheckpoints(j.jobDir)) >= 6, HANG_GUARD_MS, first);
      await runOk(['savepoint', name, '--checkpoint-dir', j.chk, '--name', 'between']);
      const afterSavepoint = Math.max(...completedCheckpoints(j.jobDir));
      await waitFor('8 more checkpoints', () => Math.max(...completedCheckpoints(j.jobDir)) >= afterSavepoint + 8, HANG_GUARD_MS, first);
      const last = await stop(name, j.chk);
      expect((await first.exit).code, first.stderr()).toBe(0);

      // The uninterrupted result at the stop.
      const firstStop = position(last);
      expect(await table(j.db)).toEqual(expected(firstStop));
      const ids = completedCheckpoints(j.jobDir);
      expect(ids).toHaveLength(retained);
      expectSharedExactlyReferenced(j.jobDir);
      // Checkpoints chain onto files of earlier ones: with 3 retained (the last of at least 9 since the
      // savepoint, which made the next one whole), some retained checkpoint added less than its size.
      // Whether its chain reaches files of a checkpoint retention already deleted depends on where the
      // last whole snapshot fell; expectSharedExactlyReferenced checks those files either way.
      const metas = ids.map((id) => readMetadata(join(j.jobDir, `chk-${id}`)) as unknown as { stateSize: number; addedSize?: number });
      if (retained === 3) expect(metas.some((m) => m.addedSize !== undefined && m.addedSize < m.stateSize)).toBe(true);
      const [savepoint] = savepointFolders(j.jobDir);
      expect(savepoint).toBe('between');
      const savepointDir = join(j.jobDir, 'savepoints', savepoint);
      expect(sharedNamed(savepointDir)).toEqual([]);

      // The oldest retained checkpoint restores (its chain's files are there) and goes on exactly.
      const oldest = join(j.jobDir, `chk-${ids[0]}`);
      const second = await startRunning([j.file, '--checkpoint-dir', j.chk, '--from-checkpoint', oldest, '-q'], j.jobDir, 1);
      const before = newest(j.jobDir);
      await waitFor(
        '3 more checkpoints, past where the first run stopped',
        () => newest(j.jobDir) >= before + 3 && reached(j.jobDir, firstStop),
        HANG_GUARD_MS,
        second,
      );
      const afterOldest = await stop(name, j.chk);
      expect((await second.exit).code, second.stderr()).toBe(0);
      const secondStop = position(afterOldest);
      expect(await table(j.db)).toEqual(expected(secondStop));
      expectSharedExactlyReferenced(j.jobDir);

      // The savepoint is self-contained: it restores with the whole shared folder gone.
      rmSync(join(j.jobDir, 'shared'), { recursive: true });
      for (const id of completedCheckpoints(j.jobDir)) rmSync(join(j.jobDir, `chk-${id}`), { recursive: true });
      const third = await startRunning([j.file, '--checkpoint-dir', j.chk, '--from-checkpoint', savepointDir, '-q'], j.jobDir, 1);
      const restarted = newest(j.jobDir);
      await waitFor(
        '3 more checkpoints, past where the second run stopped',
        () => newest(j.jobDir) >= restarted + 3 && reached(j.jobDir, secondStop),
        HANG_GUARD_MS,
        third,
      );
      const afterSavepointRestore = await stop(name, j.chk);
      expect((await third.exit).code, third.stderr()).toBe(0);
      expect(await table(j.db)).toEqual(expected(position(afterSavepointRestore)));
    },
  );
});
