/**
 * The commit side of a PostgreSQL sink subtask, on its control connection: COMMIT PREPARED once a
 * checkpoint is complete, ROLLBACK PREPARED on abort, and recovery after a restore (commit the
 * restored checkpoint's transactions, roll back newer ones, apply what a crash left staged).
 *
 * Every prepared transaction also inserted a row into `_weir_commits` (its marker), so a gid that
 * is no longer prepared can be told apart: committed (marker present) or lost (absent). Markers
 * are pruned as commits go, MARKERS_KEPT per subtask.
 */
import { externalError } from '../../src/errors.js';
import type { ApplyGroup } from './apply-group.js';
import { parseGid } from './gid.js';
import { pgError, sqlState } from './pg-errors.js';
import { quoteLiteral } from './pg-values.js';
import { preparedWithPrefix, rollbackPrepared } from './prepared-xacts.js';
import type { SinkSession } from './sink-session.js';
import type { PgCommittable, SinkTransaction } from './sink-transaction.js';
import type { StagingApplier } from './staging.js';

/** Commit markers kept per writer; older ones are pruned every PRUNE_EVERY commits. */
const MARKERS_KEPT = 1000;
const PRUNE_EVERY = 100;

export class SinkCommitter {
  /** Transactions prepared by this writer and not yet committed or rolled back, by gid. */
  private readonly pending = new Map<string, SinkTransaction>();
  /** Inside recover(), which applies once for all subtasks instead. */
  private recovering = false;
  private commits = 0;
  /** This subtask has arrived at the group's recovery (its restored transactions are committed). */
  arrived = false;

  constructor(
    private readonly s: SinkSession,
    /** gidPrefix of the sink: its transactions of every subtask and checkpoint. */
    private readonly prefix: string,
    /** The sink's subtasks in this process (exactly-once only). */
    private readonly group: ApplyGroup | undefined,
    /** Exactly-once only. */
    private readonly applier: StagingApplier | undefined,
    /** Parallelism 1: no other subtask to wait for, so commit() applies what it committed. */
    private readonly applyOnCommit: boolean,
  ) {}

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** `txn` is prepared as `gid`: commit() or abort() settles it. */
  track(gid: string, txn: SinkTransaction): void {
    this.pending.set(gid, txn);
  }

  async recover(restored: PgCommittable[], restoredCheckpointId: number): Promise<void> {
    this.recovering = true;
    try {
      for (const c of restored) await this.commit(c);
    } finally {
      this.recovering = false;
    }
    const { ctx, control, target, exactlyOnce, err } = this.s;
    const { jobName, operatorUid, subtaskIndex, parallelism } = ctx;
    try {
      // Newer transactions of this sink (a crash after PREPARE, before the checkpoint completed)
      // are rolled back; after a rescale, old subtask j is handled by subtask j % parallelism,
      // the same subtask that received j's restored committables.
      for (const gid of await preparedWithPrefix(control, this.prefix)) {
        const p = parseGid(gid, this.prefix);
        if (!p || p.checkpointId <= restoredCheckpointId || p.subtask % parallelism !== subtaskIndex) continue;
        await rollbackPrepared(control, gid);
      }
      if (exactlyOnce) {
        // Markers of checkpoints after the restored one belong to an abandoned run whose ids
        // this run may reuse.
        await control.query(`DELETE FROM ${target.markers} WHERE job = $1 AND operator_uid = $2 AND subtask % $3 = $4 AND checkpoint_id > $5`, [
          jobName,
          operatorUid,
          parallelism,
          subtaskIndex,
          restoredCheckpointId,
        ]);
      }
    } catch (e) {
      throw pgError(e, err, 'recovery');
    }
    if (exactlyOnce) await this.recoverStaged(restoredCheckpointId);
  }

  /**
   * Once every subtask of the sink has recovered (all restored transactions committed, newer ones
   * rolled back), the last one applies what is staged up to the restored checkpoint, also at
   * parallelism 1 (an earlier run may have staged); every subtask waits for that before writing.
   */
  private async recoverStaged(restoredId: number): Promise<void> {
    const applier = this.applier!;
    this.arrived = true;
    await this.group!.recovered(this.s.ctx.subtaskIndex, restoredId, async () => {
      try {
        await applier.recover(this.s.control, restoredId);
      } catch (e) {
        throw pgError(e, this.s.err, `recovery of staged rows up to checkpoint ${restoredId}`);
      }
    });
  }

