/**
 * Turns decoded pgoutput messages into the source's rows: transactions move the stream position
 * (stream-position.ts), relation messages map tuples to output columns (after the schema-change
 * policy), and inserts, updates, deletes and truncates become changelog rows. While the stream has
 * not passed every snapshot segment, the changes the snapshot already holds are dropped.
 */
import { userError } from '../../src/errors.js';
import { RowKind, type ChangeBatch } from '../../src/model/changelog.js';
import type { SourceContext } from '../../src/runtime/source.js';
import type { CdcConfig } from './cdc-options.js';
import type { RelationMap, RowEmitter } from './cdc-rows.js';
import { tableKey } from './cdc-snapshot.js';
import type { Lsn } from './lsn.js';
import { UNCHANGED_TOAST, type PgOutputMessage, type Tuple } from './pgoutput.js';
import type { SchemaChangePolicy } from './schema-change-policy.js';
import type { SegmentFilter } from './snapshot-chunks.js';
import type { StreamPosition } from './stream-position.js';
import type { ToastRefetch } from './toast-refetch.js';

export class PgOutputDispatch {
  private readonly relations = new Map<number, RelationMap | null>();
  /** Per table: drops the changes the snapshot already holds (until the stream passed every segment). */
  private filters: Map<string, SegmentFilter> | undefined;
  private horizon: Lsn = 0n;
  /** A truncate marker to return from the next poll. */
  private marker: ChangeBatch | undefined;

  /** `failed`: the reader's pending failure, thrown by its next poll. */
  constructor(
    private readonly config: CdcConfig,
    private readonly ctx: SourceContext,
    private readonly rows: RowEmitter,
    private readonly position: StreamPosition,
    private readonly policy: SchemaChangePolicy,
    private readonly toast: ToastRefetch,
    private readonly failed: { failure: unknown },
  ) {}

  /** Whether changes are still checked against the snapshot's segments. */
  get filtering(): boolean {
    return this.filters !== undefined;
  }

  /** The snapshot's segments per table (undefined: none to filter by). */
  filterBy(filters: Map<string, SegmentFilter> | undefined): void {
    this.filters = filters;
    if (this.filters) for (const f of this.filters.values()) if (f.horizon > this.horizon) this.horizon = f.horizon;
  }

  get hasMarker(): boolean {
    return this.marker !== undefined;
  }

  takeMarker(): ChangeBatch | undefined {
    const marker = this.marker;
    this.marker = undefined;
    return marker;
  }

  keepalive(lsn: Lsn): void {
    this.position.reached(lsn);
    // Every later commit is past every segment: the snapshot bookkeeping is done with.
    if (this.filters && this.position.lsn >= this.horizon) this.filters = undefined;
  }

  handle(m: PgOutputMessage): void {
    switch (m.tag) {
      case 'begin': {
        this.position.begin(m.commitLsn);
        if (this.filters && m.commitLsn >= this.horizon) this.filters = undefined;
        this.ctx.gauge?.('lag-ms', Math.max(0, Date.now() - m.commitTime));
        return;
      }
      case 'commit':
        this.position.commit(m.endLsn);
        return;
      case 'relation': {
        const table = this.policy.accept(m);
        this.relations.set(m.oid, table === undefined ? null : this.rows.relationMap(table, m));
        return;
      }
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate': {
        const commit = this.position.change();
        if (commit !== undefined) this.onChange(m, commit);
        return;
      }
      case 'message':
        if (!m.transactional) this.position.reached(m.lsn);
        return;
      case 'other':
        return;
    }
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
            if (missing.length > 0) this.toast.add(rows.out.size, map, rows.keyOf(map, m.after), missing);
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
          this.failed.failure ??= userError(
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
}
