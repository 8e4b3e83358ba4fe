/**
 * The initial snapshot of every captured table, in primary-key chunks (see snapshot-chunks.ts for
 * why it stays exact across restarts). A run is one exported snapshot: it reads the tables that
 * are not done, in order, each from the last key a completed checkpoint covers; a crash ends the
 * run and the restarted job begins a new one. Per table the checkpoint records the segments read
 * so far, whether it is done and how many rows were read (for the progress bar).
 */
import type pg from 'pg';
import { RowKind } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SourceContext } from '../../src/runtime/source.js';
import type { CdcConfig } from './cdc-options.js';
import type { RowEmitter, RelationMap } from './cdc-rows.js';
import { cdcError, connect, createSlot, type CapturedTable } from './cdc-setup.js';
import { formatLsn, type Lsn } from './lsn.js';
import type { Tuple } from './pgoutput.js';
import { chunkQuery, KeyOrder, SegmentFilter, segmentsFromJson, segmentsToJson, type KeyText, type Segment } from './snapshot-chunks.js';

export interface TableSnapshot {
  segments: Segment[];
  done: boolean;
  rows: number;
}

interface Run {
  readonly repl: pg.Client;
  readonly snap: pg.Client;
  readonly lsn: Lsn;
  /** Index (into tables) of the table being read. */
  table: number;
  last: KeyText | null;
  /** Last key read by this run in the current table (null: none yet). */
  upTo: KeyText | null;
}

let snapshotRuns = 0;

export const tableKey = (t: CapturedTable): string => `${t.schema}.${t.name}`;

export class CdcSnapshot {
  private readonly state = new Map<string, TableSnapshot>();
  private readonly maps: RelationMap[];
  private readonly totals: number[];
  private run: Run | undefined;

  /**
   * `restored`: the checkpoint's `snapshot` JSON (undefined on a fresh start). `initial`: tables the
   * checkpoint does not know still need a snapshot (false for latest-offset: nothing is read).
   */
  constructor(
    private readonly config: CdcConfig,
    readonly tables: readonly CapturedTable[],
    private readonly rows: RowEmitter,
    private readonly ctx: SourceContext,
    restored: unknown,
    initial: boolean,
  ) {
    const known = (restored as { tables?: Record<string, { done?: boolean; segments?: unknown; rows?: number }> } | undefined)?.tables;
    for (const t of tables) {
      const r = known?.[tableKey(t)];
      // A checkpoint without snapshot bookkeeping (latest-offset) has nothing left to read.
      const done = r ? Boolean(r.done) : restored !== undefined && known === undefined ? true : !initial;
      this.state.set(tableKey(t), { segments: r ? segmentsFromJson(r.segments) : [], done, rows: r?.rows ?? 0 });
    }
    this.maps = tables.map((t) =>
      rows.map(
        t,
        t.columns.map((c) => c.name),
      ),
    );
    this.totals = tables.map(() => -1);
  }

  get done(): boolean {
    for (const s of this.state.values()) if (!s.done) return false;
    return true;
  }

  /** Opens a run over the tables that are not done. */
  async start(meta: pg.Client): Promise<void> {
    const config = this.config;
    await this.estimate(meta);
    const repl = await connect(config, true);
    // Unique per process and run: several sources of one job start their snapshots at once.
    const name = `weir_snap_${process.pid}_${Date.now() % 1e9}_${++snapshotRuns}`;
    const { consistentPoint, snapshotName } = await createSlot(config, repl, name, { temporary: true, exportSnapshot: true }, this.ctx.log);
    const snap = await connect(config);
    await snap.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await snap.query(`SET TRANSACTION SNAPSHOT '${snapshotName}'`);
    this.run = { repl, snap, lsn: consistentPoint, table: -1, last: null, upTo: null };
    this.nextTable();
    this.ctx.log.info(
      { tables: this.tables.filter((t) => !this.state.get(tableKey(t))!.done).map(tableKey), lsn: formatLsn(consistentPoint) },
      'postgres-cdc snapshot run started',
    );
  }

  private async estimate(meta: pg.Client): Promise<void> {
    for (let i = 0; i < this.tables.length; i++) {
      try {
        const r = await meta.query('SELECT reltuples::bigint::text AS n FROM pg_class WHERE oid = $1::regclass', [this.tables[i].qualified]);
        this.totals[i] = Number(r.rows[0]?.n ?? -1);
        if (this.totals[i] < 0) {
          // Never analyzed: count, unless that takes long (then the bar has no total).
          await meta.query('BEGIN');
          try {
            await meta.query("SET LOCAL statement_timeout = '3s'");
            this.totals[i] = Number((await meta.query(`SELECT count(*)::text AS n FROM ${this.tables[i].qualified}`)).rows[0].n);
          } finally {
            await meta.query('ROLLBACK');
          }
        }
      } catch {
        this.totals[i] = -1;
      }
      this.report(i);
    }
  }

