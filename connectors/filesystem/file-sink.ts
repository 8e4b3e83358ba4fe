/**
 * The exactly-once filesystem sink. Rows of checkpoint n are buffered in an in-memory DuckDB table
 * and written by DuckDB's COPY at preCommit into the hidden folder `<path>/.staging/` (then
 * fsynced); commit renames them to `<path>/part-<job>-<uid>-<subtask>-<n>[-<k>].<ext>` (k: the
 * file number when a checkpoint rolls over several files). A reader
 * of `<path>/*.<ext>` therefore only ever sees committed parts. A rename is atomic and commit is
 * idempotent: a missing staging file whose final file exists was committed before.
 */
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdb } from '../common/duckdb-api.js';
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { RowKind } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { externalError, internalError, isWeirError } from '../../src/errors.js';
import { describeOptions } from '../../src/connector/options.js';
import { ChunkAppender } from '../common/duckdb-chunk-appender.js';
import { duckdbType, quoteIdent, quoteLiteral } from '../common/duckdb-values.js';
import type { FilesystemConfig } from './filesystem-options.js';

export interface FileCommittable {
  readonly checkpointId: number;
  /** Staging file -> final file, both absolute. Empty for a checkpoint without rows. */
  readonly files: { readonly staging: string; readonly final: string }[];
  readonly [k: string]: JsonValue;
}

interface Txn {
  readonly checkpointId: number;
  readonly table: string;
  appender: ChunkAppender | undefined;
  rows: number;
}

