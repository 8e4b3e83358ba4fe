/**
 * The postgres-cdc source subtask. It first reads the captured tables' snapshot in primary-key
 * chunks (cdc-snapshot.ts), then streams the persistent slot with pgoutput through
 * pg-logical-replication (cdc-stream.ts). Replication messages are queued in arrival order
 * (cdc-queue.ts); poll() turns them into rows (pgoutput-dispatch.ts, cdc-rows.ts). The planner
 * follows the source with a changelog-normalize step (keyed by the primary key), so upsert-mode
 * updates (+U), key-only deletes, unchanged TOASTed values and TRUNCATE markers become a complete
 * changelog there.
 *
 * Position (JSON): `{ lsn, partial?, snapshot, completed? }`. `lsn` and `partial`: where the
 * stream is (stream-position.ts). `snapshot`: per table, the segments read so far and whether it
 * is done. `completed`: the LSNs of the completed checkpoints retained with it (cdc-ack.ts, which
 * also holds when and how far the slot is acknowledged).
 */
import type pg from 'pg';
import { internalError, userError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import type { ColumnOrigin } from '../common/columns.js';
import { SlotAcks } from './cdc-ack.js';
import type { CdcConfig } from './cdc-options.js';
import { ReplicationQueue } from './cdc-queue.js';
import { RowEmitter } from './cdc-rows.js';
import { cdcError, checkSlotUsable, connect, createSlot, prepare, slotInfo, type CapturedTable } from './cdc-setup.js';
import { CdcSnapshot } from './cdc-snapshot.js';
import { ReplicationStream } from './cdc-stream.js';
import { formatLsn } from './lsn.js';
import { PgOutputDispatch } from './pgoutput-dispatch.js';
import type { RelationMessage } from './pgoutput.js';
import { SchemaChangePolicy } from './schema-change-policy.js';
import { StreamPosition } from './stream-position.js';
import { ToastRefetch } from './toast-refetch.js';

/** How long a replication slot still held by a closing walsender is waited for at open. */
const SLOT_RELEASE_WAIT_MS = 15_000;
const MAX_BATCH_ROWS = 4096;

/** What the reader needs of its source (cdc-source.ts creates readers, so the reader does not import it). */
export interface CdcCapture {
  readonly config: CdcConfig;
  readonly columns: readonly ColumnOrigin[];
  readonly bounded: boolean;
}

/**
 * The reader's lifecycle. IDLE: no split (the subtask the split did not land on stays so). STOPPED:
 * 'schema-change.mode' = 'stop' reached a schema change; nothing after it is read. FINISHED: a
 * bounded snapshot was read. close() may come in any of them.
 */
type Phase = 'IDLE' | 'OPENING' | 'SNAPSHOT' | 'STREAMING' | 'STOPPED' | 'FINISHED';

/** Declared transitions of the reader's lifecycle; anything else is a bug. */
const TRANSITIONS: Record<Phase, readonly Phase[]> = {
  IDLE: ['OPENING'],
  // a restored snapshot may be complete already
  OPENING: ['SNAPSHOT', 'STREAMING', 'FINISHED'],
  SNAPSHOT: ['STREAMING', 'FINISHED'],
  STREAMING: ['STOPPED'],
  STOPPED: [],
  FINISHED: [],
};

export class CdcReader implements SourceReader {
  private readonly config: CdcConfig;
  private readonly rows: RowEmitter;
  private phase: Phase = 'IDLE';
  private meta: pg.Client | undefined;
  private split: SplitPosition['split'] | undefined;
  private readonly position = new StreamPosition();
  private snapshot!: CdcSnapshot;
  private dispatch!: PgOutputDispatch;
  private policy!: SchemaChangePolicy;
  private readonly toast: ToastRefetch;
  private readonly queue: ReplicationQueue;
  private stream: ReplicationStream | undefined;
  private readonly acks: SlotAcks;
  /** A failure outside poll() (the stream, a schema change): the next poll throws it. */
  private readonly failed: { failure: unknown } = { failure: undefined };

  constructor(
    private readonly source: CdcCapture,
    private readonly ctx: SourceContext,
  ) {
    this.config = source.config;
    this.rows = new RowEmitter(source.config, source.columns);
    this.toast = new ToastRefetch(source.config, source.columns, this.rows);
    this.queue = new ReplicationQueue(() => this.stream?.socket());
    this.acks = new SlotAcks(source.config.retainedCheckpoints ?? ctx.retainedCheckpoints ?? 1);
  }

  private transition(to: Phase): void {
    if (!TRANSITIONS[this.phase].includes(to)) throw internalError(`postgres-cdc reader ${this.phase} -> ${to} is not allowed`);
    this.phase = to;
  }

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    if (splits.length === 0) return;
    this.split = splits[0];
    this.transition('OPENING');
    const config = this.config;
    const c = await connect(config);
    this.meta = c;
    let tables: CapturedTable[];
    try {
      tables = await prepare(config, c);
    } catch (e) {
      throw cdcError(config, e, 'checking the tables');
    }
    this.policy = new SchemaChangePolicy(config, tables, c, this.ctx, this.failed);
    this.dispatch = new PgOutputDispatch(config, this.ctx, this.rows, this.position, this.policy, this.toast, this.failed);
    const r = restored.find((p) => p.split.id === this.split!.id);
    const pos = (r?.position ?? undefined) as { lsn?: string; partial?: { commit: string; n: number }; snapshot?: unknown; completed?: string[] } | undefined;
    const bounded = config.startupMode === 'snapshot';
    const readSlot = () => slotInfo(config, c).catch((e: unknown) => Promise.reject(cdcError(config, e, 'reading pg_replication_slots')));
    let slot = bounded ? undefined : await readSlot();
    // The walsender of this job's previous attempt (a restart) or of a process just killed may
    // hold the slot for a moment after its connection closed: wait for it before calling the slot
    // taken by another reader.
    for (let waited = 0; slot?.exists && slot.activePid !== undefined && waited < SLOT_RELEASE_WAIT_MS; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      slot = await readSlot();
    }
    if (slot?.exists) {
      checkSlotUsable(config, slot);
      this.acks.startAt(slot.confirmedFlush ?? 0n);
    }
    const restoring = pos !== undefined && typeof pos.lsn === 'string';
    this.snapshot = new CdcSnapshot(
      config,
      tables,
      this.rows,
      this.ctx,
      restoring ? (pos.snapshot ?? undefined) : undefined,
      config.startupMode !== 'latest-offset',
    );
    if (restoring) {
      this.position.restore(pos.lsn!, pos.partial);
      const lsn = this.position.lsn;
      this.acks.restore(pos.completed, lsn);
      if (!bounded) {
        if (!slot!.exists) {
          throw userError(
            'CDC_SLOT_MISSING',
            `postgres-cdc table '${config.table.name}' at ${config.server}: replication slot '${config.slotName}' of the checkpoint no longer exists, so the changes since the checkpoint are gone; start the job without --from-checkpoint to snapshot the table again`,
          );
        }
        if (slot!.confirmedFlush! > lsn) {
          throw userError(
            'CDC_CHECKPOINT_BEHIND_SLOT',
            `postgres-cdc table '${config.table.name}': the checkpoint's LSN ${formatLsn(lsn)} is before replication slot '${config.slotName}''s confirmed position ${formatLsn(slot!.confirmedFlush!)} (a newer checkpoint was acknowledged), so the changes in between are gone; restore the latest checkpoint, or start without --from-checkpoint to snapshot again ('state.checkpoints.num-retained' = N, or the source option 'slot.retained-checkpoints' = N, keeps the last N checkpoints restorable)`,
          );
        }
      }
    } else if (!bounded) {
      if (slot!.exists) this.position.lsn = slot!.confirmedFlush!;
      else {
        const repl = await connect(config, true);
        try {
          this.position.lsn = (await createSlot(config, repl, config.slotName, { temporary: false, exportSnapshot: false }, this.ctx.log)).consistentPoint;
        } finally {
          await repl.end().catch(() => undefined);
        }
      }
    }
    if (!this.snapshot.done) {
      this.transition('SNAPSHOT');
      await this.snapshot.start(c);
    } else this.afterSnapshot();
  }

  private afterSnapshot(): void {
    if (this.config.startupMode === 'snapshot') {
      this.transition('FINISHED');
      return;
    }
    this.dispatch.filterBy(this.snapshot.filters());
    this.transition('STREAMING');
    this.stream = new ReplicationStream(this.config, this.position.lsn, this.queue, this.acks, {
      failed: (e) => {
        this.failed.failure ??= e;
      },
      idle: () => this.queue.size === 0 && !this.position.inTransaction,
      client: () => this.meta,
    });
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    if (this.failed.failure !== undefined) throw this.failed.failure;
    const phase = this.phase;
    if (phase === 'STOPPED') return this.rows.out.take() ?? undefined;
    if (phase === 'IDLE') return this.source.bounded ? 'end' : undefined;
    if (phase === 'FINISHED') return this.rows.out.take() ?? 'end';
    if (phase === 'SNAPSHOT') {
      await this.snapshot.readChunk();
      if (this.snapshot.done) this.afterSnapshot();
      return this.rows.out.take() ?? undefined;
    }
    const queue = this.queue;
    const dispatch = this.dispatch;
    const out = this.rows.out;
    for (let item = queue.peek(); item !== undefined && out.size < MAX_BATCH_ROWS; item = queue.peek()) {
      // A truncate marker travels alone, so every poll returns one batch and positions stay exact.
      if (item.kind === 'msg' && item.msg.tag === 'truncate' && out.size > 0) break;
      if (item.kind === 'msg' && item.msg.tag === 'relation' && this.policy.mayStop(item.msg) && (await this.policy.liveTableChanged(item.msg))) {
        this.stopAtSchemaChange(item.msg);
        break;
      }
      queue.advance();
      if (item.kind === 'keepalive') dispatch.keepalive(item.lsn);
      else dispatch.handle(item.msg);
      if (dispatch.hasMarker) break;
    }
    queue.release();
    const walEnd = this.stream?.walEnd ?? 0n;
    const lsn = this.position.lsn;
    if (walEnd > 0n) this.ctx.gauge?.('lag-bytes', walEnd > lsn ? Number(walEnd - lsn) : 0);
    const marker = dispatch.takeMarker();
    if (marker) return marker;
    const batch = out.take();
    if (batch !== null && this.toast.size > 0) await this.toast.fill(batch, this.meta!);
    return batch ?? undefined;
  }

  /**
   * 'schema-change.mode' = 'stop': nothing after the change is read (the relation message stays
   * queued, the stream is paused), so a checkpoint now ends exactly before it, and a run restored
   * from that checkpoint with the new columns reads the change again.
   */
  private stopAtSchemaChange(m: RelationMessage): void {
    this.transition('STOPPED');
    this.queue.pause();
    this.policy.stopped(m);
  }

  positions(): SplitPosition[] {
    if (!this.split) return [];
    const position: Record<string, JsonValue> = {};
    this.position.toJson(position);
    position.snapshot = this.snapshot.toJson(this.phase === 'SNAPSHOT' || this.dispatch.filtering);
    const completed = this.acks.completedJson();
    if (completed !== undefined) position.completed = completed;
    this.acks.capture(this.position.lsn);
    return [{ split: this.split, position, ...(this.phase === 'FINISHED' ? { finished: true } : {}) }];
  }

  async notifyCheckpointComplete(): Promise<void> {
    if (this.acks.complete()) this.stream?.sendStatus();
  }

  async close(): Promise<void> {
    await this.stream?.close();
    await this.snapshot?.close();
    await this.meta?.end().catch(() => undefined);
    this.meta = undefined;
  }
}
