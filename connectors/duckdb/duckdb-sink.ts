/**
 * The exactly-once DuckDB sink. DuckDB has no PREPARE TRANSACTION, so a checkpoint's rows are
 * made durable in a staging table, tagged with (writer, checkpoint id, seq, kind), at preCommit;
 * commit applies them to the target, deletes them and records a marker, all in one DuckDB
 * transaction, so a commit that runs again (after a restore) finds the marker and does nothing.
 *
 * Tables, in the target's schema:
 *   <target>                   created if missing (PRIMARY KEY when the table declares one)
 *   "_weir_staging_<target>"   (_weir_writer, _weir_checkpoint_id, _weir_seq, _weir_kind, <columns>)
 *   _weir_writers              (id, job, uid, subtask): a small id per writer, so staged rows
 *                              carry an INTEGER instead of two strings (appending stays fast)
 *   _weir_commits              (job, uid, subtask, checkpoint_id, committed_at): commit markers
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TableDef } from '../../src/catalog/table.js';
import type { Field, Schema, SqlType } from '../../src/model/types.js';
import { type } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { RowKind } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { externalError, internalError, isWeirError, userError } from '../../src/errors.js';
import { describeOptions } from '../../src/connector/options.js';
import { acquireDuckDB, releaseDuckDB, type SharedDuckDB } from '../common/duckdb-instance-cache.js';
import { ChunkAppender } from '../common/duckdb-chunk-appender.js';
import { duckdbType, quoteIdent } from '../common/duckdb-values.js';
import type { DuckDBSinkConfig } from './duckdb-options.js';

/** The staging table of a target, in the target's schema. */
export function stagingTableName(tableName: string): string {
  return `_weir_staging_${tableName}`;
}

/** What preCommit returns and commit/abort take; recorded in the checkpoint. */
export interface DuckDBCommittable {
  readonly job: string;
  readonly uid: string;
  readonly subtask: number;
  readonly checkpointId: number;
  readonly rows: number;
  readonly [k: string]: JsonValue;
}

interface Txn {
  readonly checkpointId: number;
  seq: number;
}

const STAGING_PREFIX_TYPES: SqlType[] = [type('INT', false), type('BIGINT', false), type('BIGINT', false), type('TINYINT', false)];

export class DuckDBSink implements Sink {
  readonly acceptsUpdates: boolean;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: DuckDBSinkConfig,
  ) {
    this.acceptsUpdates = table.primaryKey.length > 0;
  }

  createWriter(ctx: SinkContext): TwoPhaseCommitSink {
    return new DuckDBSinkWriter(this.table, this.schema, this.config, ctx) as unknown as TwoPhaseCommitSink;
  }

  describe(): string {
    return `duckdb(${describeOptions(this.table)})`;
  }
}

