/**
 * The postgres-cdc source subtask. It first reads the captured tables' snapshot in primary-key
 * chunks (cdc-snapshot.ts), then streams the persistent slot with pgoutput through
 * pg-logical-replication. Replication messages are queued in arrival order (keepalives too, so a
 * keepalive never overtakes the data before it); poll() turns them into rows (cdc-rows.ts). The
 * planner follows the source with a changelog-normalize step (keyed by the primary key), so
 * upsert-mode updates (+U), key-only deletes, unchanged TOASTed values and TRUNCATE markers become
 * a complete changelog there.
 *
 * Position (JSON): `{ lsn, partial?, snapshot, completed? }`. `lsn`: every transaction whose
 * commit record starts before it has been emitted (a commit's end LSN, or a keepalive / heartbeat
 * LSN reached outside a transaction). `partial`: the first `n` changes of the transaction
 * committing at `commit` were emitted (a batch ended inside it). `snapshot`: per table, the
 * segments read so far and whether it is done. A restore starts the slot at `lsn` and skips, by
 * the same rule, what the server sends again (the slot may lag: it is acknowledged only after a
 * checkpoint).
 *
 * The slot is acknowledged only in notifyCheckpointComplete, with `lsn - 1` of the oldest of the
 * last 'slot.retained-checkpoints' completed checkpoints (1: the one just completed):
 * pg-logical-replication reports lsn + 1, so the server's confirmed_flush_lsn becomes exactly that
 * checkpoint's `lsn`, and every retained checkpoint can still be restored (its changes are still in
 * the slot). The runtime has one checkpoint in flight and delivers its completion to this subtask
 * before the next barrier, so the newest capture is the completed checkpoint's. The LSNs of the
 * completed checkpoints before a checkpoint travel in its position (`completed`), so a restored
 * job acknowledges no further than the oldest checkpoint that was retained with it.
 */
import type pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import { userError } from '../../src/errors.js';
import { RowKind, type ChangeBatch } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { RowEmitter, type RelationMap } from './cdc-rows.js';
import { cdcError, checkSlotUsable, clientConfig, connect, createSlot, prepare, quoteIdent, slotInfo, type CapturedTable } from './cdc-setup.js';
import { CdcSnapshot, tableKey } from './cdc-snapshot.js';
import type { CdcSource } from './cdc-source.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { PgOutputDecoder, UNCHANGED_TOAST, type PgOutputMessage, type RelationMessage, type Tuple } from './pgoutput.js';
import type { SegmentFilter } from './snapshot-chunks.js';

/** How long a replication slot still held by a closing walsender is waited for at open. */
const SLOT_RELEASE_WAIT_MS = 15_000;
const MAX_BATCH_ROWS = 4096;
const MAX_QUEUED = 20_000;
const STATUS_INTERVAL_MS = 10_000;

type Queued = { readonly kind: 'msg'; readonly msg: PgOutputMessage } | { readonly kind: 'keepalive'; readonly lsn: Lsn };

interface Capture {
  readonly lsn: Lsn;
}

export class CdcReader implements SourceReader {
  private readonly config;
  private readonly rows: RowEmitter;
  private active = false;
  private meta: pg.Client | undefined;
  private tables: CapturedTable[] = [];
  private split: SplitPosition['split'] | undefined;
  // stream position
  private lsn: Lsn = 0n;
  private partial: { commit: Lsn; n: number } | undefined;
  private snapshot!: CdcSnapshot;
  /** Per table: drops the changes the snapshot already holds (until the stream passed every segment). */
  private filters: Map<string, SegmentFilter> | undefined;
  private horizon: Lsn = 0n;
  private snapshotting = false;
  // streaming
  private service: LogicalReplicationService | undefined;
  private streamReady: Promise<unknown> = Promise.resolve();
  private queue: Queued[] = [];
  private qHead = 0;
  private paused = false;
  private failure: unknown;
  private inTxn: { commit: Lsn; n: number; skip: number; skipAll: boolean } | undefined;
  private readonly relations = new Map<number, RelationMap | null>();
  /** Rows of the batch being built whose unchanged TOASTed values must be read from the table. */
  private fetches: { row: number; map: RelationMap; key: readonly string[]; columns: number[] }[] = [];
  /** 'stop' mode: the table whose schema change the source stopped before. */
  private stoppedAt: string | undefined;
  /** A truncate marker to return from the next poll. */
  private marker: ChangeBatch | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private acked: Lsn = 0n;
  /** The server's WAL end from its last keepalive, and the last commit's time: the lag. */
  private walEnd: Lsn = 0n;
  private captures: Capture[] = [];
  /** Completed checkpoints kept restorable ('slot.retained-checkpoints', else the job's num-retained). */
  private readonly retained: number;
  /** LSNs of the newest completed checkpoints, oldest first (at most `retained`). */
  private completed: Lsn[] = [];
  private finished = false;
  private closed = false;

