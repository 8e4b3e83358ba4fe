/**
 * The row side of a PostgreSQL sink subtask. Rows are buffered up to sink.buffer-flush.max-rows
 * (or until the flush interval) and then written in the background while the next ones are
 * buffered, one flush at a time: appends through COPY (exactly-once: one COPY per transaction,
 * kept open across flushes), upserts through INSERT ... ON CONFLICT DO UPDATE and DELETE with one
 * array parameter per column, each key's last change only; staged rows through one COPY into the
 * transaction's staging table. Exactly-once, the first rows of a transaction BEGIN it
 * (sink-transaction.ts); at-least-once, every flush commits on its own.
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
import type { ChangeBatch } from '../../src/model/changelog.js';
import { internalError } from '../../src/errors.js';
import { copyFrom, CopyInStream } from './copy-in.js';
import { dataError, offendingOf, pgError, sqlState } from './pg-errors.js';
import type { PostgresSinkConfig } from './postgres-options.js';
import type { Flushable, RowBuffer, RowEncoder } from './row-buffer.js';
import type { SinkSession } from './sink-session.js';
import type { SinkTransaction } from './sink-transaction.js';
import { stagingStatements, stagingTail } from './staging.js';

export class SinkRowWriter {
  /** Set by start(), once open() has connected. */
  private session: SinkSession | undefined;
  /** Serializes the work on txConn: background flushes, then preCommit, then close. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The last background flush, settled (never rejects): write() waits for it before the next. */
  private inflight: Promise<void> | undefined;
  private flushesRunning = 0;
  /** The first failure of a background flush; every later call throws it. */
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = Date.now();

  constructor(
    private readonly config: PostgresSinkConfig,
    private readonly upsert: boolean,
    private readonly staged: boolean,
    private readonly buffer: RowBuffer,
    private readonly encoder: RowEncoder,
    /** Whether a transaction this subtask prepared is neither committed nor rolled back yet. */
    private readonly pendingPrepared: () => boolean,
  ) {}

  /** Connected: flushes may run, and every flush interval flushes what `current()` has buffered. */
  start(session: SinkSession, current: () => SinkTransaction | undefined): void {
    this.session = session;
    const interval = this.config.flushIntervalMs;
    if (interval > 0) {
      this.timer = setInterval(() => this.onInterval(current()), Math.max(interval, 20));
      this.timer.unref();
    }
  }

  stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private get s(): SinkSession {
    if (this.session === undefined) throw internalError('the PostgreSQL sink writes before it is open');
    return this.session;
  }

  async write(txn: SinkTransaction, batch: ChangeBatch): Promise<void> {
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

  /**
   * Writes what is buffered into `txn` after the work queued before it, then runs `then` (the
   * prepare) in the same turn on txConn.
   */
  finish<T>(txn: SinkTransaction, then: () => Promise<T>): Promise<T> {
    this.throwFailure();
    const work = this.buffer.take();
    return this.serial(async () => {
      this.throwFailure();
      await this.writeWork(txn, work);
      return then();
    });
  }

  /** Settles once the work queued on txConn has (close). */
  settled(): Promise<unknown> {
    return this.chain;
  }

  /** Finishes the open transaction's COPY; the server reports rows it rejected here at the latest. */
  async endCopy(open: { copy: CopyInStream | undefined }): Promise<void> {
    const copy = open.copy;
    if (!copy) return;
    open.copy = undefined;
    try {
      await copy.end();
    } catch (e) {
      const failure = pgError(e, this.s.err, 'rows');
      this.failure ??= failure;
      throw failure;
    }
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Upsert rows may wait for row locks of a pending prepared transaction: see the module comment. */
  private mayFlushEarly(): boolean {
    // Staged rows take no locks on the target.
    return !this.upsert || this.staged || !this.pendingPrepared();
  }

  private onInterval(txn: SinkTransaction | undefined): void {
    if (!txn?.writable || this.buffer.size === 0 || this.failure !== undefined || this.flushesRunning > 0) return;
    if (Date.now() - this.lastFlush < this.config.flushIntervalMs || !this.mayFlushEarly()) return;
    this.flushInBackground(txn);
  }

  /** Takes the buffer now and writes it after the work queued before it. */
  private flushInBackground(txn: SinkTransaction): void {
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
  private async writeWork(txn: SinkTransaction, work: Flushable): Promise<void> {
    if (work.rows === 0) return;
    const s = this.s;
    const con = s.txConn;
    try {
      if (s.exactlyOnce && txn.state === 'idle') {
        await con.query('BEGIN');
        txn.begun();
      }
      if (this.staged) {
        const open = txn.open;
        if (open.copy === undefined) {
          // The transaction's first rows: its own staging table, then one COPY kept open.
          const st = stagingStatements(s.staging!, txn.checkpointId, s.ctx.subtaskIndex);
          await con.query(st.create);
          open.copy = await CopyInStream.open(con, st.copy);
        }
        await open.copy.write(this.stagedCopy(open, work));
      } else if (!this.upsert && s.exactlyOnce) {
        // One COPY per transaction, kept open across flushes: a statement per flush costs more.
        const open = txn.open;
        open.copy ??= await CopyInStream.open(con, s.sql.copy);
        await open.copy.write(this.encoder.copyBatches(work.batches));
      } else if (!this.upsert) {
        await copyFrom(con, s.sql.copy, this.encoder.copyBatches(work.batches));
      } else if (s.exactlyOnce) {
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
    txn.wrote(work.rows);
  }

  /** COPY lines for the staging table; upsert lines carry the flush's sequence number and the op. */
  private stagedCopy(open: { flushes: number }, work: Flushable): Buffer[] {
    const seq = open.flushes++;
    return this.upsert ? this.encoder.copyChanges(work, stagingTail(seq, 'D'), stagingTail(seq, 'U')) : this.encoder.copyBatches(work.batches);
  }

  private async writeUpserts(con: pg.Client, work: Flushable): Promise<void> {
    const enc = this.encoder;
    const { ctx, schema, sql } = this.s;
    if (work.deletes.length > 0) {
      await con.query(
        sql.delete,
        ctx.primaryKey.map((c) => enc.arrayLiteral(work.batches, work.deletes, c)),
      );
    }
    if (work.upserts.length > 0) {
      await con.query(
        sql.upsert,
        schema.fields.map((_, c) => enc.arrayLiteral(work.batches, work.upserts, c)),
      );
    }
  }

  /**
   * A failed write as a WeirError. When PostgreSQL rejected the data but did not say which column
   * and value (array parameters carry no row position), the rows are copied into a temporary
   * copy of the table in a rolled-back transaction, where COPY names both.
   */
  private async writeFailure(e: unknown, work: Flushable): Promise<unknown> {
    const { err, control: con, target } = this.s;
    const state = sqlState(e);
    const what = this.upsert ? 'upsert' : 'rows';
    if (state === undefined || !/^(22|23)/.test(state) || offendingOf(e as DatabaseError).column !== undefined || !this.upsert) {
      return pgError(e, err, what);
    }
    try {
      await con.query('BEGIN');
      await con.query(`CREATE TEMP TABLE _weir_diagnosis (LIKE ${target.qualified} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP`);
      await copyFrom(con, `COPY _weir_diagnosis (${target.columns.join(', ')}) FROM STDIN`, this.encoder.copyRefs(work.batches, work.upserts));
    } catch (diag) {
      if (sqlState(diag) !== undefined) return dataError(e as DatabaseError, err, what, offendingOf(diag as DatabaseError));
    } finally {
      await con.query('ROLLBACK').catch(() => undefined);
    }
    return pgError(e, err, what);
  }
}