  private report(i: number): void {
    const s = this.state.get(tableKey(this.tables[i]))!;
    // reltuples is an estimate: never show less than what was read, and 100% once done.
    const total = s.done ? s.rows : this.totals[i] >= 0 ? Math.max(this.totals[i], s.rows) : undefined;
    this.ctx.progress?.(`snapshot ${tableKey(this.tables[i])}`, s.rows, total);
  }

  /** Moves the run to the next table that is not done; false when there is none. */
  private nextTable(): boolean {
    const run = this.run!;
    for (let i = run.table + 1; i < this.tables.length; i++) {
      const s = this.state.get(tableKey(this.tables[i]))!;
      if (s.done) continue;
      run.table = i;
      run.last = s.segments.length > 0 ? s.segments[s.segments.length - 1].upTo : null;
      run.upTo = null;
      return true;
    }
    run.table = this.tables.length;
    return false;
  }

  /** Reads one chunk into the emitter; ends the run when every table is done. */
  async readChunk(): Promise<void> {
    const run = this.run!;
    const i = run.table;
    const table = this.tables[i];
    const size = this.config.chunkSize;
    const sql = chunkQuery(
      table,
      table.columns.map((c) => c.name),
      run.last === null,
      size,
    );
    let rows: string[][];
    try {
      rows = (await run.snap.query({ text: sql, values: run.last === null ? [] : [...run.last], rowMode: 'array' })).rows as string[][];
    } catch (e) {
      throw cdcError(this.config, e, `reading a snapshot chunk of ${table.qualified}`);
    }
    const map = this.maps[i];
    const tuple: Tuple = [];
    for (const row of rows) {
      for (let c = 0; c < row.length; c++) tuple[c] = row[c];
      this.rows.image(RowKind.INSERT, tuple, map, false);
    }
    const s = this.state.get(tableKey(table))!;
    s.rows += rows.length;
    if (rows.length > 0) {
      run.last = this.rows.keyOf(map, tuple);
      run.upTo = run.last;
      // The checkpoint records the segment once this poll's rows are emitted (see toJson).
    }
    this.ctx.inc('snapshot-rows', rows.length);
    if (rows.length < size) {
      s.segments = [...s.segments, { upTo: null, lsn: run.lsn }];
      s.done = true;
      this.ctx.log.info({ table: table.qualified, rows: s.rows }, 'postgres-cdc table snapshot done');
      if (!this.nextTable()) await this.finish();
    }
    this.report(i);
  }

  private async finish(): Promise<void> {
    const run = this.run!;
    this.run = undefined;
    await run.snap.query('COMMIT').catch(() => undefined);
    await run.snap.end().catch(() => undefined);
    await run.repl.end().catch(() => undefined);
  }

  /** Per table, the segments as a checkpoint must record them now. */
  private segmentsOf(t: CapturedTable, i: number): Segment[] {
    const s = this.state.get(tableKey(t))!;
    const run = this.run;
    if (!run || run.table !== i || run.upTo === null) return s.segments;
    return [...s.segments, { upTo: run.upTo, lsn: run.lsn }];
  }

  /** The checkpoint's `snapshot` JSON; `keepSegments` false once the stream passed every segment. */
  toJson(keepSegments: boolean): JsonValue {
    const tables: Record<string, JsonValue> = {};
    this.tables.forEach((t, i) => {
      const s = this.state.get(tableKey(t))!;
      tables[tableKey(t)] = { done: s.done, rows: s.rows, segments: keepSegments ? segmentsToJson(this.segmentsOf(t, i)) : [] };
    });
    return { done: this.done, tables };
  }

  /** The stream's per-table filters (undefined when no segment was ever read). */
  filters(): Map<string, SegmentFilter> | undefined {
    const out = new Map<string, SegmentFilter>();
    for (const t of this.tables) {
      const s = this.state.get(tableKey(t))!;
      if (s.segments.length > 0) out.set(tableKey(t), new SegmentFilter(s.segments, new KeyOrder(t)));
    }
    return out.size > 0 ? out : undefined;
  }

  async close(): Promise<void> {
    if (!this.run) return;
    await this.run.snap.end().catch(() => undefined);
    await this.run.repl.end().catch(() => undefined);
    this.run = undefined;
  }
}
