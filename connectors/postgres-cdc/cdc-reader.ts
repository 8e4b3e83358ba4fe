/**
 * The postgres-cdc source subtask. It first reads the table's snapshot in primary-key chunks
 * (snapshot-chunks.ts), then streams the persistent slot with pgoutput through
 * pg-logical-replication. Replication messages are queued in arrival order (keepalives too, so a
 * keepalive never overtakes the data before it); poll() turns them into +I/-U/+U/-D rows.
 *
 * Position (JSON): `{ lsn, partial?, snapshot? }`. `lsn`: every transaction whose commit record
 * starts before it has been emitted (a commit's end LSN, or a keepalive / heartbeat LSN reached
 * outside a transaction). `partial`: the first `n` changes of the transaction committing at
 * `commit` were emitted (a batch ended inside it). `snapshot`: the segments read so far and
 * whether the snapshot is done. A restore starts the slot at `lsn` and skips, by the same rule,
 * what the server sends again (the slot may lag: it is acknowledged only after a checkpoint).
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
import { BatchBuilder, RowKind, type ChangeBatch } from '../../src/runtime/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import type { ColumnOrigin } from '../common/columns.js';
import { cdcError, checkSlotUsable, clientConfig, connect, createSlot, prepare, slotInfo, type CapturedTable } from './cdc-setup.js';
import type { CdcSource } from './cdc-source.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { PgOutputDecoder, UNCHANGED_TOAST, type PgOutputMessage, type RelationMessage, type Tuple } from './pgoutput.js';
import { textConverter, ValueError, type TextConverter } from './pg-text.js';
import { chunkQuery, KeyOrder, SegmentFilter, segmentsFromJson, segmentsToJson, type KeyText, type Segment } from './snapshot-chunks.js';

const MAX_BATCH_ROWS = 4096;
const MAX_QUEUED = 20_000;
const STATUS_INTERVAL_MS = 10_000;

type Queued = { readonly kind: 'msg'; readonly msg: PgOutputMessage } | { readonly kind: 'keepalive'; readonly lsn: Lsn };

interface Capture {
  readonly lsn: Lsn;
}

/** Per relation (oid): where each output column and key column sits in its tuples. */
interface RelationMap {
  readonly msg: RelationMessage;
  readonly out: number[];
  readonly keys: number[];
}

export class CdcReader implements SourceReader {
  private readonly config;
  private readonly columns: readonly ColumnOrigin[];
  private readonly out: BatchBuilder;
  private readonly converters: (TextConverter | null)[];
  private active = false;
  private meta: pg.Client | undefined;
  private table!: CapturedTable;
  private order!: KeyOrder;
  private split: SplitPosition['split'] | undefined;
  // stream position
  private lsn: Lsn = 0n;
  private partial: { commit: Lsn; n: number } | undefined;
  // snapshot
  private snapshotDone = true;
  private segments: Segment[] = [];
  private filter: SegmentFilter | undefined;
  private run: { repl: pg.Client; snap: pg.Client; lsn: Lsn; last: KeyText | null; upTo: KeyText | null } | undefined;
  private snapColumns: string[] = [];
  // streaming
  private service: LogicalReplicationService | undefined;
  private queue: Queued[] = [];
  private qHead = 0;
  private paused = false;
  private failure: unknown;
  private inTxn: { commit: Lsn; n: number; skip: number; skipAll: boolean } | undefined;
  private readonly relations = new Map<number, RelationMap | null>();
  private statusTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private acked: Lsn = 0n;
  private captures: Capture[] = [];
  /** LSNs of the newest completed checkpoints, oldest first (at most retainedCheckpoints). */
  private completed: Lsn[] = [];
  private finished = false;
  private closed = false;

