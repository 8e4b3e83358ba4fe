/**
 * The lifecycle of one checkpoint's transaction in the PostgreSQL sink, as a state machine with
 * declared transitions (like the job lifecycle in src/job/job.ts). Each state keeps its data in one
 * object, so a field of another state cannot be read or left behind; a transition the table does
 * not list is a bug and fails loudly, rather than sending rows outside the transaction they belong to.
 *
 *   idle --BEGIN--> open --PREPARE TRANSACTION--> prepared --COMMIT PREPARED--> committed
 *   idle --------- nothing to prepare ---------> prepared --ROLLBACK PREPARED--> rolled-back
 *                   open --ROLLBACK (close)----------------------------------> rolled-back
 *
 * An idle transaction prepares nothing: its committable has gid null. At-least-once transactions
 * never leave idle before that: each flush commits on its own.
 */
import { internalError } from '../../src/errors.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { CopyInStream } from './copy-in.js';

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

export type SinkTxnState = 'idle' | 'open' | 'prepared' | 'committed' | 'rolled-back';

/** Declared transitions of a sink transaction; anything else is a bug. */
const TRANSITIONS: Record<SinkTxnState, readonly SinkTxnState[]> = {
  // prepared straight from idle: nothing to prepare (see the module comment)
  idle: ['open', 'prepared'],
  // rolled-back: the writer closed before the checkpoint's barrier
  open: ['prepared', 'rolled-back'],
  prepared: ['committed', 'rolled-back'],
  committed: [],
  'rolled-back': [],
};

interface Idle {
  readonly state: 'idle';
  /** At-least-once: rows its flushes committed. */
  rows: number;
}

/** BEGIN was sent on the writer's transaction connection; the rows written so far are in it. */
export interface OpenTxn {
  readonly state: 'open';
  rows: number;
  /** Flushes written so far: the sequence of staged rows. */
  flushes: number;
  /** The transaction's COPY (append, or staged), kept open between flushes. */
  copy: CopyInStream | undefined;
}

interface Prepared {
  readonly state: 'prepared';
  readonly committable: PgCommittable;
}

interface Ended {
  readonly state: 'committed' | 'rolled-back';
}

type TxnData = Idle | OpenTxn | Prepared | Ended;

/** One checkpoint's transaction of one sink subtask. */
export class SinkTransaction {
  private data: TxnData = { state: 'idle', rows: 0 };

  constructor(readonly checkpointId: number) {}

  get state(): SinkTxnState {
    return this.data.state;
  }

  /** Not prepared yet: rows may still go into it. */
  get writable(): boolean {
    return this.data.state === 'idle' || this.data.state === 'open';
  }

  /** Rows written into it so far. */
  get rows(): number {
    return this.writing().rows;
  }

  /** The open transaction's data (its COPY, its flushes). */
  get open(): OpenTxn {
    if (this.data.state !== 'open') throw internalError(`the sink transaction of checkpoint ${this.checkpointId} is ${this.data.state}, not open`);
    return this.data;
  }

  /** `rows` more rows are in it (exactly-once) or committed (at-least-once). */
  wrote(rows: number): void {
    this.writing().rows += rows;
  }

  /** BEGIN succeeded. */
  begun(): OpenTxn {
    return this.to({ state: 'open', rows: this.writing().rows, flushes: 0, copy: undefined });
  }

  /** PREPARE TRANSACTION succeeded, or there was nothing to prepare (gid null). */
  prepared(committable: PgCommittable): void {
    this.to({ state: 'prepared', committable });
  }

  committed(): void {
    this.to({ state: 'committed' });
  }

  rolledBack(): void {
    this.to({ state: 'rolled-back' });
  }

  private writing(): Idle | OpenTxn {
    const d = this.data;
    if (d.state !== 'idle' && d.state !== 'open')
      throw internalError(`the sink transaction of checkpoint ${this.checkpointId} is ${d.state}: it takes no more rows`);
    return d;
  }

  private to<T extends TxnData>(next: T): T {
    const from = this.data.state;
    if (!TRANSITIONS[from].includes(next.state))
      throw internalError(`sink transaction state ${from} -> ${next.state} is not allowed (checkpoint ${this.checkpointId})`);
    this.data = next;
    return next;
  }
}
