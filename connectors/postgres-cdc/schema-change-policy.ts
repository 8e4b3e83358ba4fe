/**
 * What a relation message that differs from the captured table's columns does, by
 * 'schema-change.mode': 'fail' fails the job, 'allow' reads on (columns mapped by name), 'stop'
 * ends the stream exactly before it (the reader stops reading there).
 */
import type pg from 'pg';
import { userError } from '../../src/errors.js';
import type { SourceContext } from '../../src/runtime/source.js';
import type { CdcConfig } from './cdc-options.js';
import { cdcError, type CapturedTable } from './cdc-setup.js';
import type { RelationMessage } from './pgoutput.js';

interface ColumnChanges {
  readonly table: CapturedTable;
  readonly added: string[];
  readonly dropped: string[];
  readonly retyped: string[];
}

export class SchemaChangePolicy {
  /** `failed`: the reader's pending failure, thrown by its next poll. */
  constructor(
    private readonly config: CdcConfig,
    private readonly tables: readonly CapturedTable[],
    private readonly meta: pg.Client,
    private readonly ctx: SourceContext,
    private readonly failed: { failure: unknown },
  ) {}

  /** Added, dropped and retyped columns of a captured table (undefined: not captured). */
  private columnChanges(m: RelationMessage): ColumnChanges | undefined {
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

  /** 'stop' mode and a column change: the stream stops here if liveTableChanged() too. */
  mayStop(m: RelationMessage): boolean {
    if (this.config.schemaChange !== 'stop') return false;
    const c = this.columnChanges(m);
    return c !== undefined && (c.added.length > 0 || c.dropped.length > 0 || c.retyped.length > 0);
  }

  /**
   * Whether the table itself changed since this run read its columns. A relation message that
   * differs from them while the table did not is history replayed from before them (a restored run
   * streams from its checkpoint's LSN, before the ALTER TABLE this run was started for): it is read
   * as it is, columns mapped by name, or the run would stop at it again and again.
   */
  async liveTableChanged(m: RelationMessage): Promise<boolean> {
    const table = this.tables.find((t) => t.schema === m.schema && t.name === m.name)!;
    let live: { name: string; typeOid: number; typeMod: number }[];
    try {
      live = (
        await this.meta.query(
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

  /** The stream stopped before `m` (the caller paused it): counted and logged. */
  stopped(m: RelationMessage): void {
    const c = this.columnChanges(m)!;
    this.ctx.inc('schema-changes');
    this.ctx.log.info(
      { table: `${m.schema}.${m.name}`, added: c.added, dropped: c.dropped, retyped: c.retyped },
      'postgres-cdc source stopped before a schema change',
    );
  }

  /** The captured table `m` describes, its changes failed ('fail') or logged; undefined: not captured. */
  accept(m: RelationMessage): CapturedTable | undefined {
    const c = this.columnChanges(m);
    if (!c) return undefined;
    const { table, added, dropped, retyped } = c;
    const what = [
      ...added.map((n) => `column '${n}' was added`),
      ...dropped.map((n) => `column '${n}' was dropped`),
      ...retyped.map((n) => `column '${n}' changed its type`),
    ].join(', ');
    if (what && this.config.schemaChange === 'fail') {
      this.failed.failure = userError(
        'CDC_SCHEMA_CHANGED',
        `postgres-cdc table '${this.config.table.name}': PostgreSQL table ${table.schema}.${table.name} changed: ${what}; update CREATE TABLE and restart without --from-checkpoint, or set 'schema-change.mode' = 'allow' to go on (new columns flow as NULL until CREATE TABLE declares them, dropped ones read as NULL)`,
      );
    }
    if (what) this.ctx.log.warn({ table: `${table.schema}.${table.name}`, added, dropped, retyped }, 'postgres-cdc relation changed');
    return table;
  }
}