  constructor(
    private readonly source: CdcSource,
    private readonly ctx: SourceContext,
  ) {
    this.config = source.config;
    this.rows = new RowEmitter(source.config, source.columns);
    this.retained = source.config.retainedCheckpoints ?? ctx.retainedCheckpoints ?? 1;
  }

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    if (splits.length === 0) return;
    this.split = splits[0];
    this.active = true;
    const config = this.config;
    const c = await connect(config);
    this.meta = c;
    try {
      this.tables = await prepare(config, c);
    } catch (e) {
      throw cdcError(config, e, 'checking the tables');
    }
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
      // Never acknowledge behind where the slot already is (a restored older checkpoint's history may be).
      this.acked = slot.confirmedFlush ?? 0n;
    }
    const restoring = pos !== undefined && typeof pos.lsn === 'string';
    this.snapshot = new CdcSnapshot(
      config,
      this.tables,
      this.rows,
      this.ctx,
      restoring ? (pos.snapshot ?? undefined) : undefined,
      config.startupMode !== 'latest-offset',
    );
    if (restoring) {
      this.lsn = parseLsn(pos.lsn!);
      if (pos.partial) this.partial = { commit: parseLsn(pos.partial.commit), n: pos.partial.n };
      // The restored checkpoint is itself completed; the ones before it were retained with it.
      this.completed = [...(Array.isArray(pos.completed) ? pos.completed.map(parseLsn) : []), this.lsn].slice(-this.retained);
      if (!bounded) {
        if (!slot!.exists) {
          throw userError(
            'CDC_SLOT_MISSING',
            `postgres-cdc table '${config.table.name}' at ${config.server}: replication slot '${config.slotName}' of the checkpoint no longer exists, so the changes since the checkpoint are gone; start the job without --from-checkpoint to snapshot the table again`,
          );
        }
        if (slot!.confirmedFlush! > this.lsn) {
          throw userError(
            'CDC_CHECKPOINT_BEHIND_SLOT',
            `postgres-cdc table '${config.table.name}': the checkpoint's LSN ${formatLsn(this.lsn)} is before replication slot '${config.slotName}''s confirmed position ${formatLsn(slot!.confirmedFlush!)} (a newer checkpoint was acknowledged), so the changes in between are gone; restore the latest checkpoint, or start without --from-checkpoint to snapshot again ('state.checkpoints.num-retained' = N, or the source option 'slot.retained-checkpoints' = N, keeps the last N checkpoints restorable)`,
          );
        }
      }
    } else if (!bounded) {
      if (slot!.exists) this.lsn = slot!.confirmedFlush!;
      else {
        const repl = await connect(config, true);
        try {
          this.lsn = (await createSlot(config, repl, config.slotName, { temporary: false, exportSnapshot: false }, this.ctx.log)).consistentPoint;
        } finally {
          await repl.end().catch(() => undefined);
        }
      }
    }
    if (!this.snapshot.done) {
      this.snapshotting = true;
      await this.snapshot.start(c);
    } else this.afterSnapshot();
  }

  private afterSnapshot(): void {
    this.snapshotting = false;
    if (this.config.startupMode === 'snapshot') {
      this.finished = true;
      return;
    }
    this.filters = this.snapshot.filters();
    if (this.filters) for (const f of this.filters.values()) if (f.horizon > this.horizon) this.horizon = f.horizon;
    this.startStream();
  }

  // ------------------------------------------------------------------ streaming

  private startStream(): void {
    const service = new LogicalReplicationService(clientConfig(this.config, false), { acknowledge: { auto: false, timeoutSeconds: 0 } });
    this.service = service;
    service.on('data', (_lsn: string, msg: PgOutputMessage) => this.enqueue({ kind: 'msg', msg }));
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      const l = parseLsn(lsn);
      if (l > this.walEnd) this.walEnd = l;
      this.enqueue({ kind: 'keepalive', lsn: l });
      if (shouldRespond) this.sendStatus();
    });
    service.on('error', (e: Error) => {
      if (!this.closed) this.failure ??= this.streamError(e);
    });
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const subscribed = service
      .subscribe(new PgOutputDecoder({ publication: this.config.publicationName }), this.config.slotName, formatLsn(this.lsn))
      .catch((e: unknown) => {
        if (!this.closed) this.failure ??= this.streamError(e);
      });
    // close() must not run ahead of the connection subscribe() is still opening: it would outlive
    // the reader and hold the slot.
    this.streamReady = Promise.race([started, subscribed]);
    this.statusTimer = setInterval(() => this.sendStatus(), STATUS_INTERVAL_MS);
    if (this.config.heartbeatMs > 0) this.heartbeatTimer = setInterval(() => this.heartbeat(), this.config.heartbeatMs);
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

  private enqueue(q: Queued): void {
    this.queue.push(q);
    if (!this.paused && this.queue.length - this.qHead > MAX_QUEUED) {
      this.paused = true;
      this.stream()?.pause();
    }
  }

  /** The replication socket (pg-logical-replication keeps it private; pausing it is the backpressure). */
  private stream(): { pause(): void; resume(): void } | undefined {
    return (this.service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } } | undefined)?._connection?.stream;
  }

  /** Standby status: the last acknowledged (checkpointed) position, never more. */
  private sendStatus(): void {
    if (!this.service || this.acked === 0n) return;
    void this.service.acknowledge(formatLsn(this.acked - 1n)).catch(() => undefined);
  }

  private heartbeat(): void {
    if (this.queue.length - this.qHead > 0 || this.inTxn) return;
    void this.meta?.query("SELECT pg_logical_emit_message(false, 'weir-heartbeat', '')").catch(() => undefined);
  }

  // ------------------------------------------------------------------ polling

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (this.stoppedAt !== undefined) return this.rows.out.take() ?? undefined;
    if (!this.active) return this.source.bounded ? 'end' : undefined;
    if (this.finished) return this.rows.out.take() ?? 'end';
    if (this.snapshotting) {
      await this.snapshot.readChunk();
      if (this.snapshot.done) this.afterSnapshot();
      return this.rows.out.take() ?? undefined;
    }
    const q = this.queue;
    const out = this.rows.out;
    while (this.qHead < q.length && out.size < MAX_BATCH_ROWS) {
      const item = q[this.qHead];
      // A truncate marker travels alone, so every poll returns one batch and positions stay exact.
      if (item.kind === 'msg' && item.msg.tag === 'truncate' && out.size > 0) break;
      if (
        item.kind === 'msg' &&
        item.msg.tag === 'relation' &&
        this.config.schemaChange === 'stop' &&
        this.columnsChanged(item.msg) &&
        (await this.liveTableChanged(item.msg))
      ) {
        this.stopAtSchemaChange(item.msg);
        break;
      }
      this.qHead++;
      if (item.kind === 'keepalive') {
        if (!this.inTxn && item.lsn > this.lsn) this.lsn = item.lsn;
        // Every later commit is past every segment: the snapshot bookkeeping is done with.
        if (this.filters && this.lsn >= this.horizon) this.filters = undefined;
      } else this.handle(item.msg);
      if (this.marker) break;
    }
    if (this.qHead === q.length) {
      this.queue = [];
      this.qHead = 0;
    } else if (this.qHead > 4096) {
      this.queue = q.slice(this.qHead);
      this.qHead = 0;
    }
    if (this.paused && this.queue.length - this.qHead < MAX_QUEUED / 4) {
      this.paused = false;
      this.stream()?.resume();
    }
    if (this.walEnd > 0n) this.ctx.gauge?.('lag-bytes', this.walEnd > this.lsn ? Number(this.walEnd - this.lsn) : 0);
    const marker = this.marker;
    if (marker) {
      this.marker = undefined;
      return marker;
    }
    const batch = out.take();
    if (batch !== null && this.fetches.length > 0) await this.fetchUnchanged(batch);
    return batch ?? undefined;
  }

  /**
   * An update that moved a row to a new key and left TOASTed columns unchanged (REPLICA IDENTITY
   * DEFAULT) carries neither their values nor a before-image: read them from the table. A later
   * change to those columns comes after this one in the stream, so the result converges to the
   * table's; a row already gone keeps NULL until its delete arrives.
   */
  private async fetchUnchanged(batch: ChangeBatch): Promise<void> {
    const fetches = this.fetches;
    this.fetches = [];
    for (const f of fetches) {
      const t = f.map.table;
      const cols = f.columns.map((c) => this.source.columns[c].field.name);
      const where = t.primaryKey.map((k, i) => `${quoteIdent(k)} = $${i + 1}`).join(' AND ');
      let row: (string | null)[] | undefined;
      try {
        row = (
          await this.meta!.query({
            text: `SELECT ${cols.map((c) => `${quoteIdent(c)}::text`).join(', ')} FROM ${t.qualified} WHERE ${where}`,
            values: [...f.key],
            rowMode: 'array',
          })
        ).rows[0];
      } catch (e) {
        throw cdcError(this.config, e, `reading unchanged TOASTed values of ${t.qualified}`);
      }
      f.columns.forEach((c, j) => {
        batch.columns[c][f.row] = row === undefined ? null : this.rows.convert(c, row[j], f.map);
      });
    }
  }

  private handle(m: PgOutputMessage): void {
    switch (m.tag) {
      case 'begin': {
        const skipAll = m.commitLsn < this.lsn;
        const skip = this.partial && this.partial.commit === m.commitLsn ? this.partial.n : 0;
        this.inTxn = { commit: m.commitLsn, n: 0, skip, skipAll };
        if (this.filters && m.commitLsn >= this.horizon) this.filters = undefined;
        this.ctx.gauge?.('lag-ms', Math.max(0, Date.now() - m.commitTime));
        return;
      }
      case 'commit':
        if (this.inTxn && !this.inTxn.skipAll) {
          this.lsn = m.endLsn;
          this.partial = undefined;
        }
        this.inTxn = undefined;
        return;
      case 'relation':
        this.onRelation(m);
        return;
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate': {
        const t = this.inTxn;
        if (!t || t.skipAll) return;
        t.n++;
        if (t.n <= t.skip) return;
        this.partial = { commit: t.commit, n: t.n };
        this.onChange(m, t.commit);
        return;
      }
      case 'message':
        if (!this.inTxn && !m.transactional && m.lsn > this.lsn) this.lsn = m.lsn;
        return;
      case 'other':
        return;
    }
  }

  /** Added, dropped and retyped columns of a captured table (undefined: not captured). */
  private columnChanges(m: RelationMessage): { table: CapturedTable; added: string[]; dropped: string[]; retyped: string[] } | undefined {
    const table = this.tables.find((t) => t.schema === m.schema && t.name === m.name);
    if (!table) return undefined;
    const known = new Map(table.columns.map((c) => [c.name, c]));
    const now = new Set(m.columns.map((c) => c.name));
    return {
      table,
      added: m.columns.filter((c) => !known.has(c.name)).map((c) => c.name),
      dropped: [...known.keys()].filter((n) => !now.has(n)),
      retyped: m.columns
        .filter((c) => {
          const k = known.get(c.name);
          return k !== undefined && (k.typeOid !== c.typeOid || k.typeMod !== c.typeMod);
        })
        .map((c) => c.name),
    };
  }

  private columnsChanged(m: RelationMessage): boolean {
    const c = this.columnChanges(m);
    return c !== undefined && (c.added.length > 0 || c.dropped.length > 0 || c.retyped.length > 0);
  }

  /**
   * Whether the table itself changed since this run read its columns. A relation message that
   * differs from them while the table did not is history replayed from before them (a restored run
   * streams from its checkpoint's LSN, before the ALTER TABLE this run was started for): it is read
   * as it is, columns mapped by name, or the run would stop at it again and again.
   */
  private async liveTableChanged(m: RelationMessage): Promise<boolean> {
    const table = this.tables.find((t) => t.schema === m.schema && t.name === m.name)!;
    let live: { name: string; typeOid: number; typeMod: number }[];
    try {
      live = (
        await this.meta!.query(
          `SELECT attname AS name, atttypid::int AS "typeOid", atttypmod AS "typeMod" FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [table.qualified],
        )
      ).rows.map((r) => ({ name: r.name as string, typeOid: Number(r.typeOid), typeMod: Number(r.typeMod) }));
    } catch (e) {
      throw cdcError(this.config, e, `reading the columns of ${table.qualified}`);
    }
    const key = (cs: readonly { name: string; typeOid: number; typeMod: number }[]): string => cs.map((c) => `${c.name}:${c.typeOid}:${c.typeMod}`).join(',');
    return key(live) !== key(table.columns);
  }

  /**
   * 'schema-change.mode' = 'stop': nothing after the change is read (the relation message stays
   * queued, the stream is paused), so a checkpoint now ends exactly before it, and a run restored
   * from that checkpoint with the new columns reads the change again.
   */
  private stopAtSchemaChange(m: RelationMessage): void {
    const c = this.columnChanges(m)!;
    this.stoppedAt = `${m.schema}.${m.name}`;
    if (!this.paused) {
      this.paused = true;
      this.stream()?.pause();
    }
    this.ctx.inc('schema-changes');
    this.ctx.log.info({ table: this.stoppedAt, added: c.added, dropped: c.dropped, retyped: c.retyped }, 'postgres-cdc source stopped before a schema change');
  }

  private onRelation(m: RelationMessage): void {
    const c = this.columnChanges(m);
    if (!c) {
      this.relations.set(m.oid, null);
      return;
    }
    const { table, added, dropped, retyped } = c;
    const what = [
      ...added.map((n) => `column '${n}' was added`),
      ...dropped.map((n) => `column '${n}' was dropped`),
      ...retyped.map((n) => `column '${n}' changed its type`),
    ].join(', ');
    if (what && this.config.schemaChange === 'fail') {
      this.failure = userError(
        'CDC_SCHEMA_CHANGED',
        `postgres-cdc table '${this.config.table.name}': PostgreSQL table ${table.schema}.${table.name} changed: ${what}; update CREATE TABLE and restart without --from-checkpoint, or set 'schema-change.mode' = 'allow' to go on (new columns flow as NULL until CREATE TABLE declares them, dropped ones read as NULL)`,
      );
    }
    if (what) this.ctx.log.warn({ table: `${table.schema}.${table.name}`, added, dropped, retyped }, 'postgres-cdc relation changed');
    this.relations.set(m.oid, this.rows.relationMap(table, m));
  }

  private pass(map: RelationMap, t: Tuple, commit: Lsn): boolean {
    if (this.filters === undefined) return true;
    const f = this.filters.get(tableKey(map.table));
    return f === undefined || f.pass(this.rows.keyOf(map, t), commit);
  }

  private onChange(m: PgOutputMessage, commit: Lsn): void {
    if (m.tag === 'truncate') {
      this.onTruncate(m.oids, commit);
      return;
    }
    if (m.tag !== 'insert' && m.tag !== 'update' && m.tag !== 'delete') return;
    const map = this.relations.get(m.oid);
    if (!map) return;
    const rows = this.rows;
    const upsert = this.config.changelogMode === 'upsert';
    switch (m.tag) {
      case 'insert':
        if (this.pass(map, m.after, commit)) rows.image(RowKind.INSERT, m.after, map, false);
        return;
      case 'update': {
        const before = m.before;
        if (upsert || before === null || m.beforeIsKey) {
          if (!upsert) throw this.noBeforeImage(map);
          // The normalize step after the source turns +U into +I or -U/+U and fills unchanged values.
          const moved = before !== null && rows.keyChanged(map, before, m.after);
          if (moved && this.pass(map, before, commit)) rows.keyOnly(RowKind.DELETE, before, map);
          if (this.pass(map, m.after, commit)) {
            // Under a new key the normalize step holds no row to take unchanged values from.
            const missing = moved ? rows.unchangedColumns(m.after, map) : [];
            if (missing.length > 0) this.fetches.push({ row: rows.out.size, map, key: rows.keyOf(map, m.after), columns: missing });
            rows.image(RowKind.UPDATE_AFTER, m.after, map, true);
          }
          return;
        }
        const after = m.after;
        for (let i = 0; i < after.length; i++) if (after[i] === UNCHANGED_TOAST) after[i] = before[i];
        const pb = this.pass(map, before, commit);
        const pa = this.pass(map, after, commit);
        if (rows.keyChanged(map, before, after)) {
          if (pb) rows.image(RowKind.DELETE, before, map, false);
          if (pa) rows.image(RowKind.INSERT, after, map, false);
        } else if (pb && pa) {
          rows.image(RowKind.UPDATE_BEFORE, before, map, false);
          rows.image(RowKind.UPDATE_AFTER, after, map, false);
        }
        return;
      }
      case 'delete':
        if (!this.pass(map, m.before, commit)) return;
        if (m.beforeIsKey) {
          if (!upsert) throw this.noBeforeImage(map);
          rows.keyOnly(RowKind.DELETE, m.before, map);
        } else rows.image(RowKind.DELETE, m.before, map, false);
        return;
    }
  }

  /**
   * TRUNCATE: a marker for the normalize step, which deletes every row it holds of those tables.
   * A table whose snapshot was (partly) read after the TRUNCATE committed already reflects it.
   */
  private onTruncate(oids: readonly number[], commit: Lsn): void {
    const names: string[] = [];
    for (const oid of oids) {
      const map = this.relations.get(oid);
      if (!map) continue;
      const f = this.filters?.get(tableKey(map.table));
      if (f) {
        const after = f.segments.filter((s) => s.lsn > commit).length;
        if (after === f.segments.length) continue; // the whole snapshot was read after the TRUNCATE
        if (after > 0) {
          this.failure ??= userError(
            'CDC_TRUNCATE_DURING_SNAPSHOT',
            `postgres-cdc table '${this.config.table.name}': PostgreSQL table ${map.table.schema}.${map.table.name} was truncated between two parts of a snapshot that a restart resumed; restart the job without --from-checkpoint to snapshot it again`,
          );
          return;
        }
      }
      names.push(map.table.name);
    }
    if (names.length === 0) return;
    this.marker = { size: 0, kinds: new Uint8Array(0), columns: [], truncate: { tables: names } };
  }

  private noBeforeImage(map: RelationMap): Error {
    return userError(
      'CDC_REPLICA_IDENTITY',
      `postgres-cdc table '${this.config.table.name}': an UPDATE or DELETE of ${map.table.schema}.${map.table.name} came without its before-image (REPLICA IDENTITY is not FULL); run ALTER TABLE ${map.table.qualified} REPLICA IDENTITY FULL, or set 'changelog-mode' = 'upsert'`,
    );
  }

  // ------------------------------------------------------------------ checkpoints

  positions(): SplitPosition[] {
    if (!this.split) return [];
    const position: Record<string, JsonValue> = { lsn: formatLsn(this.lsn) };
    if (this.partial) position.partial = { commit: formatLsn(this.partial.commit), n: this.partial.n };
    position.snapshot = this.snapshot.toJson(this.snapshotting || this.filters !== undefined);
    if (this.retained > 1 && this.completed.length > 0) position.completed = this.completed.map(formatLsn);
    this.captures.push({ lsn: this.lsn });
    if (this.captures.length > 16) this.captures.shift();
    return [{ split: this.split, position, ...(this.finished ? { finished: true } : {}) }];
  }

  async notifyCheckpointComplete(): Promise<void> {
    const newest = this.captures[this.captures.length - 1];
    this.captures = [];
    if (!newest) return;
    this.completed.push(newest.lsn);
    if (this.completed.length > this.retained) this.completed.shift();
    // LSNs only grow from one checkpoint to the next: the first is the oldest retained one.
    const target = this.completed[0];
    if (target <= this.acked) return;
    this.acked = target;
    this.sendStatus();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.statusTimer);
    clearInterval(this.heartbeatTimer);
    const service = this.service;
    this.service = undefined;
    if (service) {
      await Promise.race([this.streamReady, new Promise((r) => setTimeout(r, 10_000))]);
      // Errors of a connection being torn down are not the job's.
      service.on('error', () => undefined);
      // A last status so a clean stop leaves the slot exactly at the last completed checkpoint.
      if (this.acked > 0n) await service.acknowledge(formatLsn(this.acked - 1n)).catch(() => undefined);
      await Promise.race([service.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    }
    await this.snapshot?.close();
    await this.meta?.end().catch(() => undefined);
    this.meta = undefined;
  }
}
