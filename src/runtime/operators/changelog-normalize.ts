/**
 * Changelog normalization, as Flink's ChangelogNormalize: keeps the last row per primary key so an
 * upsert stream becomes a complete changelog. The planner puts it right after a source that
 * declares `normalize` (postgres-cdc), hash-partitioned by the key.
 *
 * Input → output, per key:
 *   +I / +U row: no row held → +I(row); a different row held → -U(held) +U(row); the same row → nothing.
 *   -D (only the key columns need to be set) → -D(held), or nothing when no row is held.
 *   -U: ignored; the held row is what it retracts.
 *   A column holding UNCHANGED_VALUE (an unchanged TOASTed value) takes the held row's value.
 *   A truncate marker → -D for every held row of that table.
 * So deletes downstream always carry the full row, updates always come as -U/+U pairs, and a
 * replayed or repeated change is emitted once.
 *
 * State: the held rows, snapshotted columnar with the hash of each key (the hash the exchange
 * uses), so a restore with another parallelism keeps exactly the keys routed to this subtask.
 */
import { internalError, userError } from '../../errors.js';
import { packColumn, unpackColumn, type PackedColumn } from '../../state/columns.js';
import { rowMapKey } from '../../state/key-part.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { BatchBuilder, RowKind, UNCHANGED_VALUE, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';

export interface ChangelogNormalizeConfig {
  /** Input columns of the primary key. */
  readonly keys: readonly number[];
  /** Input column holding the row's table name (several tables in one source), or -1. */
  readonly tableColumn: number;
  /** Shown in errors: the source table's name. */
  readonly tableName: string;
}

interface StateV1 {
  readonly v: 1;
  /** Column names: a restore maps held rows by name, so a column added to the table reads NULL. */
  readonly names: readonly string[];
  readonly n: number;
  readonly hashes: Uint32Array;
  readonly columns: readonly PackedColumn[];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

export class ChangelogNormalizeOperator implements Operator {
  /** Key → held row: the row's values, then the key's hash at index `arity`. */
  private readonly rows = new Map<unknown, unknown[]>();
  private arity = 0;
  private names: readonly string[] = [];
  private output!: Output;
  private builder!: BatchBuilder;

  constructor(private readonly config: ChangelogNormalizeConfig) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.arity = ctx.inputSchemas[0].fields.length;
    this.names = ctx.inputSchemas[0].fields.map((f) => f.name);
    this.builder = new BatchBuilder(this.arity);
    for (const bytes of ctx.restoredState) this.restore(bytes, ctx.subtaskIndex, ctx.parallelism);
  }

  process(batch: ChangeBatch): void {
    if (batch.truncate !== undefined) {
      this.truncate(batch.truncate.tables);
      return;
    }
    const { kinds, columns: cols, size } = batch;
    const arity = this.arity;
    const rows = this.rows;
    const out = this.builder;
    for (let i = 0; i < size; i++) {
      const kind = kinds[i];
      if (kind === RowKind.UPDATE_BEFORE) continue;
      const key = rowMapKey(cols, i, this.config.keys);
      const held = rows.get(key);
      if (kind === RowKind.DELETE) {
        if (held === undefined) continue;
        rows.delete(key);
        this.emitRow(RowKind.DELETE, held);
        continue;
      }
      const row: unknown[] = new Array(arity + 1);
      let same = held !== undefined;
      for (let c = 0; c < arity; c++) {
        let v = cols[c][i];
        if (v === UNCHANGED_VALUE) {
          if (held === undefined) throw this.unchangedWithoutRow(c);
          v = held[c];
        }
        row[c] = v;
        if (same && !sameValue(v, held![c])) same = false;
      }
      if (same) continue;
      row[arity] = hashRow(cols, i, this.config.keys);
      rows.set(key, row);
      if (held === undefined) this.emitRow(RowKind.INSERT, row);
      else {
        this.emitRow(RowKind.UPDATE_BEFORE, held);
        this.emitRow(RowKind.UPDATE_AFTER, row);
      }
    }
    const b = out.take();
    if (b !== null) this.output.emit(b);
  }

  private emitRow(kind: RowKind, row: readonly unknown[]): void {
    const out = this.builder;
    out.startRow(kind);
    for (let c = 0; c < this.arity; c++) out.set(c, row[c]);
  }

  private truncate(tables: readonly string[]): void {
    const tc = this.config.tableColumn;
    for (const [key, row] of this.rows) {
      if (tc >= 0 && !tables.includes(row[tc] as string)) continue;
      this.rows.delete(key);
      this.emitRow(RowKind.DELETE, row);
      if (this.builder.size >= 4096) this.output.emit(this.builder.take()!);
    }
    const b = this.builder.take();
    if (b !== null) this.output.emit(b);
  }

  private unchangedWithoutRow(c: number): Error {
    return userError(
      'CDC_UNCHANGED_TOAST',
      `table '${this.config.tableName}': an update left column ${c + 1} as an unchanged TOASTed value, and weir holds no earlier row for its key to take it from (was the table changed before the snapshot covered it?); run ALTER TABLE ... REPLICA IDENTITY FULL on the PostgreSQL table`,
    );
  }

  onWatermark(): void {}

  snapshotState(): SnapshotResult {
    const n = this.rows.size;
    const arity = this.arity;
    const flat: unknown[][] = Array.from({ length: arity }, () => new Array(n));
    const hashes = new Uint32Array(n);
    let i = 0;
    for (const row of this.rows.values()) {
      for (let c = 0; c < arity; c++) flat[c][i] = row[c];
      hashes[i++] = row[arity] as number;
    }
    const state: StateV1 = { v: 1, names: this.names, n, hashes, columns: flat.map((col) => packColumn(col, n)) };
    return { state: serializeState(state) };
  }

  private restore(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const s = deserializeState<StateV1>(bytes);
    if (s.v !== 1) throw internalError(`changelog-normalize state has unknown version ${String((s as { v: unknown }).v)}`);
    const cols = s.columns.map((c) => unpackColumn(c, s.n));
    // Columns by name: one the state lacks (declared since) is NULL until the row changes.
    const from = this.names.map((name) => s.names.indexOf(name));
    for (const k of this.config.keys) {
      if (from[k] < 0) throw internalError(`changelog-normalize state lacks key column '${this.names[k]}'`);
    }
    const keyCols: unknown[][] = this.names.map(() => [undefined]);
    for (let i = 0; i < s.n; i++) {
      if (subtaskOfHash(s.hashes[i], parallelism) !== subtask) continue;
      const row: unknown[] = new Array(this.arity + 1);
      for (let c = 0; c < this.arity; c++) row[c] = keyCols[c][0] = from[c] < 0 ? null : cols[from[c]][i];
      row[this.arity] = s.hashes[i];
      this.rows.set(rowMapKey(keyCols, 0, this.config.keys), row);
    }
  }

  /** Number of held rows (tests, metrics). */
  get size(): number {
    return this.rows.size;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