  constructor(
    private readonly source: CdcSource,
    private readonly ctx: SourceContext,
  ) {
    this.config = source.config;
    this.columns = source.columns;
    this.out = new BatchBuilder(this.columns.length);
    this.converters = this.columns.map((c) => (c.kind === 'physical' ? textConverter(c.field) : null));
  }

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    if (splits.length === 0) return;
    this.split = splits[0];
    this.active = true;
    const config = this.config;
    const c = await connect(config);
    this.meta = c;
    try {
      this.table = await prepare(config, c);
    } catch (e) {
      throw cdcError(config, e, 'checking the table');
    }
    this.order = new KeyOrder(this.table);
    this.snapColumns = this.table.columns.map((col) => col.name);
    const r = restored.find((p) => p.split.id === this.split!.id);
    const pos = (r?.position ?? undefined) as
      | { lsn?: string; partial?: { commit: string; n: number }; snapshot?: { done: boolean; segments: unknown }; completed?: string[] }
      | undefined;
    const bounded = config.startupMode === 'snapshot';
    const slot = bounded ? undefined : await slotInfo(config, c).catch((e: unknown) => Promise.reject(cdcError(config, e, 'reading pg_replication_slots')));
    if (slot?.exists) {
      checkSlotUsable(config, slot);
      // Never acknowledge behind where the slot already is (a restored older checkpoint's history may be).
      this.acked = slot.confirmedFlush ?? 0n;
    }
    if (pos && typeof pos.lsn === 'string') {
      this.lsn = parseLsn(pos.lsn);
      if (pos.partial) this.partial = { commit: parseLsn(pos.partial.commit), n: pos.partial.n };
      this.segments = segmentsFromJson(pos.snapshot?.segments);
      this.snapshotDone = pos.snapshot === undefined || pos.snapshot.done;
      // The restored checkpoint is itself completed; the ones before it were retained with it.
      this.completed = [...(Array.isArray(pos.completed) ? pos.completed.map(parseLsn) : []), this.lsn].slice(-config.retainedCheckpoints);
      if (!bounded) {
        if (!slot!.exists) {
          throw userError('CDC_SLOT_MISSING', `postgres-cdc table '${config.table.name}' at ${config.server}: replication slot '${config.slotName}' of the checkpoint no longer exists, so the changes since the checkpoint are gone; start the job without --from-checkpoint to snapshot the table again`);
        }
        if (slot!.confirmedFlush! > this.lsn) {
          throw userError('CDC_CHECKPOINT_BEHIND_SLOT', `postgres-cdc table '${config.table.name}': the checkpoint's LSN ${formatLsn(this.lsn)} is before replication slot '${config.slotName}''s confirmed position ${formatLsn(slot!.confirmedFlush!)} (a newer checkpoint was acknowledged), so the changes in between are gone; restore the latest checkpoint, or start without --from-checkpoint to snapshot again ('slot.retained-checkpoints' = N keeps the last N checkpoints restorable)`);
        }
      }
    } else {
      if (!bounded) {
        if (slot!.exists) this.lsn = slot!.confirmedFlush!;
        else {
          const repl = await connect(config, true);
          try {
            this.lsn = (await createSlot(config, repl, config.slotName, { temporary: false, exportSnapshot: false })).consistentPoint;
          } finally {
            await repl.end().catch(() => undefined);
          }
        }
      }
      this.snapshotDone = config.startupMode === 'latest-offset';
    }
    if (!this.snapshotDone) await this.startRun();
    else this.startStream();
  }

  // ------------------------------------------------------------------ snapshot

  private async startRun(): Promise<void> {
    const config = this.config;
    const repl = await connect(config, true);
    const name = `weir_snap_${process.pid}_${Date.now() % 1e9}`;
    const { consistentPoint, snapshotName } = await createSlot(config, repl, name, { temporary: true, exportSnapshot: true });
    const snap = await connect(config);
    await snap.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await snap.query(`SET TRANSACTION SNAPSHOT '${snapshotName}'`);
    const last = this.segments.length > 0 ? this.segments[this.segments.length - 1].upTo : null;
    this.run = { repl, snap, lsn: consistentPoint, last, upTo: null };
    this.ctx.log.info({ table: this.table.qualified, from: last, lsn: formatLsn(consistentPoint) }, 'postgres-cdc snapshot run started');
  }

  private async readChunk(): Promise<void> {
    const run = this.run!;
    const size = this.config.chunkSize;
    const sql = chunkQuery(this.table, this.snapColumns, run.last === null, size);
    let rows: string[][];
    try {
      rows = (await run.snap.query({ text: sql, values: run.last === null ? [] : [...run.last], rowMode: 'array' })).rows as string[][];
    } catch (e) {
      throw cdcError(this.config, e, `reading a snapshot chunk of ${this.table.qualified}`);
    }
    const map = this.snapshotMap();
    const tuple: Tuple = [];
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) tuple[i] = row[i];
      this.emitImage(RowKind.INSERT, tuple, map.out);
    }
    if (rows.length > 0) {
      const lastRow = rows[rows.length - 1];
      run.last = map.keys.map((k) => lastRow[k]);
      run.upTo = run.last;
    }
    this.ctx.inc('snapshot-rows', rows.length);
    if (rows.length < size) await this.finishSnapshot();
  }

  private snapMap: RelationMap | undefined;
  private snapshotMap(): RelationMap {
    if (!this.snapMap) {
      const cols = this.table.columns.map((c) => ({ name: c.name, isKey: this.table.primaryKey.includes(c.name), typeOid: 0 }));
      const msg: RelationMessage = { tag: 'relation', oid: 0, schema: this.table.schema, name: this.table.name, replicaIdentity: this.table.replicaIdentity, columns: cols };
      this.snapMap = this.mapRelation(msg);
    }
    return this.snapMap;
  }

  /** Segments as a checkpoint must record them now. */
  private currentSegments(): Segment[] {
    const run = this.run;
    if (!run || run.upTo === null) return this.segments;
    return [...this.segments, { upTo: run.upTo, lsn: run.lsn }];
  }

  private async finishSnapshot(): Promise<void> {
    const run = this.run!;
    this.segments = [...this.segments, { upTo: null, lsn: run.lsn }];
    this.run = undefined;
    this.snapshotDone = true;
    await run.snap.query('COMMIT').catch(() => undefined);
    await run.snap.end().catch(() => undefined);
    await run.repl.end().catch(() => undefined);
    this.ctx.log.info({ table: this.table.qualified }, 'postgres-cdc snapshot done');
    if (this.config.startupMode === 'snapshot') this.finished = true;
    else this.startStream();
  }

  // ------------------------------------------------------------------ streaming

  private startStream(): void {
    if (this.segments.length > 0) this.filter = new SegmentFilter(this.segments, this.order);
    const service = new LogicalReplicationService(clientConfig(this.config, false), { acknowledge: { auto: false, timeoutSeconds: 0 } });
    this.service = service;
    service.on('data', (_lsn: string, msg: PgOutputMessage) => this.enqueue({ kind: 'msg', msg }));
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      this.enqueue({ kind: 'keepalive', lsn: parseLsn(lsn) });
      if (shouldRespond) this.sendStatus();
    });
    service.on('error', (e: Error) => {
      if (!this.closed) this.failure ??= this.streamError(e);
    });
    service.subscribe(new PgOutputDecoder({ publication: this.config.publicationName }), this.config.slotName, formatLsn(this.lsn)).catch((e: unknown) => {
      if (!this.closed) this.failure ??= this.streamError(e);
    });
    this.statusTimer = setInterval(() => this.sendStatus(), STATUS_INTERVAL_MS);
    if (this.config.heartbeatMs > 0) this.heartbeatTimer = setInterval(() => this.heartbeat(), this.config.heartbeatMs);
  }

  private streamError(e: unknown): unknown {
    const err = e as { code?: string; message?: string };
    const where = `postgres-cdc table '${this.config.table.name}' at ${this.config.server}`;
    if (err.code === '55006') {
      const pid = /PID (\d+)/.exec(err.message ?? '')?.[1];
      return userError('CDC_SLOT_ACTIVE', `${where}: replication slot '${this.config.slotName}' is active for PID ${pid ?? '?'} (another job or client reads it); stop that reader${pid ? ` (SELECT pg_terminate_backend(${pid}))` : ''} or give this table another 'slot.name'`);
    }
    if (err.code === '55000' && /can no longer|invalidated|removed/i.test(err.message ?? '')) {
      return userError('CDC_SLOT_INVALIDATED', `${where}: replication slot '${this.config.slotName}' was invalidated (${err.message}); drop it (SELECT pg_drop_replication_slot('${this.config.slotName}')) and start the job without --from-checkpoint to snapshot the table again`);
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
    if (!this.active) return this.source.bounded ? 'end' : undefined;
    if (this.finished) return this.out.take() ?? 'end';
    if (this.run) {
      await this.readChunk();
      return this.out.take() ?? undefined;
    }
    const q = this.queue;
    while (this.qHead < q.length && this.out.size < MAX_BATCH_ROWS) {
      const item = q[this.qHead++];
      if (item.kind === 'keepalive') {
        if (!this.inTxn && item.lsn > this.lsn) this.lsn = item.lsn;
      } else this.handle(item.msg);
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
    return this.out.take() ?? undefined;
  }

  private handle(m: PgOutputMessage): void {
    switch (m.tag) {
      case 'begin': {
        const skipAll = m.commitLsn < this.lsn;
        const skip = this.partial && this.partial.commit === m.commitLsn ? this.partial.n : 0;
        this.inTxn = { commit: m.commitLsn, n: 0, skip, skipAll };
        if (this.filter && m.commitLsn >= this.filter.horizon) this.filter = undefined;
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

  private onRelation(m: RelationMessage): void {
    if (m.schema !== this.table.schema || m.name !== this.table.name) {
      this.relations.set(m.oid, null);
      return;
    }
    const known = new Set(this.table.columns.map((c) => c.name));
    const now = new Set(m.columns.map((c) => c.name));
    const added = m.columns.filter((c) => !known.has(c.name)).map((c) => c.name);
    const dropped = [...known].filter((n) => !now.has(n));
    if ((added.length > 0 || dropped.length > 0) && !this.config.allowSchemaChange) {
      const what = [...added.map((c) => `column '${c}' was added`), ...dropped.map((c) => `column '${c}' was dropped`)].join(', ');
      this.failure = userError(
        'CDC_SCHEMA_CHANGED',
        `postgres-cdc table '${this.config.table.name}': PostgreSQL table ${this.table.schema}.${this.table.name} changed: ${what}; update CREATE TABLE and restart without --from-checkpoint, or set 'schema-change.mode' = 'allow' to go on (new columns are ignored, dropped ones read as NULL)`,
      );
    }
    this.relations.set(m.oid, this.mapRelation(m));
  }

  private mapRelation(m: RelationMessage): RelationMap {
    const index = new Map(m.columns.map((c, i) => [c.name, i]));
    const out = this.columns.map((c) => (c.kind === 'physical' ? (index.get(c.field.name) ?? -1) : -1));
    const keys = this.table.primaryKey.map((k) => index.get(k) ?? -1);
    return { msg: m, out, keys };
  }

  private keyOf(map: RelationMap, t: Tuple): KeyText {
    return map.keys.map((k) => t[k] as string);
  }

  private pass(map: RelationMap, t: Tuple, commit: Lsn): boolean {
    return this.filter === undefined || this.filter.pass(this.keyOf(map, t), commit);
  }

  private onChange(m: PgOutputMessage, commit: Lsn): void {
    if (m.tag === 'truncate') {
      const map = m.oids.map((o) => this.relations.get(o)).find((x) => x);
      if (map) {
        this.failure ??= userError('CDC_TRUNCATE', `postgres-cdc table '${this.config.table.name}': PostgreSQL table ${this.table.schema}.${this.table.name} was truncated; weir cannot retract its rows yet: restart without --from-checkpoint to snapshot it again`);
      }
      return;
    }
    if (m.tag !== 'insert' && m.tag !== 'update' && m.tag !== 'delete') return;
    const map = this.relations.get(m.oid);
    if (!map) return;
    const upsert = this.config.changelogMode === 'upsert';
    switch (m.tag) {
      case 'insert':
        if (this.pass(map, m.after, commit)) this.emitImage(RowKind.INSERT, m.after, map.out);
        return;
      case 'update': {
        const before = m.before;
        if (upsert || before === null || m.beforeIsKey) {
          if (!upsert) throw this.noBeforeImage();
          if (before !== null && this.keyChanged(map, before, m.after) && this.pass(map, before, commit)) this.emitKeyOnly(RowKind.DELETE, before, map);
          if (this.pass(map, m.after, commit)) this.emitImage(RowKind.UPDATE_AFTER, m.after, map.out);
          return;
        }
        const after = m.after;
        for (let i = 0; i < after.length; i++) if (after[i] === UNCHANGED_TOAST) after[i] = before[i];
        const pb = this.pass(map, before, commit);
        const pa = this.pass(map, after, commit);
        if (this.keyChanged(map, before, after)) {
          if (pb) this.emitImage(RowKind.DELETE, before, map.out);
          if (pa) this.emitImage(RowKind.INSERT, after, map.out);
        } else if (pb && pa) {
          this.emitImage(RowKind.UPDATE_BEFORE, before, map.out);
          this.emitImage(RowKind.UPDATE_AFTER, after, map.out);
        }
        return;
      }
      case 'delete':
        if (!this.pass(map, m.before, commit)) return;
        if (m.beforeIsKey) {
          if (!upsert) throw this.noBeforeImage();
          this.emitKeyOnly(RowKind.DELETE, m.before, map);
        } else this.emitImage(RowKind.DELETE, m.before, map.out);
        return;
    }
  }

  private noBeforeImage(): Error {
    return userError('CDC_REPLICA_IDENTITY', `postgres-cdc table '${this.config.table.name}': an UPDATE or DELETE of ${this.table.schema}.${this.table.name} came without its before-image (REPLICA IDENTITY is not FULL); run ALTER TABLE ${this.table.qualified} REPLICA IDENTITY FULL, or set 'changelog-mode' = 'upsert'`);
  }

  private keyChanged(map: RelationMap, a: Tuple, b: Tuple): boolean {
    for (const k of map.keys) if (a[k] !== b[k]) return true;
    return false;
  }

  private emitKeyOnly(kind: RowKind, t: Tuple, map: RelationMap): void {
    const out = this.out;
    out.startRow(kind);
    for (let c = 0; c < this.columns.length; c++) {
      const col = this.columns[c];
      const i = map.out[c];
      const isKey = i >= 0 && map.keys.includes(i);
      out.set(c, isKey ? this.convert(c, t[i]) : col.kind === 'metadata' ? this.metadata(col.key) : null);
    }
  }

  private emitImage(kind: RowKind, t: Tuple, idx: readonly number[]): void {
    const out = this.out;
    out.startRow(kind);
    for (let c = 0; c < idx.length; c++) {
      const i = idx[c];
      if (i >= 0) out.set(c, this.convert(c, t[i]));
      else {
        const col = this.columns[c];
        out.set(c, col.kind === 'metadata' ? this.metadata(col.key) : null);
      }
    }
  }

  private convert(c: number, v: Tuple[number]): unknown {
    if (v === null || v === undefined) return null;
    if (v === UNCHANGED_TOAST) {
      throw userError('CDC_UNCHANGED_TOAST', `postgres-cdc table '${this.config.table.name}': column '${this.columns[c].field.name}' of an UPDATE is an unchanged TOASTed value the WAL does not carry; run ALTER TABLE ${this.table.qualified} REPLICA IDENTITY FULL`);
    }
    try {
      return this.converters[c]!(v);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw userError('CDC_VALUE', `postgres-cdc table '${this.config.table.name}': column '${this.columns[c].field.name}': ${e.message}`);
    }
  }

  private metadata(key: string): unknown {
    switch (key) {
      case 'table_name':
        return this.table.name;
      case 'schema_name':
        return this.table.schema;
      case 'database_name':
        return this.config.database;
      default:
        return null;
    }
  }

  // ------------------------------------------------------------------ checkpoints

  positions(): SplitPosition[] {
    if (!this.split) return [];
    const position: Record<string, JsonValue> = { lsn: formatLsn(this.lsn) };
    if (this.partial) position.partial = { commit: formatLsn(this.partial.commit), n: this.partial.n };
    const segments = this.filter || !this.snapshotDone ? this.currentSegments() : [];
    if (!this.snapshotDone || segments.length > 0) position.snapshot = { done: this.snapshotDone, segments: segmentsToJson(segments) };
    if (this.config.retainedCheckpoints > 1 && this.completed.length > 0) position.completed = this.completed.map(formatLsn);
    this.captures.push({ lsn: this.lsn });
    if (this.captures.length > 16) this.captures.shift();
    return [{ split: this.split, position, ...(this.finished ? { finished: true } : {}) }];
  }

  async notifyCheckpointComplete(): Promise<void> {
    const newest = this.captures[this.captures.length - 1];
    this.captures = [];
    if (!newest) return;
    this.completed.push(newest.lsn);
    if (this.completed.length > this.config.retainedCheckpoints) this.completed.shift();
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
      // A last status so a clean stop leaves the slot exactly at the last completed checkpoint.
      if (this.acked > 0n) await service.acknowledge(formatLsn(this.acked - 1n)).catch(() => undefined);
      await Promise.race([service.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    }
    if (this.run) {
      await this.run.snap.end().catch(() => undefined);
      await this.run.repl.end().catch(() => undefined);
      this.run = undefined;
    }
    await this.meta?.end().catch(() => undefined);
    this.meta = undefined;
  }
}
