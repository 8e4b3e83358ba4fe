/**
 * The PostgreSQL sink. Exactly-once (default) uses PostgreSQL's two-phase commit: each subtask
 * holds one connection with the checkpoint's open transaction, and on barrier n runs PREPARE
 * TRANSACTION '<gid of job, operator, subtask, n>'; COMMIT PREPARED runs (on a second connection)
 * when checkpoint n is complete. The prepared transaction also inserts a row into `_weir_commits`,
 * so after a crash a gid that is no longer prepared can be told apart: committed (marker present)
 * or lost (absent).
 *
 * At parallelism > 1 each subtask's transaction would become visible on its own, so there the
 * prepared transactions write into staging tables instead, and once every subtask has committed
 * checkpoint n one transaction moves the checkpoint's rows into the target (staging.ts,
 * apply-group.ts). Upserts stage at parallelism 1 too (faster, see usesStaging), where the commit
 * itself applies. Recovery applies what a crash left staged, whatever the parallelism.
 *
 * A subtask's writer is three parts: the transaction of each checkpoint with its declared states
 * (sink-transaction.ts), the rows buffered and written into it (sink-rows.ts), and the commits and
 * recovery (sink-recovery.ts). This file connects them and prepares each checkpoint's transaction.
 */
import type pg from 'pg';
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { externalError, internalError, userError } from '../../src/errors.js';
import { joinApplyGroup, registerLiveSink, type ApplyGroup } from './apply-group.js';
import { gidPrefix, makeGid } from './gid.js';
import { closePg, connectPg } from './pg-connection.js';
import { pgError, type PgErrorContext } from './pg-errors.js';
import { prepareTarget } from './pg-table.js';
import { rollbackRemovedSinks } from './prepared-xacts.js';
import { quoteLiteral } from './pg-values.js';
import { describeServer, describeSink, qualifiedTarget, type PostgresSinkConfig } from './postgres-options.js';
import { AppendBuffer, RowEncoder, UpsertBuffer } from './row-buffer.js';
import { SinkCommitter } from './sink-recovery.js';
import { SinkRowWriter } from './sink-rows.js';
import { sinkStatements, type SinkSession } from './sink-session.js';
import { SinkTransaction, type PgCommittable } from './sink-transaction.js';
import { StagingApplier, usesStaging } from './staging.js';

export type { PgCommittable } from './sink-transaction.js';

/** How long a write waits for a row lock before failing (retriably) instead of hanging. */
const LOCK_TIMEOUT = '10s';

export class PostgresSink implements Sink {
  readonly acceptsUpdates: boolean;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: PostgresSinkConfig,
  ) {
    this.acceptsUpdates = table.primaryKey.length > 0;
  }

  createWriter(ctx: SinkContext): TwoPhaseCommitSink {
    return new PostgresSinkWriter(this.table, this.schema, this.config, ctx) as unknown as TwoPhaseCommitSink;
  }

  describe(): string {
    return describeSink(this.config);
  }
}

