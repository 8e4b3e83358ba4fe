/**
 * The embedded RocksDB store of `state.backend.type = 'rocksdb'`, through the `rocksdb-native`
 * binding (chosen after measuring the candidates: docs/measurements/state-store-candidates.md).
 * Its every read and write is asynchronous and goes through the libuv thread pool, so the backend
 * batches them: one multi-get per input batch, one write batch per input batch. The binding is
 * loaded only when a job uses the backend.
 *
 * The store is a working copy, never the checkpoint: it lives in a fresh folder per process
 * (`<local dir>/pid-<pid>-<id>`), deleted when its last subtask ends (and, when the process was
 * killed, by the next process that opens one there); checkpoints read it through a store snapshot.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { internalError } from '../errors.js';
import { prefixRange } from './rocks-codec.js';

/** The part of rocksdb-native's API weir uses (the package ships no types). */
interface NativeBatch {
  tryFlush(): void;
  flush(): Promise<void>;
  destroy(): void;
}
interface NativeReadBatch extends NativeBatch {
  get(key: Buffer): Promise<Buffer | null>;
}
interface NativeWriteBatch extends NativeBatch {
  tryPut(key: Buffer, value: Buffer): void;
  tryDelete(key: Buffer): void;
  tryDeleteRange(start: Buffer, end: Buffer): void;
}
interface NativeIterator extends AsyncIterable<{ key: Buffer; value: Buffer }> {
  destroy(): void;
}
interface NativeSession {
  ready(): Promise<void>;
  read(opts?: { capacity?: number }): NativeReadBatch;
  write(opts?: { capacity?: number }): NativeWriteBatch;
  iterator(range: { gte: Buffer; lt: Buffer }, opts?: { capacity?: number }): NativeIterator;
  snapshot(): NativeSession;
  close(): Promise<void>;
}
type NativeCtor = new (path: string, opts: Record<string, unknown>) => NativeSession;

let ctor: Promise<NativeCtor> | undefined;

function loadBinding(): Promise<NativeCtor> {
  ctor ??= import('rocksdb-native').then((m: { default: unknown }) => m.default as NativeCtor);
  return ctor;
}

/** Entries read per iterator step (the binding's default, 8, makes scans crawl). */
const SCAN_CAPACITY = 4096;

/** A consistent view of the store as of its creation; `close` releases it. */
export interface StoreView {
  getMany(keys: readonly Buffer[]): Promise<(Buffer | null)[]>;
  /** Entries with gte <= key < lt, in key order. */
  scan(gte: Buffer, lt: Buffer): AsyncIterable<{ key: Buffer; value: Buffer }>;
  close(): Promise<void>;
}

export type WriteOp = readonly [key: Buffer, value: Buffer | null];

/** One RocksDB instance per process and local dir, shared by the subtasks (their keys carry a prefix). */
interface SharedStore {
  readonly db: NativeSession;
  readonly localDir: string;
  readonly dir: string;
  refs: number;
  nextPrefix: number;
}

const openStores = new Map<string, Promise<SharedStore>>();

/**
 * A subtask's part of the process's store: every key it reads or writes starts with `prefix`
 * (rocks-codec.ts). One store per process keeps RocksDB's memory (memtables, block cache,
 * background threads) to one set however many stateful subtasks a job has.
 */
export class RocksStore {
  private constructor(
    private readonly shared: SharedStore,
    readonly prefix: number,
  ) {}

  /** A new, empty part of the store under `localDir` (the store is created on first use). */
  static async open(localDir: string): Promise<RocksStore> {
    let opening = openStores.get(localDir);
    if (opening === undefined) {
      opening = openShared(localDir);
      openStores.set(localDir, opening);
      opening.catch(() => openStores.delete(localDir));
    }
    const shared = await opening;
    if (shared.nextPrefix >= 0xffff) throw internalError(`the state store in ${shared.dir} has no prefix left for another subtask`);
    shared.refs++;
    return new RocksStore(shared, shared.nextPrefix++);
  }

  getMany(keys: readonly Buffer[]): Promise<(Buffer | null)[]> {
    return getMany(this.shared.db, keys);
  }

  /** Applies range deletes, then puts (value) and deletes (null), as one write batch. */
  async write(ops: readonly WriteOp[], deleteRanges: readonly (readonly [Buffer, Buffer])[] = []): Promise<void> {
    if (ops.length === 0 && deleteRanges.length === 0) return;
    const w = this.shared.db.write({ capacity: ops.length + deleteRanges.length });
    for (const [s, e] of deleteRanges) w.tryDeleteRange(s, e);
    for (const [k, v] of ops) {
      if (v === null) w.tryDelete(k);
      else w.tryPut(k, v);
    }
    await w.flush();
    w.destroy();
  }

  scan(gte: Buffer, lt: Buffer): AsyncIterable<{ key: Buffer; value: Buffer }> {
    return this.shared.db.iterator({ gte, lt }, { capacity: SCAN_CAPACITY });
  }

  /** Pins the store as of now (later writes are not seen through the view). */
  view(): StoreView {
    const snap = this.shared.db.snapshot();
    return {
      getMany: (keys) => getMany(snap, keys),
      scan: (gte, lt) => snap.iterator({ gte, lt }, { capacity: SCAN_CAPACITY }),
      close: () => snap.close(),
    };
  }

  /** Deletes the subtask's keys; the last subtask to leave closes the store and deletes its folder. */
  async release(): Promise<void> {
    const shared = this.shared;
    await this.write([], [prefixRange(this.prefix)]);
    if (--shared.refs > 0) return;
    const entry = openStores.get(shared.localDir);
    if (entry !== undefined && (await entry.catch(() => null)) === shared) openStores.delete(shared.localDir);
    await shared.db.close();
    await rm(shared.dir, { recursive: true, force: true });
  }
}

async function openShared(localDir: string): Promise<SharedStore> {
  const Native = await loadBinding();
  await removeDeadStores(localDir);
  const dir = join(localDir, `pid-${process.pid}-${randomUUID().slice(0, 8)}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // Memtables bound the store's own write memory (RocksDB's default is 2 x 64 MiB).
  const db = new Native(dir, { writeBufferSize: 32 * 1024 * 1024, maxWriteBufferNumber: 2 });
  await db.ready();
  return { db, localDir, dir, refs: 0, nextPrefix: 0 };
}

/** Removes the store folders of weir processes that no longer run (a killed process leaves its store behind). */
async function removeDeadStores(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^pid-(\d+)-/.exec(name);
    if (m === null || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function getMany(db: NativeSession, keys: readonly Buffer[]): Promise<(Buffer | null)[]> {
  if (keys.length === 0) return [];
  const r = db.read({ capacity: keys.length });
  const out: Promise<Buffer | null>[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = r.get(keys[i]);
  r.tryFlush();
  const values = await Promise.all(out);
  r.destroy();
  return values;
}
