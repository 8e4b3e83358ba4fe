/**
 * The PostgreSQL sink: append through COPY (exactly-once: one COPY per transaction, kept open
 * across flushes), upsert through INSERT ... ON CONFLICT DO UPDATE and DELETE with one array
 * parameter per column, each key's last change only. Rows are buffered up to
 * sink.buffer-flush.max-rows and then written in the background while the next ones are
 * buffered (one flush at a time). Exactly-once (default) uses PostgreSQL's two-phase
 * commit: each subtask holds one connection with the checkpoint's open transaction, and on
 * barrier n runs PREPARE TRANSACTION '<gid of job, operator, subtask, n>'; COMMIT PREPARED runs
 * (on a second connection) when checkpoint n is complete. The prepared transaction also inserts a
 * row into `_weir_commits`, so after a crash a gid that is no longer prepared can be told apart:
 * committed (marker present) or lost (absent).
 *
 * At parallelism > 1 each subtask's transaction would become visible on its own, so there the
 * prepared transactions write into staging tables instead, and once every subtask has committed
 * checkpoint n one transaction moves the checkpoint's rows into the target (staging.ts,
 * apply-group.ts). Upserts stage at parallelism 1 too (faster, see usesStaging), where the commit
 * itself applies. Recovery applies what a crash left staged, whatever the parallelism.
 *
 * Transaction states (per checkpoint): idle (nothing written, no BEGIN yet) -> open (BEGIN sent,
 * rows written) -> prepared -> committed | rolled back. An idle transaction prepares nothing: its
 * committable has gid null.
 *
 * Row locks: a prepared upsert transaction keeps its row locks until COMMIT PREPARED, which
 * arrives through the task's mailbox, between elements. A write that waited for such a lock from
 * inside write() or preCommit() would wait forever, so upsert rows are only written early (at
 * sink.buffer-flush.max-rows or the interval) while no earlier transaction of this subtask is
 * pending; otherwise they stay buffered until preCommit, which runs after the previous
 * checkpoint's commit (one checkpoint is in flight at a time). A lock_timeout turns any wait
 * that still happens (an aborted checkpoint's transaction, another writer) into a retriable
 * failure instead of a hang.
 */
import type pg from 'pg';
import type { DatabaseError } from 'pg';
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { externalError, internalError, userError } from '../../src/errors.js';
import { copyFrom, CopyInStream } from './copy-in.js';
import { joinApplyGroup, registerLiveSink, type ApplyGroup } from './apply-group.js';
import { gidPrefix, makeGid, parseGid } from './gid.js';
import { closePg, connectPg } from './pg-connection.js';
import { dataError, offendingOf, pgError, sqlState, type PgErrorContext } from './pg-errors.js';
import { prepareTarget, type TargetTable } from './pg-table.js';
import { preparedWithPrefix, rollbackPrepared, rollbackRemovedSinks } from './prepared-xacts.js';
import { quoteLiteral } from './pg-values.js';
import { describeServer, describeSink, qualifiedTarget, type PostgresSinkConfig } from './postgres-options.js';
import { AppendBuffer, RowEncoder, UpsertBuffer, type Flushable, type RowBuffer } from './row-buffer.js';
import { StagingApplier, stagingStatements, stagingTail, usesStaging, type StagingTarget } from './staging.js';

/** What preCommit returns and commit/abort take; recorded in the checkpoint (no credentials). */
export interface PgCommittable {
  /** null: nothing was written in this checkpoint (or at-least-once), nothing to commit. */
  readonly gid: string | null;
  readonly job: string;
  readonly uid: string;
  readonly subtask: number;
  readonly checkpointId: number;
  readonly rows: number;
  /** The rows went into a staging table (see usesStaging), not into the target (absent in older checkpoints). */
  readonly staged: boolean;
  readonly [k: string]: JsonValue;
}

type TxnState = 'idle' | 'open' | 'prepared';

