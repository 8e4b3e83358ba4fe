/**
 * Staging, so that a checkpoint becomes visible atomically at any parallelism. PostgreSQL cannot
 * commit several prepared transactions atomically, so with more than one subtask each subtask's
 * prepared transaction creates a staging table of its own next to the target
 * (`_weir_stage_<sink>_<checkpoint>_<subtask>`, <sink> a hash of job, operator uid and target)
 * and COPYs its rows into it (FREEZE: the table is new in the transaction). A rolled-back
 * transaction takes its table with it, so the staging tables that exist are exactly the committed,
 * not yet applied shares. Once every subtask has committed checkpoint n, ONE transaction moves
 * the rows of the sink's staging tables of checkpoints <= n into the target, replaces the
 * subtasks' commit markers of those checkpoints with one "applied" marker (its rows are their
 * sum) and drops the tables: applying again finds nothing, and an existing applied marker makes a
 * repeated apply only clean up. One table per transaction (rather than one shared, tagged table)
 * makes the cleanup a DROP instead of a DELETE and keeps the COPY as narrow as the target's.
 *
 * Tags: a subtask's transaction is named after the checkpoint id it began with, which is never
 * larger than the barrier it is pre-committed at (a subtask may skip the barrier of an aborted
 * checkpoint), and every transaction begun before barrier n is pre-committed at or before it; so
 * "everything committed up to n" is exactly checkpoint n. Upsert rows carry the flush sequence
 * and the op and are applied in (checkpoint, sequence) order — one flush holds each key once —
 * so each key's last change wins, and a delete deletes.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { appliedMarkerGid } from './gid.js';
import type { TargetTable } from './pg-table.js';
import { quoteIdent } from './pg-values.js';

/** 'auto': see usesStaging. 'always' / 'never' exist for tests and measurements. */
export type StagingMode = 'auto' | 'always' | 'never';

let mode: StagingMode = 'auto';

/** Sets the process-wide staging mode; returns the previous one. */
export function setPgStagingMode(m: StagingMode): StagingMode {
  const previous = mode;
  mode = m;
  return previous;
}

/**
 * Whether an exactly-once sink stages its rows. Always at parallelism > 1 (the point of staging).
 * At parallelism 1 the prepared transaction writing straight into the target is already atomic:
 * appends keep that path (a second copy of every row would cost ~2.7x in throughput), upserts
 * stage (COPY, then one set-based apply per checkpoint that writes each key once, instead of an
 * INSERT ... ON CONFLICT per flush held back by the previous checkpoint's row locks: ~3x faster).
 */
export function usesStaging(parallelism: number, upsert: boolean): boolean {
  return mode === 'always' || (mode === 'auto' && (parallelism > 1 || upsert));
}

/** Applied markers kept per sink; older ones are pruned every PRUNE_EVERY checkpoints. */
const APPLIED_KEPT = 1000;
const PRUNE_EVERY = 100;

/** The end of every COPY line of one upsert flush: a tab, the flush's sequence, the op ('U' upsert, 'D' delete), a newline. */
export function stagingTail(seq: number, op: 'U' | 'D'): Buffer {
  return Buffer.from(`${seq}\t${op}\n`, 'latin1');
}

export interface StagingTarget {
  readonly target: TargetTable;
  /** Indexes (into target.columns) of the key columns; empty: append. */
  readonly keyColumns: readonly number[];
  readonly job: string;
  readonly uid: string;
}

/** `_weir_stage_<hash of job, uid, target>_`: every staging table of one sink starts with it. */
function stagingPrefix(s: StagingTarget): string {
  const hash = createHash('sha256').update(`${s.job}\u0000${s.uid}\u0000${s.target.qualified}`).digest('hex').slice(0, 12);
  return `_weir_stage_${hash}_`;
}

/** Statements of one subtask's staging table for one transaction. */
export interface StagingStatements {
  /** Creates the table (same column types as the target, no constraints: the target's judge the rows when they are applied). */
  readonly create: string;
  /** `COPY ... FROM STDIN (FREEZE)`; upsert lines end with stagingTail(). */
  readonly copy: string;
}

export function stagingStatements(s: StagingTarget, checkpointId: number, subtask: number): StagingStatements {
  const table = `${quoteIdent(s.target.schema)}.${quoteIdent(`${stagingPrefix(s)}${checkpointId}_${subtask}`)}`;
  const cols = s.target.columns.join(', ');
  const upsert = s.keyColumns.length > 0;
  return {
    create: `CREATE TABLE ${table} AS SELECT ${cols}${upsert ? ', NULL::integer AS _weir_seq, NULL::"char" AS _weir_op' : ''} FROM ${s.target.qualified} WITH NO DATA`,
    copy: `COPY ${table} (${cols}${upsert ? ', _weir_seq, _weir_op' : ''}) FROM STDIN (FREEZE)`,
  };
}

interface StagedTable {
  readonly name: string;
  readonly checkpointId: number;
  readonly subtask: number;
}

/** Moves one sink's (job, operator) staged rows into the target (see the module comment). */
export class StagingApplier {
  private readonly prefix: string;
  private readonly sql: { discardApplied: string; fold: string; pruneApplied: string };

