/**
 * Changelog batches: the unit of data on every channel. Columnar: `columns[c][i]` is column c of
 * row i, and `kinds[i]` is row i's kind. Values follow the representation in src/expr/types.ts.
 * A batch is immutable once emitted: an operator that wants to change it builds a new one
 * (new arrays per batch are fine; new objects per row are not).
 */
export const RowKind = {
  /** +I */
  INSERT: 0,
  /** -U: the row as it was before an update (a retraction) */
  UPDATE_BEFORE: 1,
  /** +U: the row as it is after an update */
  UPDATE_AFTER: 2,
  /** -D */
  DELETE: 3,
} as const;
export type RowKind = (typeof RowKind)[keyof typeof RowKind];

export const ROW_KIND_SHORT = ['+I', '-U', '+U', '-D'] as const;

/** True for +I and +U (the row is added); false for -U and -D (the row is retracted). */
export function isAccumulate(kind: number): boolean {
  return kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER;
}

export interface ChangeBatch {
  readonly size: number;
  readonly kinds: Uint8Array;
  readonly columns: unknown[][];
  /**
   * Set only on a control batch of size 0 that an upsert source (one the planner follows with a
   * changelog-normalize operator) emits when a captured table was emptied (PostgreSQL TRUNCATE).
   * Exchanges send it to every target subtask; the normalize operator turns it into a -D for every
   * row of that table it holds. No other operator ever receives one.
   */
  readonly truncate?: TruncateMarker;
}

export interface TruncateMarker {
  /** The truncated tables' names, matched against the normalize operator's table column (if any). */
  readonly tables: readonly string[];
}

/**
 * Placeholder an upsert source puts in a column whose value the change does not carry (an
 * unchanged TOASTed value): the changelog-normalize operator right after the source replaces it
 * with the value it holds for the key, so it never reaches any other operator.
 */
export const UNCHANGED_VALUE: unique symbol = Symbol('unchanged');

/** A batch of +I rows. `columns` are used as they are (not copied). */
export function insertBatch(columns: unknown[][], size: number): ChangeBatch {
  return { size, kinds: new Uint8Array(size), columns };
}

export function emptyColumns(arity: number): unknown[][] {
  const cols: unknown[][] = new Array(arity);
  for (let c = 0; c < arity; c++) cols[c] = [];
  return cols;
}

/**
 * Accumulates rows into a batch. Operators keep one builder and call `take()` when they are done
 * with an input batch, so the hot path allocates per batch, not per row.
 */
export class BatchBuilder {
  private kinds: number[] = [];
  private cols: unknown[][];

  constructor(readonly arity: number) {
    this.cols = emptyColumns(arity);
  }

  get size(): number {
    return this.kinds.length;
  }

  /** Starts a row; then call `set(c, v)` for every column. Returns the row index. */
  startRow(kind: RowKind): number {
    this.kinds.push(kind);
    return this.kinds.length - 1;
  }

  set(column: number, value: unknown): void {
    this.cols[column].push(value);
  }

  /** Appends a row from a values array (for low-rate paths; the hot path uses startRow/set). */
  addRow(kind: RowKind, values: readonly unknown[]): void {
    this.kinds.push(kind);
    for (let c = 0; c < this.arity; c++) this.cols[c].push(values[c]);
  }

  /** Returns the batch built so far (or null when empty) and starts a new one. */
  take(): ChangeBatch | null {
    const n = this.kinds.length;
    if (n === 0) return null;
    const batch: ChangeBatch = { size: n, kinds: Uint8Array.from(this.kinds), columns: this.cols };
    this.kinds = [];
    this.cols = emptyColumns(this.arity);
    return batch;
  }
}

/** Row i of a batch as an array (for tests, print sinks and error messages; not the hot path). */
export function rowAt(batch: ChangeBatch, i: number): unknown[] {
  return rowOf(batch.columns, i, batch.columns.length);
}

/**
 * Row `i` of `columns` (its first `arity`) as an array built by push, so V8 keeps it packed: a
 * `new Array(n)` filled afterwards stays holey, which state snapshots serialize 2-3× slower and
 * larger (V8 writes a holey array as a sparse one, index by index).
 */
export function rowOf(columns: readonly unknown[][], i: number, arity: number): unknown[] {
  const row: unknown[] = [];
  for (let c = 0; c < arity; c++) row.push(columns[c][i]);
  return row;
}
