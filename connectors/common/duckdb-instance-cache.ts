/**
 * One DuckDBInstance per database file per process: DuckDB lets a process open a file read-write
 * only once, so every sink subtask (and anything else in weir) that writes the same file shares
 * the instance and opens its own connections. Reference counted; the last release closes it.
 */
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type * as DuckDB from '@duckdb/node-api';
import { duckdb } from './duckdb-api.js';
import { externalError } from '../../src/errors.js';

export interface SharedDuckDB {
  /** Absolute path of the database file. */
  readonly path: string;
  readonly instance: DuckDB.DuckDBInstance;
  /**
   * Runs `fn` while no other `exclusive` call on this file runs in this process. DDL and commits
   * go through here so concurrent subtasks never hit DuckDB's write-write conflicts.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

interface Entry {
  shared: Promise<SharedDuckDB>;
  refs: number;
}

const entries = new Map<string, Entry>();

/**
 * DuckDB creates a database file, then writes its headers: a process killed in between leaves a
 * file DuckDB refuses to open ever after ("not a valid DuckDB database file"). So a new file is
 * created beside its place, closed, and linked into place only once complete. An empty file holds
 * no data (the litter of such a kill, or a `touch`): it is replaced the same way.
 */
async function createAtomically(path: string, DuckDBInstance: typeof DuckDB.DuckDBInstance): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return -1;
      throw e;
    },
  );
  if (size > 0) return;
  const fresh = `${path}.weir-creating`;
  await rm(fresh, { force: true });
  await rm(`${fresh}.wal`, { force: true });
  try {
    (await DuckDBInstance.create(fresh)).closeSync();
    if (size === 0) {
      await rename(fresh, path);
      return;
    }
    // link, unlike rename, never replaces a file another process created meanwhile.
    await link(fresh, path).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return;
      if (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP') return rename(fresh, path); // no hard links here
      throw e;
    });
  } finally {
    await rm(fresh, { force: true });
    await rm(`${fresh}.wal`, { force: true });
  }
}

async function openShared(path: string): Promise<SharedDuckDB> {
  // Outside the try: a package that fails to load is no error of this file.
  const { DuckDBInstance } = duckdb();
  let instance: DuckDB.DuckDBInstance;
  try {
    await mkdir(dirname(path), { recursive: true });
    await createAtomically(path, DuckDBInstance);
    instance = await DuckDBInstance.create(path);
  } catch (e) {
    const message = (e as Error).message;
    // A lock held by another process goes away (a killed run's, or the other process ends): a
    // restart may succeed. A file that is not ours to write, or not a database, stays so.
    const permanent =
      (e as NodeJS.ErrnoException).code === 'EACCES' || /permission denied|not a valid DuckDB database|is a directory|read-only file system/i.test(message);
    throw externalError('DUCKDB_OPEN', `DuckDB: cannot open '${path}': ${message}`, { cause: e, retriable: !permanent, details: { path } });
  }
  let tail: Promise<unknown> = Promise.resolve();
  return {
    path,
    instance,
    exclusive<T>(fn: () => Promise<T>): Promise<T> {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

/** The shared instance of `path` (resolved to an absolute path; parent folders are created). */
export async function acquireDuckDB(path: string): Promise<SharedDuckDB> {
  const abs = resolve(path);
  let e = entries.get(abs);
  if (!e) {
    e = { shared: openShared(abs), refs: 0 };
    entries.set(abs, e);
    e.shared.catch(() => entries.delete(abs));
  }
  e.refs++;
  return e.shared;
}

/** Gives back a reference; the instance is closed when nobody holds it any more. */
export async function releaseDuckDB(db: SharedDuckDB): Promise<void> {
  const e = entries.get(db.path);
  if (!e) return;
  if (--e.refs > 0) return;
  entries.delete(db.path);
  (await e.shared).instance.closeSync();
}