export class PostgresSinkWriter implements TwoPhaseCommitSink<SinkTransaction, PgCommittable> {
  /** Holds the open transaction (exactly-once) or runs the flushes (at-least-once). */
  private txConn: pg.Client | undefined;
  /** Commits, rollbacks and bookkeeping; never inside a transaction between calls. */
  private control: pg.Client | undefined;
  private readonly exactlyOnce: boolean;
  /** Rows go into the staging table (see staging.ts). */
  private readonly staged: boolean;
  /** The sink's subtasks in this process (exactly-once only). */
  private group: ApplyGroup | undefined;
  private readonly unregister: () => void;
  private readonly keyNames: readonly string[];
  private readonly rows: SinkRowWriter;
  private readonly err: PgErrorContext;
  private readonly prefix: string;
  /** From open() until close(). */
  private session: SinkSession | undefined;
  private committer: SinkCommitter | undefined;
  private current: SinkTransaction | undefined;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: PostgresSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.exactlyOnce = config.delivery === 'exactly-once';
    this.staged = this.exactlyOnce && usesStaging(ctx.parallelism, ctx.primaryKey.length > 0);
    // Synchronously, before any writer of the execution opens (see registerLiveSink).
    this.unregister = registerLiveSink(ctx.jobName, ctx.operatorUid);
    this.keyNames = ctx.primaryKey.map((i) => schema.fields[i].name);
    const upsert = this.keyNames.length > 0;
    const buffer = upsert ? new UpsertBuffer(ctx.primaryKey) : new AppendBuffer();
    this.rows = new SinkRowWriter(config, upsert, this.staged, buffer, new RowEncoder(schema), () => this.committer?.hasPending ?? false);
    this.err = { table: table.name, target: qualifiedTarget(config), server: describeServer(config.connection) };
    this.prefix = gidPrefix(ctx.jobName, ctx.operatorUid);
  }

  async open(): Promise<void> {
    const { jobName, operatorUid, subtaskIndex, parallelism } = this.ctx;
    const app = `weir ${jobName} ${subtaskIndex}`;
    if (this.exactlyOnce) this.group = joinApplyGroup(`${this.err.server}|${this.err.target}|${jobName}|${operatorUid}`, parallelism);
    let session: SinkSession;
    let applier: StagingApplier | undefined;
    try {
      const control = (this.control = await connectPg(this.config.connection, { applicationName: app }));
      const txConn = (this.txConn = await connectPg(this.config.connection, {
        applicationName: app,
        setup: [`SET lock_timeout = '${LOCK_TIMEOUT}'`, 'SET idle_in_transaction_session_timeout = 0'],
      }));
      if (this.exactlyOnce) await this.checkPreparedTransactions(control);
      const target = await prepareTarget(control, {
        config: this.config,
        weirTable: this.table.name,
        schema: this.schema,
        keyNames: this.keyNames,
        exactlyOnce: this.exactlyOnce,
        server: this.err.server,
      });
      const staging = this.exactlyOnce ? { target, keyColumns: this.ctx.primaryKey, job: jobName, uid: operatorUid } : undefined;
      if (staging) {
        applier = new StagingApplier(staging, target.markers);
        if (subtaskIndex === 0) {
          const removed = await rollbackRemovedSinks(control, jobName);
          if (removed.length > 0) {
            this.ctx.log.info(
              { gids: removed, table: this.table.name },
              `rolled back ${removed.length} prepared transaction(s) of sink operators no longer in job ${jobName}`,
            );
          }
        }
      }
      session = {
        ctx: this.ctx,
        tableName: this.table.name,
        schema: this.schema,
        err: this.err,
        exactlyOnce: this.exactlyOnce,
        staged: this.staged,
        txConn,
        control,
        target,
        staging,
        sql: sinkStatements(target, this.ctx.primaryKey),
      };
    } catch (e) {
      throw pgError(e, this.err, 'opening');
    }
    this.session = session;
    // Parallelism 1: no other subtask to wait for, so commit() applies what it committed.
    this.committer = new SinkCommitter(session, this.prefix, this.group, applier, this.staged && parallelism === 1);
    this.rows.start(session, () => this.current);
  }

  private async checkPreparedTransactions(control: pg.Client): Promise<void> {
    const r = await control.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions');
    if (Number(r.rows[0].max_prepared_transactions) === 0) {
      throw userError(
        'PG_2PC_DISABLED',
        `table '${this.table.name}': PostgreSQL at ${this.err.server} has max_prepared_transactions = 0, so the exactly-once sink cannot PREPARE TRANSACTION; ` +
          `set max_prepared_transactions in postgresql.conf (at least twice the sink's parallelism, e.g. 16) and restart the server, ` +
          `or set 'sink.delivery-guarantee' = 'at-least-once' (upserts stay idempotent, appended rows may repeat after a failure)`,
        { details: { table: this.table.name } },
      );
    }
  }

  async recover(restored: PgCommittable[], restoredCheckpointId: number): Promise<void> {
    return this.committer!.recover(restored, restoredCheckpointId);
  }

  async begin(checkpointId: number): Promise<SinkTransaction> {
    const txn = new SinkTransaction(checkpointId);
    this.current = txn;
    return txn;
  }

  write(txn: SinkTransaction, batch: ChangeBatch): Promise<void> {
    return this.rows.write(txn, batch);
  }

  async preCommit(txn: SinkTransaction): Promise<PgCommittable> {
    return this.rows.finish(txn, () => this.prepare(txn));
  }

  /** After the transaction's last rows: PREPARE TRANSACTION with its marker, or nothing to prepare. */
  private async prepare(txn: SinkTransaction): Promise<PgCommittable> {
    const { jobName, operatorUid, subtaskIndex } = this.ctx;
    const base = { job: jobName, uid: operatorUid, subtask: subtaskIndex, checkpointId: txn.checkpointId, rows: txn.rows, staged: this.staged };
    if (!this.exactlyOnce || txn.state === 'idle') {
      const nothing = { gid: null, ...base };
      txn.prepared(nothing);
      return nothing;
    }
    const gid = makeGid(jobName, operatorUid, subtaskIndex, txn.checkpointId);
    const { txConn: con, sql, target } = this.session!;
    await this.rows.endCopy(txn.open);
    try {
      await con.query(sql.marker, [gid, jobName, operatorUid, subtaskIndex, txn.checkpointId, target.qualified, txn.rows]);
      const r = await con.query(`PREPARE TRANSACTION ${quoteLiteral(gid)}`);
      // Outside a transaction PREPARE is only a WARNING with the tag ROLLBACK.
      if (r.command !== 'PREPARE')
        throw internalError(`PREPARE TRANSACTION for checkpoint ${txn.checkpointId} answered ${r.command}, not PREPARE: the transaction was not open`);
    } catch (e) {
      if (/maximum number of prepared transactions/i.test((e as Error).message)) {
        throw userError(
          'PG_2PC_LIMIT',
          `table '${this.table.name}': PostgreSQL at ${this.err.server} has no room for another prepared transaction; raise max_prepared_transactions to at least twice the sink's parallelism`,
          { cause: e },
        );
      }
      throw pgError(e, this.err, `prepare of checkpoint ${txn.checkpointId}`);
    }
    const committable = { gid, ...base };
    txn.prepared(committable);
    this.committer!.track(gid, txn);
    return committable;
  }

  async commit(c: PgCommittable): Promise<void> {
    return this.committer!.commit(c);
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return this.committer!.notifyCheckpointComplete(checkpointId);
  }

  async abort(c: PgCommittable): Promise<void> {
    return this.committer!.abort(c);
  }

  /** Rolls back the open (never a prepared) transaction and disconnects. */
  async close(): Promise<void> {
    this.rows.stopTimer();
    this.unregister();
    const left = externalError(
      'PG_SUBTASK_CLOSED',
      `PostgreSQL sink for table ${this.err.target}: subtask ${this.ctx.subtaskIndex} closed before it recovered`,
      {
        retriable: true,
      },
    );
    this.group?.leave(this.ctx.subtaskIndex, this.committer?.arrived ?? false, left);
    this.group = undefined;
    await this.rows.settled();
    const con = this.txConn;
    const txn = this.current;
    if (txn?.state === 'open') {
      const open = txn.open;
      await open.copy?.abort('the sink is closing').catch(() => undefined);
      open.copy = undefined;
      if (con) await con.query('ROLLBACK').catch(() => undefined);
      txn.rolledBack();
    }
    await Promise.all([closePg(this.txConn), closePg(this.control)]);
    this.txConn = this.control = undefined;
    this.session = this.committer = undefined;
  }
}