/** File-name-safe: '-' separates the parts, so it cannot occur inside one. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_');

export class FileSink implements Sink {
  readonly acceptsUpdates = false;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: FilesystemConfig,
  ) {}

  createWriter(ctx: SinkContext): TwoPhaseCommitSink {
    return new FileSinkWriter(this.schema, this.config, ctx) as unknown as TwoPhaseCommitSink;
  }

  describe(): string {
    return `filesystem(${describeOptions(this.table)})`;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

export class FileSinkWriter implements TwoPhaseCommitSink<Txn, FileCommittable> {
  private instance: DuckDBInstance | undefined;
  private con: DuckDBConnection | undefined;
  private readonly stagingDir: string;
  /** `<job>-<uid>-<subtask>-`: the prefix of this writer's staging names. */
  private readonly prefix: string;
  private readonly ext: string;

  constructor(
    private readonly schema: Schema,
    private readonly config: FilesystemConfig,
    private readonly ctx: SinkContext,
  ) {
    this.stagingDir = join(config.path, '.staging');
    this.prefix = `${safe(ctx.jobName)}-${safe(ctx.operatorUid)}-${ctx.subtaskIndex}-`;
    this.ext = config.format;
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.stagingDir, { recursive: true });
      this.instance = await duckdb().DuckDBInstance.create(':memory:', { threads: '1' });
      this.con = await this.instance.connect();
    } catch (e) {
      throw this.wrap(e, 'open');
    }
  }

  async recover(restored: FileCommittable[], restoredCheckpointId: number): Promise<void> {
    for (const c of restored) await this.commit(c);
    let names: string[];
    try {
      names = await readdir(this.stagingDir);
    } catch (e) {
      throw this.wrap(e, 'list the staging folder');
    }
    for (const name of names) {
      if (!name.startsWith(this.prefix)) continue;
      const id = Number(/^(\d+)/.exec(name.slice(this.prefix.length))?.[1]);
      if (Number.isInteger(id) && id > restoredCheckpointId) await rm(join(this.stagingDir, name), { recursive: true, force: true });
    }
  }

  async begin(checkpointId: number): Promise<Txn> {
    return { checkpointId, table: `buf_${checkpointId}`, appender: undefined, rows: 0 };
  }

  async write(txn: Txn, batch: ChangeBatch): Promise<void> {
    const n = batch.size;
    if (n === 0) return;
    for (let i = 0; i < n; i++) {
      if (batch.kinds[i] !== RowKind.INSERT) throw internalError(`filesystem sink '${this.config.path}' received an update or delete; it is append-only`);
    }
    if (!txn.appender) {
      const con = this.con!;
      const cols = this.schema.fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ');
      await con.run(`CREATE OR REPLACE TABLE ${quoteIdent(txn.table)} (${cols})`);
      const app = await con.createAppender(txn.table);
      txn.appender = new ChunkAppender(
        app,
        this.schema.fields.map((f) => f.type),
        `the buffer of filesystem sink '${this.config.path}'`,
      );
    }
    txn.appender.append(batch.columns, n);
    txn.rows += n;
  }

  private copyOptions(): string {
    const opts = [`FORMAT ${this.config.format}`];
    if (this.config.format === 'csv') {
      const csv = this.config.csv;
      opts.push('HEADER false', `DELIMITER ${quoteLiteral(csv.delimiter)}`);
      if (csv.quote !== undefined) opts.push(`QUOTE ${quoteLiteral(csv.quote)}`);
      if (csv.nullLiteral !== undefined) opts.push(`NULLSTR ${quoteLiteral(csv.nullLiteral)}`);
    }
    if (this.config.rollingFileSize !== undefined) opts.push(`FILE_SIZE_BYTES ${Math.floor(this.config.rollingFileSize)}`);
    return opts.join(', ');
  }

  async preCommit(txn: Txn): Promise<FileCommittable> {
    const n = txn.checkpointId;
    const base = { checkpointId: n, job: this.ctx.jobName, uid: this.ctx.operatorUid, subtask: this.ctx.subtaskIndex };
    if (!txn.appender || txn.rows === 0) return { ...base, files: [] };
    const con = this.con!;
    const name = `${this.prefix}${n}`;
    const finalBase = await this.freePartBase(name);
    try {
      txn.appender.flush();
      txn.appender.close();
      txn.appender = undefined;
      const files: { staging: string; final: string }[] = [];
      if (this.config.rollingFileSize === undefined) {
        const staging = join(this.stagingDir, `${name}.${this.ext}`);
        await con.run(`COPY ${quoteIdent(txn.table)} TO ${quoteLiteral(staging)} (${this.copyOptions()})`);
        await fsyncPath(staging);
        files.push({ staging, final: `${finalBase}.${this.ext}` });
      } else {
        // DuckDB writes data_0.<ext>, data_1.<ext>, ... into the folder.
        const dir = join(this.stagingDir, name);
        await rm(dir, { recursive: true, force: true });
        await con.run(`COPY ${quoteIdent(txn.table)} TO ${quoteLiteral(dir)} (${this.copyOptions()})`);
        const parts = (await readdir(dir))
          .map((f) => ({ f, k: Number(/^data_(\d+)\./.exec(f)?.[1]) }))
          .filter((p) => Number.isInteger(p.k))
          .sort((a, b) => a.k - b.k);
        for (const p of parts) {
          const staging = join(dir, p.f);
          await fsyncPath(staging);
          files.push({ staging, final: `${finalBase}-${p.k}.${this.ext}` });
        }
        await fsyncPath(dir);
      }
      await fsyncPath(this.stagingDir);
      await con.run(`DROP TABLE IF EXISTS ${quoteIdent(txn.table)}`);
      return { ...base, files };
    } catch (e) {
      throw this.wrap(e, `pre-commit checkpoint ${n}`);
    }
  }

  /**
   * `<path>/part-<name>`, or `...-r<k>` when a part of that name exists: left by an earlier run
   * whose checkpoint ids were reused (its checkpoints were deleted), and never to be overwritten.
   * The final names go into the committable, so a repeated commit renames to the same names.
   */
  private async freePartBase(name: string): Promise<string> {
    const taken = new Set((await readdir(this.config.path)).filter((f) => f.startsWith(`part-${name}`)));
    const clashes = (base: string): boolean =>
      [...taken].some((f) => f === `${base}.${this.ext}` || (f.startsWith(`${base}-`) && /^-\d+\./.test(f.slice(base.length))));
    let base = `part-${name}`;
    for (let k = 1; clashes(base); k++) base = `part-${name}-r${k}`;
    return join(this.config.path, base);
  }

  async commit(c: FileCommittable): Promise<void> {
    for (const { staging, final } of c.files) {
      try {
        await rename(staging, final);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (await exists(final))) continue;
        throw this.wrap(e, `commit checkpoint ${c.checkpointId} (rename '${staging}' to '${final}')`);
      }
    }
    if (c.files.length > 0) {
      await fsyncPath(this.config.path);
      await this.removeRollingDir(c);
    }
  }

  /** The staging folder of a rolled checkpoint, once its files have moved out. */
  private async removeRollingDir(c: FileCommittable): Promise<void> {
    if (this.config.rollingFileSize === undefined) return;
    const dirs = new Set(c.files.map((f) => join(f.staging, '..')));
    for (const d of dirs) if (d !== this.stagingDir) await rmdir(d).catch(() => undefined);
  }

  async abort(c: FileCommittable): Promise<void> {
    for (const { staging } of c.files) await rm(staging, { force: true });
    await this.removeRollingDir(c);
  }

  private wrap(e: unknown, what: string): unknown {
    if (isWeirError(e)) return e;
    return externalError('FILE_SINK', `filesystem sink '${this.config.path}': ${what} failed: ${(e as Error).message}`, {
      cause: e,
      details: { path: this.config.path },
    });
  }

  async close(): Promise<void> {
    this.con?.closeSync();
    this.instance?.closeSync();
    this.con = undefined;
    this.instance = undefined;
  }
}