export class DuckDBSinkWriter implements TwoPhaseCommitSink<Txn, DuckDBCommittable> {
  private db: SharedDuckDB | undefined;
  /** Appends staged rows. */
  private appendCon: DuckDBConnection | undefined;
  /** Runs commits, aborts and DDL, so they never mix with the Appender's writes. */
  private controlCon: DuckDBConnection | undefined;
  private appender: ChunkAppender | undefined;
  private writerId = 0;
  private readonly target: string;
  private readonly staging: string;
  private readonly markers: string;
  private readonly writers: string;
  private readonly cols: string;
  private readonly upsert: boolean;
  private readonly keyCols: string[];

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: DuckDBSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    const { schemaName, tableName } = config;
    const q = (name: string): string => (schemaName === undefined ? quoteIdent(name) : `${quoteIdent(schemaName)}.${quoteIdent(name)}`);
    this.target = q(tableName);
    this.staging = q(stagingTableName(tableName));
    this.markers = q('_weir_commits');
    this.writers = q('_weir_writers');
    this.cols = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
    this.keyCols = table.primaryKey.map(quoteIdent);
    this.upsert = this.keyCols.length > 0;
  }

  private get what(): string {
    return `DuckDB table ${this.target} in '${this.config.path}'`;
  }

  async open(): Promise<void> {
    this.db = await acquireDuckDB(this.config.path);
    try {
      this.appendCon = await this.db.instance.connect();
      this.controlCon = await this.db.instance.connect();
      // One transaction: every DDL commit costs an fsync, and all subtasks of all sinks of a file
      // take turns here (a `weir cdc` job with ten tables has twenty of them).
      await this.db.exclusive(async () => {
        await this.controlCon!.run('BEGIN TRANSACTION');
        try {
          await this.prepareTables();
          await this.controlCon!.run('COMMIT');
        } catch (e) {
          await this.controlCon!.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
      });
      const { appendCon } = this;
      const app = await appendCon.createAppender(stagingTableName(this.config.tableName), this.config.schemaName ?? null);
      this.appender = new ChunkAppender(app, [...STAGING_PREFIX_TYPES, ...this.schema.fields.map((f) => f.type)], `staging table of ${this.what}`);
    } catch (e) {
      throw this.wrap(e, 'open');
    }
  }

  private async prepareTables(): Promise<void> {
    const con = this.controlCon!;
    const { schemaName, tableName } = this.config;
    if (schemaName !== undefined) await con.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaName)}`);
    const colDefs = (fields: readonly Field[], notNull: boolean): string =>
      fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}${notNull && !f.type.nullable ? ' NOT NULL' : ''}`).join(', ');
    const pk = this.upsert ? `, PRIMARY KEY (${this.keyCols.join(', ')})` : '';
    await con.run(`CREATE TABLE IF NOT EXISTS ${this.target} (${colDefs(this.schema.fields, true)}${pk})`);
    const existing = await con.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, [
      schemaName ?? 'main',
      tableName,
    ]);
    const have = new Set(existing.getRowsJS().map((r) => String(r[0])));
    const missing = this.schema.fields.filter((f) => !have.has(f.name)).map((f) => f.name);
    if (missing.length > 0) {
      throw userError(
        'SINK_SCHEMA_MISMATCH',
        `table '${this.table.name}': ${this.what} exists but has no column(s) ${missing.join(', ')}; it has ${[...have].join(', ')}`,
        {
          position: this.table.pos,
          details: { table: this.table.name },
        },
      );
    }
    const stagingDdl = `CREATE TABLE IF NOT EXISTS ${this.staging} (_weir_writer INTEGER NOT NULL, _weir_checkpoint_id BIGINT NOT NULL, _weir_seq BIGINT NOT NULL, _weir_kind TINYINT NOT NULL, ${colDefs(this.schema.fields, false)})`;
    await con.run(stagingDdl);
    // The sink's columns changed since the staging table was made (a new column in the query, a
    // `weir cdc` schema evolution): an empty staging table is remade with the new columns.
    const stagingCols = (
      await con.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [
        schemaName ?? 'main',
        stagingTableName(tableName),
      ])
    )
      .getRowsJS()
      .slice(4)
      .map((r) => String(r[0]));
    if (stagingCols.join('\u0000') !== this.schema.fields.map((f) => f.name).join('\u0000')) {
      const pending = Number((await con.runAndReadAll(`SELECT count(*) FROM ${this.staging}`)).getRowsJS()[0][0]);
      if (pending > 0) {
        throw userError(
          'SINK_SCHEMA_MISMATCH',
          `table '${this.table.name}': ${this.what} has ${pending} staged rows of a checkpoint written with other columns (${stagingCols.join(', ')}); restore that checkpoint with the query that wrote it first`,
          {
            position: this.table.pos,
            details: { table: this.table.name },
          },
        );
      }
      await con.run(`DROP TABLE ${this.staging}`);
      await con.run(stagingDdl);
    }
    await con.run(
      `CREATE TABLE IF NOT EXISTS ${this.markers} (job VARCHAR NOT NULL, uid VARCHAR NOT NULL, subtask INTEGER NOT NULL, checkpoint_id BIGINT NOT NULL, committed_at TIMESTAMP NOT NULL)`,
    );
    await con.run(`CREATE TABLE IF NOT EXISTS ${this.writers} (id INTEGER NOT NULL, job VARCHAR NOT NULL, uid VARCHAR NOT NULL, subtask INTEGER NOT NULL)`);
    this.writerId = await this.writerIdOf(this.ctx.jobName, this.ctx.operatorUid, this.ctx.subtaskIndex, true);
  }

  /** The small id of a writer (job, uid, subtask); registered on first use when `create`. */
  private async writerIdOf(job: string, uid: string, subtask: number, create: boolean): Promise<number> {
    const con = this.controlCon!;
    const found = await con.runAndReadAll(`SELECT id FROM ${this.writers} WHERE job = $1 AND uid = $2 AND subtask = $3`, [job, uid, subtask]);
    if (found.currentRowCount > 0) return Number(found.getRowsJS()[0][0]);
    if (!create) return -1;
    const next = await con.runAndReadAll(`SELECT coalesce(max(id), 0) + 1 FROM ${this.writers}`);
    const id = Number(next.getRowsJS()[0][0]);
    await con.run(`INSERT INTO ${this.writers} VALUES ($1, $2, $3, $4)`, [id, job, uid, subtask]);
    return id;
  }

  async recover(restored: DuckDBCommittable[], restoredCheckpointId: number): Promise<void> {
    for (const c of restored) await this.commit(c);
    const { jobName, operatorUid, subtaskIndex } = this.ctx;
    await this.inTransaction('recover', async (con) => {
      await con.run(`DELETE FROM ${this.staging} WHERE _weir_writer = $1 AND _weir_checkpoint_id > $2`, [this.writerId, BigInt(restoredCheckpointId)]);
      // Markers newer than the restored checkpoint belong to an abandoned run (a restore from an
      // older checkpoint); this run reuses those ids, so their commits must not be skipped.
      await con.run(`DELETE FROM ${this.markers} WHERE job = $1 AND uid = $2 AND subtask = $3 AND checkpoint_id > $4`, [
        jobName,
        operatorUid,
        subtaskIndex,
        BigInt(restoredCheckpointId),
      ]);
    });
  }

  async begin(checkpointId: number): Promise<Txn> {
    return { checkpointId, seq: 0 };
  }

  async write(txn: Txn, batch: ChangeBatch): Promise<void> {
    const n = batch.size;
    if (n === 0) return;
    const kinds = batch.kinds;
    if (!this.upsert) {
      for (let i = 0; i < n; i++) {
        if (kinds[i] !== RowKind.INSERT) throw internalError(`${this.what}: an append-only sink (no primary key) received an update or delete`);
      }
    }
    const writer = new Array<number>(n).fill(this.writerId);
    const ck = new Array<number>(n).fill(txn.checkpointId);
    const seq = new Array<number>(n);
    for (let i = 0; i < n; i++) seq[i] = txn.seq + i;
    txn.seq += n;
    this.appender!.append([writer, ck, seq, Array.from(kinds), ...batch.columns], n);
    const maxRows = this.config.flushMaxRows;
    if (maxRows !== undefined && this.appender!.pending >= maxRows) this.appender!.flush();
  }

  async preCommit(txn: Txn): Promise<DuckDBCommittable> {
    this.appender!.flush();
    return {
      job: this.ctx.jobName,
      uid: this.ctx.operatorUid,
      subtask: this.ctx.subtaskIndex,
      checkpointId: txn.checkpointId,
      rows: txn.seq,
    };
  }

  async commit(c: DuckDBCommittable): Promise<void> {
    await this.inTransaction(`commit checkpoint ${c.checkpointId}`, async (con) => {
      const marker = await con.runAndReadAll(`SELECT 1 FROM ${this.markers} WHERE job = $1 AND uid = $2 AND subtask = $3 AND checkpoint_id = $4`, [
        c.job,
        c.uid,
        c.subtask,
        BigInt(c.checkpointId),
      ]);
      if (marker.currentRowCount > 0) return;
      const writer =
        c.job === this.ctx.jobName && c.uid === this.ctx.operatorUid && c.subtask === this.ctx.subtaskIndex
          ? this.writerId
          : await this.writerIdOf(c.job, c.uid, c.subtask, false);
      const ck = BigInt(c.checkpointId);
      const staged = `SELECT * FROM ${this.staging} WHERE _weir_writer = $1 AND _weir_checkpoint_id = $2`;
      if (this.upsert) {
        // The last change per key decides: upserted through the primary key index (INSERT OR
        // REPLACE costs per staged row, where a join would scan the whole target every
        // checkpoint), or deleted.
        const keys = this.keyCols.join(', ');
        const last = `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY _weir_seq DESC) AS _weir_rn FROM (${staged})) WHERE _weir_rn = 1`;
        await con.run(
          `INSERT OR REPLACE INTO ${this.target} (${this.cols}) SELECT ${this.cols} FROM (${last}) WHERE _weir_kind IN (${RowKind.INSERT}, ${RowKind.UPDATE_AFTER})`,
          [writer, ck],
        );
        const gone = `SELECT ${keys} FROM (${last}) WHERE _weir_kind IN (${RowKind.UPDATE_BEFORE}, ${RowKind.DELETE})`;
        const anyGone = await con.runAndReadAll(`SELECT 1 FROM (${gone}) LIMIT 1`, [writer, ck]);
        if (anyGone.currentRowCount > 0) {
          const on = this.keyCols.map((k) => `t.${k} = k.${k}`).join(' AND ');
          await con.run(`DELETE FROM ${this.target} AS t USING (${gone}) AS k WHERE ${on}`, [writer, ck]);
        }
      } else {
        await con.run(`INSERT INTO ${this.target} (${this.cols}) SELECT ${this.cols} FROM (${staged}) ORDER BY _weir_seq`, [writer, ck]);
      }
      await con.run(`DELETE FROM ${this.staging} WHERE _weir_writer = $1 AND _weir_checkpoint_id = $2`, [writer, ck]);
      await con.run(`INSERT INTO ${this.markers} VALUES ($1, $2, $3, $4, now()::TIMESTAMP)`, [c.job, c.uid, c.subtask, ck]);
    });
  }

  async abort(c: DuckDBCommittable): Promise<void> {
    await this.inTransaction(`abort checkpoint ${c.checkpointId}`, async (con) => {
      const writer = await this.writerIdOf(c.job, c.uid, c.subtask, false);
      await con.run(`DELETE FROM ${this.staging} WHERE _weir_writer = $1 AND _weir_checkpoint_id = $2`, [writer, BigInt(c.checkpointId)]);
    });
  }

  /** Runs `fn` in one DuckDB transaction on the control connection, serialized per file. */
  private async inTransaction(what: string, fn: (con: DuckDBConnection) => Promise<void>): Promise<void> {
    const con = this.controlCon;
    if (!con || !this.db) throw internalError(`${this.what}: ${what} before open()`);
    await this.db.exclusive(async () => {
      try {
        await con.run('BEGIN TRANSACTION');
        await fn(con);
        await con.run('COMMIT');
      } catch (e) {
        await con.run('ROLLBACK').catch(() => undefined);
        throw this.wrap(e, what);
      }
    });
  }

  private wrap(e: unknown, what: string): unknown {
    if (isWeirError(e)) return e;
    return externalError('DUCKDB', `DuckDB: ${what} of ${this.what} failed: ${(e as Error).message}`, { cause: e, details: { path: this.config.path } });
  }

  async close(): Promise<void> {
    this.appender?.close();
    this.appender = undefined;
    this.appendCon?.closeSync();
    this.controlCon?.closeSync();
    this.appendCon = this.controlCon = undefined;
    if (this.db) await releaseDuckDB(this.db);
    this.db = undefined;
  }
}
