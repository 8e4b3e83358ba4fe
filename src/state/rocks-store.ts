/**
 * The embedded RocksDB store of `state.backend.type = 'rocksdb'`, through the `rocksdb-native`
 * binding (chosen after measuring the candidates: docs/measurements/state-store-candidates.md).
 * Its every read and write is asynchronous and goes through the libuv thread pool, so the backend
 * batches them: one multi-get per input batch, one write batch per input batch. The binding is
 * loaded only when a job uses the backend.
 *
 * The store is a working copy, never the checkpoint: it lives in a fresh folder per subtask run
 * and is deleted when the subtask ends; checkpoints read it through a store snapshot.
 */
import { mkdir, rm } from 'node:fs/promises';

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

export class RocksStore {
  private constructor(
    private readonly db: NativeSession,
    readonly dir: string,
  ) {}

  /** Opens a new, empty store in `dir` (anything there is removed first). */
  static async open(dir: string): Promise<RocksStore> {
    const Native = await loadBinding();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    // Memtables bound the store's own memory per subtask (RocksDB's default is 2 x 64 MiB).
    const db = new Native(dir, { writeBufferSize: 16 * 1024 * 1024, maxWriteBufferNumber: 2 });
    await db.ready();
    return new RocksStore(db, dir);
  }

  getMany(keys: readonly Buffer[]): Promise<(Buffer | null)[]> {
    return getMany(this.db, keys);
  }

  /** Applies puts (value) and deletes (null) as one write batch. */
  async write(ops: readonly WriteOp[], deleteRanges: readonly (readonly [Buffer, Buffer])[] = []): Promise<void> {
    if (ops.length === 0 && deleteRanges.length === 0) return;
    const w = this.db.write({ capacity: ops.length + deleteRanges.length });
    for (const [s, e] of deleteRanges) w.tryDeleteRange(s, e);
    for (const [k, v] of ops) {
      if (v === null) w.tryDelete(k);
      else w.tryPut(k, v);
    }
    await w.flush();
    w.destroy();
  }

  scan(gte: Buffer, lt: Buffer): AsyncIterable<{ key: Buffer; value: Buffer }> {
    return this.db.iterator({ gte, lt }, { capacity: SCAN_CAPACITY });
  }

  /** Pins the store as of now (later writes are not seen through the view). */
  view(): StoreView {
    const snap = this.db.snapshot();
    return {
      getMany: (keys) => getMany(snap, keys),
      scan: (gte, lt) => snap.iterator({ gte, lt }, { capacity: SCAN_CAPACITY }),
      close: () => snap.close(),
    };
  }

  /** Closes the store and deletes its folder. */
  async destroy(): Promise<void> {
    await this.db.close();
    await rm(this.dir, { recursive: true, force: true });
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
