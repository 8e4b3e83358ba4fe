/**
 * The replication stream of the persistent slot: pgoutput through pg-logical-replication, every
 * message and keepalive into the queue, standby status from the acknowledged position only
 * (`acknowledge: { auto: false }`: the slot must not move past what a completed checkpoint covers),
 * and, when the stream is idle, heartbeats written into the WAL so the slot's position advances.
 */
import type pg from 'pg';
import type * as PgLogicalReplication from 'pg-logical-replication';
import type { LogicalReplicationService } from 'pg-logical-replication';
import { userError } from '../../src/errors.js';
import { lazyModule } from '../../src/util/lazy-module.js';
import type { SlotAcks } from './cdc-ack.js';
import type { CdcConfig } from './cdc-options.js';
import type { Pausable, ReplicationQueue } from './cdc-queue.js';
import { cdcError, clientConfig } from './cdc-setup.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { PgOutputDecoder, type PgOutputMessage } from './pgoutput.js';

const STATUS_INTERVAL_MS = 10_000;

/** pg-logical-replication, loaded when the first stream starts: planning does not need it. */
const replication = lazyModule<typeof PgLogicalReplication>('pg-logical-replication');

export interface StreamHooks {
  /** A stream error to fail the reader with (never called after close()). */
  failed(e: unknown): void;
  /** Nothing queued and no transaction open: a heartbeat may be written. */
  idle(): boolean;
  /** The reader's regular connection, which writes the heartbeats. */
  client(): pg.Client | undefined;
}

export class ReplicationStream {
  private service: LogicalReplicationService | undefined;
  private readonly ready: Promise<unknown>;
  private readonly statusTimer: NodeJS.Timeout;
  private readonly heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The server's WAL end from its last keepalive: the lag. */
  walEnd: Lsn = 0n;

  /** Starts streaming the slot from `from`. */
  constructor(
    private readonly config: CdcConfig,
    from: Lsn,
    queue: ReplicationQueue,
    private readonly acks: SlotAcks,
    private readonly hooks: StreamHooks,
  ) {
    const service = new (replication().LogicalReplicationService)(clientConfig(config, false), { acknowledge: { auto: false, timeoutSeconds: 0 } });
    this.service = service;
    service.on('data', (_lsn: string, msg: PgOutputMessage) => queue.push({ kind: 'msg', msg }));
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      const l = parseLsn(lsn);
      if (l > this.walEnd) this.walEnd = l;
      queue.push({ kind: 'keepalive', lsn: l });
      if (shouldRespond) this.sendStatus();
    });
    service.on('error', (e: Error) => {
      if (!this.closed) hooks.failed(this.streamError(e));
    });
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const subscribed = service.subscribe(new PgOutputDecoder({ publication: config.publicationName }), config.slotName, formatLsn(from)).catch((e: unknown) => {
      if (!this.closed) hooks.failed(this.streamError(e));
    });
    // close() must not run ahead of the connection subscribe() is still opening: it would outlive
    // the reader and hold the slot.
    this.ready = Promise.race([started, subscribed]);
    this.statusTimer = setInterval(() => this.sendStatus(), STATUS_INTERVAL_MS);
    if (config.heartbeatMs > 0) this.heartbeatTimer = setInterval(() => this.heartbeat(), config.heartbeatMs);
  }

  /** The replication socket (pg-logical-replication keeps it private; pausing it is the backpressure). */
  socket(): Pausable | undefined {
    return (this.service as unknown as { _connection?: { stream?: Pausable } } | undefined)?._connection?.stream;
  }

  /** Standby status: the last acknowledged (checkpointed) position, never more. */
  sendStatus(): void {
    const lsn = this.acks.status();
    if (!this.service || lsn === undefined) return;
    void this.service.acknowledge(lsn).catch(() => undefined);
  }

  private heartbeat(): void {
    if (!this.hooks.idle()) return;
    void this.hooks
      .client()
      ?.query("SELECT pg_logical_emit_message(false, 'weir-heartbeat', '')")
      .catch(() => undefined);
  }

  private streamError(e: unknown): unknown {
    const err = e as { code?: string; message?: string };
    const where = `postgres-cdc table '${this.config.table.name}' at ${this.config.server}`;
    if (err.code === '55006') {
      const pid = /PID (\d+)/.exec(err.message ?? '')?.[1];
      return userError(
        'CDC_SLOT_ACTIVE',
        `${where}: replication slot '${this.config.slotName}' is active for PID ${pid ?? '?'} (another job or client reads it); stop that reader${pid ? ` (SELECT pg_terminate_backend(${pid}))` : ''} or give this table another 'slot.name'`,
      );
    }
    if (err.code === '55000' && /can no longer|invalidated|removed/i.test(err.message ?? '')) {
      return userError(
        'CDC_SLOT_INVALIDATED',
        `${where}: replication slot '${this.config.slotName}' was invalidated (${err.message}); drop it (SELECT pg_drop_replication_slot('${this.config.slotName}')) and start the job without --from-checkpoint to snapshot the table again`,
      );
    }
    return cdcError(this.config, e, `streaming replication slot '${this.config.slotName}'`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.statusTimer);
    clearInterval(this.heartbeatTimer);
    const service = this.service;
    this.service = undefined;
    if (!service) return;
    await Promise.race([this.ready, new Promise((r) => setTimeout(r, 10_000))]);
    // Errors of a connection being torn down are not the job's.
    service.on('error', () => undefined);
    // A last status so a clean stop leaves the slot exactly at the last completed checkpoint.
    const lsn = this.acks.status();
    if (lsn !== undefined) await service.acknowledge(lsn).catch(() => undefined);
    await Promise.race([service.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  }
}
