import type { Schema } from '../model/types.js';
import type { Expr, Query } from '../sql/ir.js';
import type { Pos } from '../sql/ir.js';

/** A table declared with CREATE TABLE: its columns and its connector options. */
export interface TableDef {
  readonly kind: 'table';
  /** As declared, unqualified (catalog/database qualifiers are accepted and dropped). */
  readonly name: string;
  /** Physical + metadata + computed columns, in declaration order. */
  readonly schema: Schema;
  /** Per column: how it is produced. Computed columns are evaluated after the source. */
  readonly columns: readonly TableColumn[];
  readonly primaryKey: readonly string[];
  readonly watermark?: { readonly column: string; readonly expr: Expr };
  /** WITH options, keys as written. May hold secrets: never log or print them. */
  readonly options: Readonly<Record<string, string>>;
  /** Position of each option's key in the SQL, for error messages. */
  readonly optionPositions: Readonly<Record<string, Pos>>;
  readonly pos: Pos;
  /** The CREATE TABLE text, for SHOW CREATE TABLE. */
  readonly ddl?: string;
}

export type TableColumn =
  | { readonly kind: 'physical'; readonly name: string }
  | { readonly kind: 'metadata'; readonly name: string; readonly key: string; readonly virtual: boolean }
  | { readonly kind: 'computed'; readonly name: string; readonly expr: Expr };

export interface ViewDef {
  readonly kind: 'view';
  readonly name: string;
  readonly query: Query;
  readonly queryText: string;
  readonly columnNames?: readonly string[];
  readonly pos: Pos;
}
