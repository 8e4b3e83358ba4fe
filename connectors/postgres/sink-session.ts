/**
 * What the parts of one PostgreSQL sink subtask (postgres-sink.ts: lifecycle, sink-rows.ts:
 * writes, sink-recovery.ts: commits and recovery) share once open() has connected and prepared
 * the target; the statements are built once there, not per flush.
 */
import type pg from 'pg';
import type { Schema } from '../../src/model/types.js';
import type { SinkContext } from '../../src/sink/two-phase-commit.js';
import type { PgErrorContext } from './pg-errors.js';
import type { TargetTable } from './pg-table.js';
import type { StagingTarget } from './staging.js';

export interface SinkStatements {
  readonly copy: string;
  readonly upsert: string;
  readonly delete: string;
  /** The commit marker a prepared transaction inserts (see postgres-sink.ts). */
  readonly marker: string;
}

export interface SinkSession {
  readonly ctx: SinkContext;
  /** The weir table's name, for messages. */
  readonly tableName: string;
  /** The sink table's columns. */
  readonly schema: Schema;
  readonly err: PgErrorContext;
  readonly exactlyOnce: boolean;
  /** Rows go into the staging table (see staging.ts). */
  readonly staged: boolean;
  /** Holds the open transaction (exactly-once) or runs the flushes (at-least-once). */
  readonly txConn: pg.Client;
  /** Commits, rollbacks and bookkeeping; never inside a transaction between calls. */
  readonly control: pg.Client;
  readonly target: TargetTable;
  /** Exactly-once only. */
  readonly staging: StagingTarget | undefined;
  readonly sql: SinkStatements;
}

export function sinkStatements(target: TargetTable, primaryKey: readonly number[]): SinkStatements {
  const { qualified, columns, baseTypes, markers } = target;
  const cols = columns.join(', ');
  const keys = primaryKey.map((i) => columns[i]);
  const params = (idx: readonly number[]): string => idx.map((c, k) => `$${k + 1}::${baseTypes[c]}[]`).join(', ');
  const all = columns.map((_, c) => c);
  const rest = all.filter((c) => !primaryKey.includes(c)).map((c) => `${columns[c]} = EXCLUDED.${columns[c]}`);
  return {
    copy: `COPY ${qualified} (${cols}) FROM STDIN`,
    upsert: `INSERT INTO ${qualified} (${cols}) SELECT * FROM unnest(${params(all)}) ON CONFLICT (${keys.join(', ')}) ${rest.length ? `DO UPDATE SET ${rest.join(', ')}` : 'DO NOTHING'}`,
    delete: `DELETE FROM ${qualified} WHERE (${keys.join(', ')}) IN (SELECT * FROM unnest(${params(primaryKey)}))`,
    marker: `INSERT INTO ${markers} (gid, job, operator_uid, subtask, checkpoint_id, target, rows) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  };
}
