/**
 * Turns PostgreSQL tuples (text values in a relation's column order) into the source's output
 * rows: which tuple position feeds each output column, per captured table, text → weir values,
 * metadata columns, and unchanged TOASTed values (UNCHANGED_VALUE for the normalize step to fill
 * in, or an error when no step can).
 */
import { userError } from '../../src/errors.js';
import { BatchBuilder, UNCHANGED_VALUE, type RowKind } from '../../src/model/changelog.js';
import type { ColumnOrigin } from '../common/columns.js';
import type { CdcConfig } from './cdc-options.js';
import type { CapturedTable } from './cdc-setup.js';
import { UNCHANGED_TOAST, type RelationMessage, type Tuple } from './pgoutput.js';
import { textConverter, ValueError, type TextConverter } from './pg-text.js';
import type { KeyText } from './snapshot-chunks.js';

/** Where each output column and key column sits in one relation's tuples. */
export interface RelationMap {
  readonly table: CapturedTable;
  /** Tuple position per output column (-1: not in the tuple). */
  readonly out: readonly number[];
  /** Tuple positions of the primary key columns, in key order. */
  readonly keys: readonly number[];
  /** Per tuple position: true when it is a key column. */
  readonly isKey: readonly boolean[];
}

export class RowEmitter {
  readonly out: BatchBuilder;
  private readonly converters: (TextConverter | null)[];

  constructor(
    private readonly config: CdcConfig,
    private readonly columns: readonly ColumnOrigin[],
  ) {
    this.out = new BatchBuilder(columns.length);
    this.converters = columns.map((c) => (c.kind === 'physical' ? textConverter(c.field) : null));
  }

  /** The map for tuples laid out as `names` (a relation message's columns or the snapshot's). */
  map(table: CapturedTable, names: readonly string[]): RelationMap {
    const index = new Map(names.map((n, i) => [n, i]));
    const out = this.columns.map((c) => (c.kind === 'physical' ? (index.get(c.field.name) ?? -1) : -1));
    const keys = table.primaryKey.map((k) => index.get(k) ?? -1);
    const isKey = names.map((_, i) => keys.includes(i));
    return { table, out, keys, isKey };
  }

  relationMap(table: CapturedTable, m: RelationMessage): RelationMap {
    return this.map(
      table,
      m.columns.map((c) => c.name),
    );
  }

  keyOf(map: RelationMap, t: Tuple): KeyText {
    return map.keys.map((k) => t[k] as string);
  }

  keyChanged(map: RelationMap, a: Tuple, b: Tuple): boolean {
    for (const k of map.keys) if (a[k] !== b[k]) return true;
    return false;
  }

  /** A full row. `unchanged`: what an unchanged TOASTed value becomes (an error when absent). */
  image(kind: RowKind, t: Tuple, map: RelationMap, unchanged: boolean): void {
    const out = this.out;
    out.startRow(kind);
    const idx = map.out;
    for (let c = 0; c < idx.length; c++) {
      const i = idx[c];
      if (i >= 0) {
        const v = t[i];
        out.set(c, v === UNCHANGED_TOAST && unchanged ? UNCHANGED_VALUE : this.convert(c, v, map));
      } else out.set(c, this.metadataOrNull(c, map));
    }
  }

  /** A row with only the key (and metadata) columns set: a keyed delete for the normalize step. */
  keyOnly(kind: RowKind, t: Tuple, map: RelationMap): void {
    const out = this.out;
    out.startRow(kind);
    const idx = map.out;
    for (let c = 0; c < idx.length; c++) {
      const i = idx[c];
      out.set(c, i >= 0 && map.isKey[i] ? this.convert(c, t[i], map) : this.metadataOrNull(c, map));
    }
  }

  private metadataOrNull(c: number, map: RelationMap): unknown {
    const col = this.columns[c];
    return col.kind === 'metadata' ? this.metadata(col.key, map.table) : null;
  }

  /** The output columns that `t` leaves as unchanged TOASTed values. */
  unchangedColumns(t: Tuple, map: RelationMap): number[] {
    const cols: number[] = [];
    map.out.forEach((i, c) => {
      if (i >= 0 && t[i] === UNCHANGED_TOAST) cols.push(c);
    });
    return cols;
  }

  convert(c: number, v: Tuple[number], map: RelationMap): unknown {
    if (v === null || v === undefined) return null;
    if (v === UNCHANGED_TOAST) {
      throw userError(
        'CDC_UNCHANGED_TOAST',
        `postgres-cdc table '${this.config.table.name}': column '${this.columns[c].field.name}' of an UPDATE of ${map.table.schema}.${map.table.name} is an unchanged TOASTed value the WAL does not carry; run ALTER TABLE ${map.table.qualified} REPLICA IDENTITY FULL, or set 'changelog-mode' = 'upsert'`,
      );
    }
    try {
      return this.converters[c]!(v);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw userError(
        'CDC_VALUE',
        `postgres-cdc table '${this.config.table.name}' (${map.table.schema}.${map.table.name}): column '${this.columns[c].field.name}': ${e.message}`,
      );
    }
  }

  private metadata(key: string, table: CapturedTable): unknown {
    switch (key) {
      case 'table_name':
        return table.name;
      case 'schema_name':
        return table.schema;
      case 'database_name':
        return this.config.database;
      default:
        return null;
    }
  }
}
