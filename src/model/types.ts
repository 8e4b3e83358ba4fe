/**
 * SQL types as weir sees them, and how their values are represented in JS at run time.
 * The representation is fixed: operators, connectors and the expression compiler all rely on it.
 *
 * | SQL type                     | JS value                                                       |
 * |------------------------------|----------------------------------------------------------------|
 * | TINYINT/SMALLINT/INT/BIGINT  | number (an integer; BIGINT is exact within ±2^53, see docs)    |
 * | FLOAT/DOUBLE                 | number                                                         |
 * | DECIMAL(p, s)                | bigint: the unscaled value (123.45 in DECIMAL(10,2) is 12345n) |
 * | CHAR/VARCHAR/STRING          | string                                                         |
 * | BOOLEAN                      | boolean                                                        |
 * | DATE                         | number: days since 1970-01-01                                  |
 * | TIME(p)                      | number: milliseconds since midnight                            |
 * | TIMESTAMP(p)                 | number: milliseconds since 1970-01-01 00:00:00 (wall clock, no zone) |
 * | TIMESTAMP_LTZ(p)             | number: epoch milliseconds (an instant)                        |
 * | BYTES/VARBINARY              | Uint8Array                                                     |
 * | any type, NULL               | null                                                           |
 */
export type TypeKind =
  | 'TINYINT'
  | 'SMALLINT'
  | 'INT'
  | 'BIGINT'
  | 'FLOAT'
  | 'DOUBLE'
  | 'DECIMAL'
  | 'CHAR'
  | 'VARCHAR'
  | 'STRING'
  | 'BOOLEAN'
  | 'DATE'
  | 'TIME'
  | 'TIMESTAMP'
  | 'TIMESTAMP_LTZ'
  | 'BYTES'
  | 'NULL';

export interface SqlType {
  readonly kind: TypeKind;
  /** false when declared NOT NULL (or a PRIMARY KEY column). */
  readonly nullable: boolean;
  /** DECIMAL precision, CHAR/VARCHAR length, TIMESTAMP/TIME precision. */
  readonly precision?: number;
  /** DECIMAL scale. */
  readonly scale?: number;
  /**
   * A time attribute (TIMESTAMP / TIMESTAMP_LTZ only), as Flink's `*ROWTIME*` / `*PROCTIME*`:
   * 'rowtime' for the column a table declares a WATERMARK for (and window_time after a window),
   * 'proctime' for a `PROCTIME()` computed column. It follows a column through plain references;
   * any expression over it, an aggregate or a CAST gives a regular timestamp. Values are unchanged.
   */
  readonly timeAttribute?: 'rowtime' | 'proctime';
}

export interface Field {
  readonly name: string;
  readonly type: SqlType;
}

/** An ordered list of named, typed columns. Column i of a batch holds field i. */
export interface Schema {
  readonly fields: readonly Field[];
}

export function type(kind: TypeKind, nullable = true, precision?: number, scale?: number): SqlType {
  const t: SqlType = { kind, nullable, ...(precision !== undefined ? { precision } : {}), ...(scale !== undefined ? { scale } : {}) };
  return Object.freeze(t);
}

export function withNullable(t: SqlType, nullable: boolean): SqlType {
  return t.nullable === nullable ? t : Object.freeze({ ...t, nullable });
}

const INTEGER_KINDS: ReadonlySet<TypeKind> = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT']);
const NUMERIC_KINDS: ReadonlySet<TypeKind> = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DECIMAL']);
const STRING_KINDS: ReadonlySet<TypeKind> = new Set(['CHAR', 'VARCHAR', 'STRING']);

export const isInteger = (t: SqlType): boolean => INTEGER_KINDS.has(t.kind);
export const isNumeric = (t: SqlType): boolean => NUMERIC_KINDS.has(t.kind);
export const isString = (t: SqlType): boolean => STRING_KINDS.has(t.kind);

/** Flink-style rendering: `DECIMAL(10, 2)`, `VARCHAR(20)`, `TIMESTAMP(3)`, `BIGINT NOT NULL`. */
export function formatType(t: SqlType): string {
  let s: string = t.kind;
  if (t.kind === 'DECIMAL') s = `DECIMAL(${t.precision ?? 10}, ${t.scale ?? 0})`;
  else if ((t.kind === 'CHAR' || t.kind === 'VARCHAR') && t.precision !== undefined) s = `${t.kind}(${t.precision})`;
  else if ((t.kind === 'TIMESTAMP' || t.kind === 'TIMESTAMP_LTZ' || t.kind === 'TIME') && t.precision !== undefined) s = `${t.kind}(${t.precision})`;
  return t.nullable ? s : `${s} NOT NULL`;
}
