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
 * State: one keyed value state with the job's state TTL (as Flink's ChangelogNormalize):
 * primary key → the held row, an array of its values only (a CDC job holds one per captured row).
 *
 * Snapshots: the state layer's (by key group), and as the operator's own state the input column
 * names. A restore maps held rows by column name, so a column added to the table since reads NULL
 * and reordered columns keep their values: it reads the names before declaring the state and
 * declares it with a migration when they differ. Checkpoints of earlier versions (one columnar
 * blob with the names and each key's hash) are still restored, with the same mapping.
 */
import { internalError, userError } from '../../errors.js';
import { unpackColumn, type PackedColumn } from '../../state/columns.js';
import { rowMapKey } from '../../state/key-part.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import type { ValueState } from '../../state/state-backend.js';
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

/** The snapshot of weir versions before the state layer: every held row, columnar. */
interface StateV1 {
  readonly v: 1;
  /** Column names: a restore maps held rows by name, so a column added to the table reads NULL. */
  readonly names: readonly string[];
  readonly n: number;
  readonly hashes: Uint32Array;
  readonly columns: readonly PackedColumn[];
}

/** The operator's own state since the state layer: the column names its held rows were written with. */
interface StateV2 {
  readonly v: 2;
  readonly names: readonly string[];
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** The column names of the restored held rows (state layer), and checkpoints of earlier versions. */
function readRestored(restoredState: readonly Uint8Array[]): { written: readonly string[] | undefined; legacy: StateV1[] } {
  let written: readonly string[] | undefined;
  const legacy: StateV1[] = [];
  for (const bytes of restoredState) {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 1) legacy.push(s);
    else if (s.v === 2) {
      // Every old subtask's operator state arrives after a rescale; all were written with one schema.
      if (written !== undefined && !sameNames(written, s.names)) {
        throw internalError(`changelog-normalize: restored subtasks disagree on the columns (${written.join(', ')} / ${s.names.join(', ')})`);
      }
      written = s.names;
    } else throw internalError(`changelog-normalize state has unknown version ${String((s as { v: unknown }).v)}`);
  }
  return { written, legacy };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

export class ChangelogNormalizeOperator implements Operator {
  /** Key → held row (the row's values). */
  private rows!: ValueState<unknown, unknown[]>;
  private arity = 0;
  private names: readonly string[] = [];
  private output!: Output;
  private builder!: BatchBuilder;
  /** One-row columns of a held row's key values, to hash it again (truncate). */
  private keyScratch: unknown[][] = [];

  constructor(private readonly config: ChangelogNormalizeConfig) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.arity = ctx.inputSchemas[0].fields.length;
    this.names = ctx.inputSchemas[0].fields.map((f) => f.name);
    this.builder = new BatchBuilder(this.arity);
    this.keyScratch = this.names.map(() => [undefined]);
    const { written, legacy } = readRestored(ctx.restoredState);
    // Before the state is declared: declaring it hands every restored row to `migrate`.
    let migrate: ((v: unknown) => unknown) | undefined;
    if (written !== undefined && !sameNames(written, this.names)) {
      const from = this.columnsFrom(written);
      const arity = this.arity;
      migrate = (v) => {
        const old = v as readonly unknown[];
        const row: unknown[] = [];
        for (let c = 0; c < arity; c++) row.push(from[c] < 0 ? null : old[from[c]]);
        return row;
      };
    }
    this.rows = ctx.state.valueState<unknown, unknown[]>('rows', { ttl: true, ...(migrate === undefined ? {} : { migrate }) });
    for (const s of legacy) this.restore(s, ctx.subtaskIndex, ctx.parallelism);
  }

  /**
   * For each input column, its position among the columns held rows were written with, or -1 (a
   * column declared since: NULL until the row changes). A key column must be there.
   */
  private columnsFrom(written: readonly string[]): number[] {
    const from = this.names.map((name) => written.indexOf(name));
    for (const k of this.config.keys) {
      if (from[k] < 0) throw internalError(`changelog-normalize state lacks key column '${this.names[k]}'`);
    }
    return from;
  }

  prefetch(batch: ChangeBatch): void {
    if (batch.truncate !== undefined) return;
    const { kinds, columns: cols, size } = batch;
    const keys = this.config.keys;
    for (let i = 0; i < size; i++) {
      if (kinds[i] !== RowKind.UPDATE_BEFORE) this.rows.prefetch(rowMapKey(cols, i, keys), hashRow(cols, i, keys));
    }
  }

  process(batch: ChangeBatch): void | Promise<void> {
    if (batch.truncate !== undefined) return this.truncate(batch.truncate.tables);
    const { kinds, columns: cols, size } = batch;
    const arity = this.arity;
    const rows = this.rows;
    const keys = this.config.keys;
    const out = this.builder;
    for (let i = 0; i < size; i++) {
      const kind = kinds[i];
      if (kind === RowKind.UPDATE_BEFORE) continue;
      const key = rowMapKey(cols, i, keys);
      const hash = hashRow(cols, i, keys);
      const held = rows.get(key, hash);
      if (kind === RowKind.DELETE) {
        if (held === undefined) continue;
        rows.delete(key, hash);
        this.emitRow(RowKind.DELETE, held);
        continue;
      }
      // Filled by push, so it stays packed (as rowOf): it is kept in state.
      const row: unknown[] = [];
      let same = held !== undefined;
      for (let c = 0; c < arity; c++) {
        let v = cols[c][i];
        if (v === UNCHANGED_VALUE) {
          if (held === undefined) throw this.unchangedWithoutRow(c);
          v = held[c];
        }
        row.push(v);
        if (same && !sameValue(v, held![c])) same = false;
      }
      if (same) continue;
      rows.put(key, hash, row);
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

  private truncate(tables: readonly string[]): void | Promise<void> {
    const tc = this.config.tableColumn;
    const keys = this.config.keys;
    const scratch = this.keyScratch;
    const scanned = this.rows.forEach((row, key) => {
      if (tc >= 0 && !tables.includes(row[tc] as string)) return;
      // The key's hash, as the exchange computed it from the row's key columns.
      for (let k = 0; k < keys.length; k++) scratch[keys[k]][0] = row[keys[k]];
      this.rows.delete(key, hashRow(scratch, 0, keys));
      this.emitRow(RowKind.DELETE, row);
      if (this.builder.size >= 4096) this.output.emit(this.builder.take()!);
    });
    if (scanned instanceof Promise) return scanned.then(() => this.emitRest());
    this.emitRest();
  }

  private emitRest(): void {
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
    return { state: serializeState({ v: 2, names: this.names } satisfies StateV2) };
  }

  /** A checkpoint of an earlier version: its rows routed to this subtask go into the state. */
  private restore(s: StateV1, subtask: number, parallelism: number): void {
    const cols = s.columns.map((c) => unpackColumn(c, s.n));
    const from = this.columnsFrom(s.names);
    const keyCols = this.keyScratch;
    for (let i = 0; i < s.n; i++) {
      if (subtaskOfHash(s.hashes[i], parallelism) !== subtask) continue;
      const row: unknown[] = new Array(this.arity);
      for (let c = 0; c < this.arity; c++) row[c] = keyCols[c][0] = from[c] < 0 ? null : cols[from[c]][i];
      this.rows.put(rowMapKey(keyCols, 0, this.config.keys), s.hashes[i], row);
    }
  }

  /** Number of held rows (tests, metrics). */
  get size(): number {
    return this.rows.size;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