interface Txn {
  readonly checkpointId: number;
  state: TxnState;
  rows: number;
  /** Flushes written so far: the sequence of staged rows. */
  flushes: number;
}

/** How long a write waits for a row lock before failing (retriably) instead of hanging. */
const LOCK_TIMEOUT = '10s';
/** Commit markers kept per writer; older ones are pruned every PRUNE_EVERY commits. */
const MARKERS_KEPT = 1000;
const PRUNE_EVERY = 100;

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

export class PostgresSinkWriter implements TwoPhaseCommitSink<Txn, PgCommittable> {
  /** Holds the open transaction (exactly-once) or runs the flushes (at-least-once). */
  private txConn: pg.Client | undefined;
  /** Commits, rollbacks and bookkeeping; never inside a transaction between calls. */
  private control: pg.Client | undefined;
  private target!: TargetTable;
  private readonly exactlyOnce: boolean;
  /** Rows go into the staging table (see staging.ts). */
  private readonly staged: boolean;
  private staging: StagingTarget | undefined;
  private applier: StagingApplier | undefined;
  /** The sink's subtasks in this process (exactly-once only). */
  private group: ApplyGroup | undefined;
  /** Parallelism 1: no other subtask to wait for, so commit() applies what it committed. */
  private readonly applyOnCommit: boolean;
  /** Inside recover(), which applies once for all subtasks instead. */
  private recovering = false;
  /** This subtask has arrived at the group's recovery (its restored transactions are committed). */
  private arrived = false;
  private readonly unregister: () => void;
  private readonly upsert: boolean;
  private readonly keyNames: readonly string[];
  private readonly buffer: RowBuffer;
  private readonly encoder: RowEncoder;
  private readonly err: PgErrorContext;
  private readonly prefix: string;
  /** gids prepared by this writer and not yet committed or rolled back. */
  private readonly pending = new Set<string>();
  private current: Txn | undefined;
  /** The COPY of the open transaction (append, exactly-once), kept open between flushes. */
  private copy: CopyInStream | undefined;
  private sql!: { copy: string; upsert: string; delete: string; marker: string };
  /** Serializes the work on txConn: background flushes, then preCommit, then close. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The last background flush, settled (never rejects): write() waits for it before the next. */
  private inflight: Promise<void> | undefined;
  private flushesRunning = 0;
  /** The first failure of a background flush; every later call throws it. */
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = Date.now();
  private commits = 0;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly config: PostgresSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.exactlyOnce = config.delivery === 'exactly-once';
    this.staged = this.exactlyOnce && usesStaging(ctx.parallelism, ctx.primaryKey.length > 0);
    this.applyOnCommit = this.staged && ctx.parallelism === 1;
    // Synchronously, before any writer of the execution opens (see registerLiveSink).
    this.unregister = registerLiveSink(ctx.jobName, ctx.operatorUid);
    this.keyNames = ctx.primaryKey.map((i) => schema.fields[i].name);
    this.upsert = this.keyNames.length > 0;
    this.buffer = this.upsert ? new UpsertBuffer(ctx.primaryKey) : new AppendBuffer();
    this.encoder = new RowEncoder(schema);
    this.err = { table: table.name, target: qualifiedTarget(config), server: describeServer(config.connection) };
    this.prefix = gidPrefix(ctx.jobName, ctx.operatorUid);
  }

  async open(): Promise<void> {
    const { jobName, operatorUid, subtaskIndex, parallelism } = this.ctx;
    const app = `weir ${jobName} ${subtaskIndex}`;
    if (this.exactlyOnce) this.group = joinApplyGroup(`${this.err.server}|${this.err.target}|${jobName}|${operatorUid}`, parallelism);
    try {
      this.control = await connectPg(this.config.connection, { applicationName: app });
      this.txConn = await connectPg(this.config.connection, {
        applicationName: app,
        setup: [`SET lock_timeout = '${LOCK_TIMEOUT}'`, 'SET idle_in_transaction_session_timeout = 0'],
      });
      if (this.exactlyOnce) await this.checkPreparedTransactions();
      this.target = await prepareTarget(this.control, {
        config: this.config,
        weirTable: this.table.name,
        schema: this.schema,
        keyNames: this.keyNames,
        exactlyOnce: this.exactlyOnce,
        server: this.err.server,
      });
      if (this.exactlyOnce) {
        this.staging = { target: this.target, keyColumns: this.ctx.primaryKey, job: jobName, uid: operatorUid };
        this.applier = new StagingApplier(this.staging, this.target.markers);
        if (subtaskIndex === 0) {
          const removed = await rollbackRemovedSinks(this.control, jobName);
          if (removed.length > 0) {
            this.ctx.log.info(
              { gids: removed, table: this.table.name },
              `rolled back ${removed.length} prepared transaction(s) of sink operators no longer in job ${jobName}`,
            );
          }
        }
      }
    } catch (e) {
      throw pgError(e, this.err, 'opening');
    }
    const { qualified, columns, baseTypes, markers } = this.target;
    const cols = columns.join(', ');
    const keys = this.ctx.primaryKey.map((i) => columns[i]);
    const params = (idx: readonly number[]): string => idx.map((c, k) => `$${k + 1}::${baseTypes[c]}[]`).join(', ');
    const all = columns.map((_, c) => c);
    const rest = all.filter((c) => !this.ctx.primaryKey.includes(c)).map((c) => `${columns[c]} = EXCLUDED.${columns[c]}`);
    this.sql = {
      copy: `COPY ${qualified} (${cols}) FROM STDIN`,
      upsert: `INSERT INTO ${qualified} (${cols}) SELECT * FROM unnest(${params(all)}) ON CONFLICT (${keys.join(', ')}) ${rest.length ? `DO UPDATE SET ${rest.join(', ')}` : 'DO NOTHING'}`,
      delete: `DELETE FROM ${qualified} WHERE (${keys.join(', ')}) IN (SELECT * FROM unnest(${params(this.ctx.primaryKey)}))`,
      marker: `INSERT INTO ${markers} (gid, job, operator_uid, subtask, checkpoint_id, target, rows) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    };
    const interval = this.config.flushIntervalMs;
    if (interval > 0) {
      this.timer = setInterval(() => this.onInterval(), Math.max(interval, 20));
      this.timer.unref();
    }
  }

  private async checkPreparedTransactions(): Promise<void> {
    const r = await this.control!.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions');
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
    this.recovering = true;
    try {
      for (const c of restored) await this.commit(c);
    } finally {
      this.recovering = false;
    }
    const { jobName, operatorUid, subtaskIndex, parallelism } = this.ctx;
    const control = this.control!;
    try {
      // Newer transactions of this sink (a crash after PREPARE, before the checkpoint completed)
      // are rolled back; after a rescale, old subtask j is handled by subtask j % parallelism,
      // the same subtask that received j's restored committables.
      for (const gid of await preparedWithPrefix(control, this.prefix)) {
        const p = parseGid(gid, this.prefix);
        if (!p || p.checkpointId <= restoredCheckpointId || p.subtask % parallelism !== subtaskIndex) continue;
        await rollbackPrepared(control, gid);
      }
      if (this.exactlyOnce) {
        // Markers of checkpoints after the restored one belong to an abandoned run whose ids
        // this run may reuse.
        await control.query(`DELETE FROM ${this.target.markers} WHERE job = $1 AND operator_uid = $2 AND subtask % $3 = $4 AND checkpoint_id > $5`, [
          jobName,
          operatorUid,
          parallelism,
          subtaskIndex,
          restoredCheckpointId,
        ]);
      }
    } catch (e) {
      throw pgError(e, this.err, 'recovery');
    }
    if (this.exactlyOnce) await this.recoverStaged(restoredCheckpointId);
  }

  /**
   * Once every subtask of the sink has recovered (all restored transactions committed, newer ones
   * rolled back), the last one applies what is staged up to the restored checkpoint, also at
   * parallelism 1 (an earlier run may have staged); every subtask waits for that before writing.
   */
  private async recoverStaged(restoredId: number): Promise<void> {
    const applier = this.applier!;
    this.arrived = true;
    await this.group!.recovered(this.ctx.subtaskIndex, restoredId, async () => {
      try {
        await applier.recover(this.control!, restoredId);
      } catch (e) {
        throw pgError(e, this.err, `recovery of staged rows up to checkpoint ${restoredId}`);
      }
    });
  }

  async begin(checkpointId: number): Promise<Txn> {
    const txn: Txn = { checkpointId, state: 'idle', rows: 0, flushes: 0 };
    this.current = txn;
    return txn;
  }

  async write(txn: Txn, batch: ChangeBatch): Promise<void> {
    this.throwFailure();
    if (batch.size === 0) return;
    this.buffer.add(batch);
    const max = this.config.flushMaxRows;
    if (max > 0 && this.buffer.size >= max && this.mayFlushEarly()) {
      // One flush runs on the server while the next rows are buffered; write() returns once the
      // previous one is done, which is the backpressure.
      const previous = this.inflight;
      this.flushInBackground(txn);
      await previous;
      this.throwFailure();
    }
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Upsert rows may wait for row locks of a pending prepared transaction: see the module comment. */
  private mayFlushEarly(): boolean {
    // Staged rows take no locks on the target.
    return !this.upsert || this.staged || this.pending.size === 0;
  }

  private onInterval(): void {
    const txn = this.current;
    if (!txn || txn.state === 'prepared' || this.buffer.size === 0 || this.failure !== undefined || this.flushesRunning > 0) return;
    if (Date.now() - this.lastFlush < this.config.flushIntervalMs || !this.mayFlushEarly()) return;
    this.flushInBackground(txn);
  }

  /** Takes the buffer now and writes it after the work queued before it. */
  private flushInBackground(txn: Txn): void {
    const work = this.buffer.take();
    this.lastFlush = Date.now();
    this.flushesRunning++;
    const run = this.serial(() => (this.failure === undefined ? this.writeWork(txn, work) : undefined));
    this.inflight = run.then(
      () => void this.flushesRunning--,
      (e: unknown) => {
        this.flushesRunning--;
        this.failure ??= e;
      },
    );
  }

  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Writes `work` into `txn` (exactly-once) or commits it (at-least-once). */
  private async writeWork(txn: Txn, work: Flushable): Promise<void> {
    if (work.rows === 0) return;
    const con = this.txConn!;
    try {
      if (this.exactlyOnce && txn.state === 'idle') {
        await con.query('BEGIN');
        txn.state = 'open';
      }
      if (this.staged) {
        if (this.copy === undefined) {
          // The transaction's first rows: its own staging table, then one COPY kept open.
          const st = stagingStatements(this.staging!, txn.checkpointId, this.ctx.subtaskIndex);
          await con.query(st.create);
          this.copy = await CopyInStream.open(con, st.copy);
        }
        await this.copy.write(this.stagedCopy(txn, work));
      } else if (!this.upsert && this.exactlyOnce) {
        // One COPY per transaction, kept open across flushes: a statement per flush costs more.
        this.copy ??= await CopyInStream.open(con, this.sql.copy);
        await this.copy.write(this.encoder.copyBatches(work.batches));
      } else if (!this.upsert) {
        await copyFrom(con, this.sql.copy, this.encoder.copyBatches(work.batches));
      } else if (this.exactlyOnce) {
        await this.writeUpserts(con, work);
      } else {
        await con.query('BEGIN');
        try {
          await this.writeUpserts(con, work);
          await con.query('COMMIT');
        } catch (e) {
          await con.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      }
    } catch (e) {
      // The transaction is lost: every later call fails with this, not with "transaction aborted".
      const failure = await this.writeFailure(e, work);
      this.failure ??= failure;
      throw failure;
    }
    txn.rows += work.rows;
  }

  /** COPY lines for the staging table; upsert lines carry the flush's sequence number and the op. */
  private stagedCopy(txn: Txn, work: Flushable): Buffer[] {
    const seq = txn.flushes++;
    return this.upsert ? this.encoder.copyChanges(work, stagingTail(seq, 'D'), stagingTail(seq, 'U')) : this.encoder.copyBatches(work.batches);
  }

  /** Finishes the open COPY; the server reports rows it rejected here at the latest. */
  private async endCopy(): Promise<void> {
    const copy = this.copy;
    if (!copy) return;
    this.copy = undefined;
    try {
      await copy.end();
    } catch (e) {
      const failure = pgError(e, this.err, 'rows');
      this.failure ??= failure;
      throw failure;
    }
  }

  private async writeUpserts(con: pg.Client, work: Flushable): Promise<void> {
    const enc = this.encoder;
    if (work.deletes.length > 0) {
      await con.query(
        this.sql.delete,
        this.ctx.primaryKey.map((c) => enc.arrayLiteral(work.batches, work.deletes, c)),
      );
    }
    if (work.upserts.length > 0) {
      await con.query(
        this.sql.upsert,
        this.schema.fields.map((_, c) => enc.arrayLiteral(work.batches, work.upserts, c)),
      );
    }
  }

  /**
   * A failed write as a WeirError. When PostgreSQL rejected the data but did not say which column
   * and value (array parameters carry no row position), the rows are copied into a temporary
   * copy of the table in a rolled-back transaction, where COPY names both.
   */
  private async writeFailure(e: unknown, work: Flushable): Promise<unknown> {
    const state = sqlState(e);
    const what = this.upsert ? 'upsert' : 'rows';
    if (state === undefined || !/^(22|23)/.test(state) || offendingOf(e as DatabaseError).column !== undefined || !this.upsert) {
      return pgError(e, this.err, what);
    }
    const con = this.control!;
    try {
      await con.query('BEGIN');
      await con.query(`CREATE TEMP TABLE _weir_diagnosis (LIKE ${this.target.qualified} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP`);
      await copyFrom(con, `COPY _weir_diagnosis (${this.target.columns.join(', ')}) FROM STDIN`, this.encoder.copyRefs(work.batches, work.upserts));
    } catch (diag) {
      if (sqlState(diag) !== undefined) return dataError(e as DatabaseError, this.err, what, offendingOf(diag as DatabaseError));
    } finally {
      await con.query('ROLLBACK').catch(() => undefined);
    }
    return pgError(e, this.err, what);
  }

  async preCommit(txn: Txn): Promise<PgCommittable> {
    this.throwFailure();
    const work = this.buffer.take();
    return this.serial(async () => {
      this.throwFailure();
      await this.writeWork(txn, work);
      const { jobName, operatorUid, subtaskIndex } = this.ctx;
      const base = { job: jobName, uid: operatorUid, subtask: subtaskIndex, checkpointId: txn.checkpointId, rows: txn.rows, staged: this.staged };
      if (!this.exactlyOnce || txn.state === 'idle') {
        txn.state = 'prepared';
        return { gid: null, ...base };
      }
      const gid = makeGid(jobName, operatorUid, subtaskIndex, txn.checkpointId);
      const con = this.txConn!;
      await this.endCopy();
      try {
        await con.query(this.sql.marker, [gid, jobName, operatorUid, subtaskIndex, txn.checkpointId, this.target.qualified, txn.rows]);
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
      txn.state = 'prepared';
      this.pending.add(gid);
      return { gid, ...base };
    });
  }

  async commit(c: PgCommittable): Promise<void> {
    if (c.gid === null) return;
    try {
      await this.control!.query(`COMMIT PREPARED ${quoteLiteral(c.gid)}`);
    } catch (e) {
      if (sqlState(e) !== '42704') throw pgError(e, this.err, `commit of checkpoint ${c.checkpointId}`);
      await this.ensureCommitted(c);
    }
    this.pending.delete(c.gid);
    if (this.applyOnCommit && !this.recovering) await this.apply(c.checkpointId);
    if (++this.commits % PRUNE_EVERY === 0) await this.pruneMarkers(c);
  }

  /**
   * Checkpoint n is complete and this subtask has committed it: when it is the last subtask of the
   * sink to do so, it moves the checkpoint's staged rows into the target (see staging.ts).
   */
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    if (!this.staged || this.applyOnCommit) return;
    await this.group!.checkpointComplete(this.ctx.subtaskIndex, checkpointId, () => this.apply(checkpointId));
  }

  private async apply(checkpointId: number): Promise<void> {
    try {
      await this.applier!.apply(this.control!, checkpointId);
    } catch (e) {
      throw pgError(e, this.err, `apply of checkpoint ${checkpointId}`);
    }
  }

  /**
   * The gid is not prepared (any more): its marker tells whether it committed — its own, or an
   * applied marker of a later checkpoint, which replaced the subtasks' markers it covers.
   */
  private async ensureCommitted(c: PgCommittable): Promise<void> {
    const markers = this.target.markers;
    try {
      const found = await this.control!.query(
        `SELECT 1 FROM ${markers} WHERE gid = $1 OR (job = $2 AND operator_uid = $3 AND subtask = -1 AND checkpoint_id >= $4) LIMIT 1`,
        [c.gid, c.job, c.uid, c.checkpointId],
      );
      if (found.rowCount! > 0) return;
      const oldest = await this.control!.query<{ min: string | null }>(
        `SELECT min(checkpoint_id)::text AS min FROM ${markers} WHERE job = $1 AND operator_uid = $2 AND subtask = $3`,
        [c.job, c.uid, c.subtask],
      );
      const min = oldest.rows[0].min;
      // Older than every marker kept: committed long ago and pruned.
      if (min !== null && c.checkpointId < Number(min)) return;
    } catch (e) {
      throw pgError(e, this.err, `commit check of checkpoint ${c.checkpointId}`);
    }
    throw externalError(
      'PG_COMMIT_LOST',
      `PostgreSQL at ${this.err.server}: the prepared transaction of checkpoint ${c.checkpointId} (subtask ${c.subtask}) for table ${this.err.target} was rolled back outside weir; its ${c.rows} row(s) are missing`,
      { retriable: false, details: { table: this.table.name, checkpointId: c.checkpointId } },
    );
  }

  private async pruneMarkers(c: PgCommittable): Promise<void> {
    await this.control!.query(`DELETE FROM ${this.target.markers} WHERE job = $1 AND operator_uid = $2 AND subtask = $3 AND checkpoint_id < $4`, [
      c.job,
      c.uid,
      c.subtask,
      c.checkpointId - MARKERS_KEPT,
    ]).catch((e: unknown) => this.ctx.log.warn({ err: e, table: this.table.name }, 'pruning commit markers failed'));
  }

  async abort(c: PgCommittable): Promise<void> {
    if (c.gid === null) return;
    try {
      await rollbackPrepared(this.control!, c.gid);
    } catch (e) {
      throw pgError(e, this.err, `rollback of checkpoint ${c.checkpointId}`);
    }
    this.pending.delete(c.gid);
  }

  /** Rolls back the open (never a prepared) transaction and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unregister();
    const left = externalError(
      'PG_SUBTASK_CLOSED',
      `PostgreSQL sink for table ${this.err.target}: subtask ${this.ctx.subtaskIndex} closed before it recovered`,
      {
        retriable: true,
      },
    );
    this.group?.leave(this.ctx.subtaskIndex, this.arrived, left);
    this.group = undefined;
    await this.chain;
    const con = this.txConn;
    await this.copy?.abort('the sink is closing').catch(() => undefined);
    this.copy = undefined;
    if (con && this.current?.state === 'open') await con.query('ROLLBACK').catch(() => undefined);
    await Promise.all([closePg(this.txConn), closePg(this.control)]);
    this.txConn = this.control = undefined;
  }
}