  async commit(c: PgCommittable): Promise<void> {
    if (c.gid === null) return;
    try {
      await this.s.control.query(`COMMIT PREPARED ${quoteLiteral(c.gid)}`);
    } catch (e) {
      if (sqlState(e) !== '42704') throw pgError(e, this.s.err, `commit of checkpoint ${c.checkpointId}`);
      await this.ensureCommitted(c);
    }
    this.pending.get(c.gid)?.committed();
    this.pending.delete(c.gid);
    if (this.applyOnCommit && !this.recovering) await this.apply(c.checkpointId);
    if (++this.commits % PRUNE_EVERY === 0) await this.pruneMarkers(c);
  }

  /**
   * Checkpoint n is complete and this subtask has committed it: when it is the last subtask of the
   * sink to do so, it moves the checkpoint's staged rows into the target (see staging.ts).
   */
  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    if (!this.s.staged || this.applyOnCommit) return;
    await this.group!.checkpointComplete(this.s.ctx.subtaskIndex, checkpointId, () => this.apply(checkpointId));
  }

  private async apply(checkpointId: number): Promise<void> {
    try {
      await this.applier!.apply(this.s.control, checkpointId);
    } catch (e) {
      throw pgError(e, this.s.err, `apply of checkpoint ${checkpointId}`);
    }
  }

  /**
   * The gid is not prepared (any more): its marker tells whether it committed — its own, or an
   * applied marker of a later checkpoint, which replaced the subtasks' markers it covers.
   */
  private async ensureCommitted(c: PgCommittable): Promise<void> {
    const { control, target, err } = this.s;
    const markers = target.markers;
    try {
      const found = await control.query(
        `SELECT 1 FROM ${markers} WHERE gid = $1 OR (job = $2 AND operator_uid = $3 AND subtask = -1 AND checkpoint_id >= $4) LIMIT 1`,
        [c.gid, c.job, c.uid, c.checkpointId],
      );
      if (found.rowCount! > 0) return;
      const oldest = await control.query<{ min: string | null }>(
        `SELECT min(checkpoint_id)::text AS min FROM ${markers} WHERE job = $1 AND operator_uid = $2 AND subtask = $3`,
        [c.job, c.uid, c.subtask],
      );
      const min = oldest.rows[0].min;
      // Older than every marker kept: committed long ago and pruned.
      if (min !== null && c.checkpointId < Number(min)) return;
    } catch (e) {
      throw pgError(e, err, `commit check of checkpoint ${c.checkpointId}`);
    }
    throw externalError(
      'PG_COMMIT_LOST',
      `PostgreSQL at ${err.server}: the prepared transaction of checkpoint ${c.checkpointId} (subtask ${c.subtask}) for table ${err.target} was rolled back outside weir; its ${c.rows} row(s) are missing`,
      { retriable: false, details: { table: this.s.tableName, checkpointId: c.checkpointId } },
    );
  }

  private async pruneMarkers(c: PgCommittable): Promise<void> {
    await this.s.control
      .query(`DELETE FROM ${this.s.target.markers} WHERE job = $1 AND operator_uid = $2 AND subtask = $3 AND checkpoint_id < $4`, [
        c.job,
        c.uid,
        c.subtask,
        c.checkpointId - MARKERS_KEPT,
      ])
      .catch((e: unknown) => this.s.ctx.log.warn({ err: e, table: this.s.tableName }, 'pruning commit markers failed'));
  }

  async abort(c: PgCommittable): Promise<void> {
    if (c.gid === null) return;
    try {
      await rollbackPrepared(this.s.control, c.gid);
    } catch (e) {
      throw pgError(e, this.s.err, `rollback of checkpoint ${c.checkpointId}`);
    }
    this.pending.get(c.gid)?.rolledBack();
    this.pending.delete(c.gid);
  }
}