  constructor(
    private readonly s: StagingTarget,
    private readonly markers: string,
  ) {
    this.prefix = stagingPrefix(s);
    const M = markers;
    this.sql = {
      discardApplied: `DELETE FROM ${M} WHERE job = $1 AND operator_uid = $2 AND subtask = -1 AND checkpoint_id > $3`,
      // The subtasks' markers of the applied checkpoints become one applied marker with their rows.
      fold:
        `WITH d AS (DELETE FROM ${M} WHERE job = $1 AND operator_uid = $2 AND subtask >= 0 AND checkpoint_id <= $3 RETURNING rows) ` +
        `INSERT INTO ${M} (gid, job, operator_uid, subtask, checkpoint_id, target, rows) SELECT $4, $1, $2, -1, $3, $5, coalesce(sum(rows), 0) FROM d HAVING count(*) > 0`,
      pruneApplied: `DELETE FROM ${M} WHERE job = $1 AND operator_uid = $2 AND subtask = -1 AND checkpoint_id < $3`,
    };
  }

  /** Every subtask committed checkpoint n: the staged rows of checkpoints <= n go into the target. */
  async apply(client: pg.Client, checkpointId: number): Promise<void> {
    await this.transaction(client, async () => {
      const staged = (await this.stagedTables(client)).filter((t) => t.checkpointId <= checkpointId);
      await this.applyThrough(client, checkpointId, staged);
    });
  }

  /**
   * After every subtask recovered from `restoredId` (0: a fresh start): staging tables of newer
   * checkpoints (committed by a run that is being abandoned before its apply) are dropped, and
   * the rest — checkpoints the restored one covers — applied.
   */
  async recover(client: pg.Client, restoredId: number): Promise<void> {
    await this.transaction(client, async () => {
      const staged = await this.stagedTables(client);
      await this.drop(
        client,
        staged.filter((t) => t.checkpointId > restoredId),
      );
      await client.query(this.sql.discardApplied, [this.s.job, this.s.uid, restoredId]);
      if (restoredId > 0)
        await this.applyThrough(
          client,
          restoredId,
          staged.filter((t) => t.checkpointId <= restoredId),
        );
    });
  }

  /** The sink's committed staging tables (a prepared transaction's table is invisible until COMMIT PREPARED). */
  private async stagedTables(client: pg.Client): Promise<StagedTable[]> {
    const r = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r' AND left(c.relname, length($2)) = $2`,
      [this.s.target.schema, this.prefix],
    );
    const out: StagedTable[] = [];
    for (const { relname } of r.rows) {
      const m = /^(\d+)_(\d+)$/.exec(relname.slice(this.prefix.length));
      if (m) out.push({ name: relname, checkpointId: Number(m[1]), subtask: Number(m[2]) });
    }
    return out.sort((a, b) => a.checkpointId - b.checkpointId || a.subtask - b.subtask);
  }

  private applySql(staged: readonly StagedTable[]): string {
    const { target, keyColumns } = this.s;
    const T = target.qualified;
    const cols = target.columns;
    const list = cols.join(', ');
    const from = (t: StagedTable): string => `${quoteIdent(target.schema)}.${quoteIdent(t.name)}`;
    if (keyColumns.length === 0) return `INSERT INTO ${T} (${list}) ${staged.map((t) => `SELECT ${list} FROM ${from(t)}`).join(' UNION ALL ')}`;
    const keys = keyColumns.map((c) => cols[c]);
    const rest = cols.filter((_, c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
    const all = staged
      .map((t) => `SELECT ${list}, _weir_op, _weir_seq, ${t.checkpointId}::bigint AS _weir_chk, ${t.subtask} AS _weir_subtask FROM ${from(t)}`)
      .join(' UNION ALL ');
    return (
      `WITH staged AS (${all}), ` +
      `last AS (SELECT DISTINCT ON (${keys.join(', ')}) ${list}, _weir_op FROM staged ORDER BY ${keys.join(', ')}, _weir_chk DESC, _weir_seq DESC, _weir_subtask DESC), ` +
      `gone AS (DELETE FROM ${T} t USING last l WHERE l._weir_op = 'D' AND ${keys.map((k) => `t.${k} = l.${k}`).join(' AND ')}) ` +
      `INSERT INTO ${T} (${list}) SELECT ${list} FROM last WHERE _weir_op = 'U' ` +
      `ON CONFLICT (${keys.join(', ')}) ${rest.length ? `DO UPDATE SET ${rest.join(', ')}` : 'DO NOTHING'}`
    );
  }

  private async applyThrough(client: pg.Client, n: number, staged: readonly StagedTable[]): Promise<void> {
    const { job, uid } = this.s;
    const gid = appliedMarkerGid(job, uid, n);
    const done = (await client.query(`SELECT 1 FROM ${this.markers} WHERE gid = $1`, [gid])).rowCount! > 0;
    if (!done) {
      if (staged.length > 0) await client.query(this.applySql(staged));
      await client.query(this.sql.fold, [job, uid, n, gid, this.s.target.qualified]);
      if (n % PRUNE_EVERY === 0) await client.query(this.sql.pruneApplied, [job, uid, n - APPLIED_KEPT]);
    }
    await this.drop(client, staged);
  }

  private async drop(client: pg.Client, tables: readonly StagedTable[]): Promise<void> {
    if (tables.length === 0) return;
    await client.query(`DROP TABLE IF EXISTS ${tables.map((t) => `${quoteIdent(this.s.target.schema)}.${quoteIdent(t.name)}`).join(', ')}`);
  }

  private async transaction(client: pg.Client, fn: () => Promise<void>): Promise<void> {
    await client.query('BEGIN');
    try {
      // One apply of a sink at a time (a late writer of an abandoned attempt, a recovery).
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`weir:apply:${this.prefix}`]);
      await fn();
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
}
