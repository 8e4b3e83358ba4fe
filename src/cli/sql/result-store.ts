/**
 * The materialized result of a SELECT for the `table` result mode (as Flink's
 * MaterializedCollectStreamResult): +I/+U append a row, -U/-D remove an equal row. A -U followed
 * by its +U puts the new row where the old one was, so an aggregate's value changes in place.
 */
import { isAccumulate, RowKind, type ChangeBatch } from '../../model/changelog.js';

/** Rows kept at most; the oldest are dropped beyond it (Flink's max-table-result.rows). */
export const DEFAULT_MAX_ROWS = 100_000;

/** A stable text key of a row's values (bigint and bytes included) for finding equal rows. */
function rowKey(row: readonly unknown[]): string {
  let k = '';
  for (const v of row) {
    if (v === null || v === undefined) k += '\u0000n';
    else if (typeof v === 'bigint') k += `\u0000b${v}`;
    else if (v instanceof Uint8Array) k += `\u0000x${Buffer.from(v).toString('hex')}`;
    else k += `\u0000${typeof v === 'string' ? 's' : 'v'}${String(v)}`;
  }
  return k;
}

export class ResultStore {
  readonly rows: unknown[][] = [];
  private readonly keys: string[] = [];
  /** Where the last -U removed its row, for the +U that follows. */
  private pendingSlot: number | undefined;
  /** Changes received (every row of every batch). */
  changes = 0;
  /** Bumped on every change, so a view redraws only when something changed. */
  version = 0;

  constructor(
    private readonly arity: number,
    private readonly maxRows = DEFAULT_MAX_ROWS,
  ) {}

  apply(batch: ChangeBatch): void {
    const row: unknown[] = new Array(this.arity);
    for (let i = 0; i < batch.size; i++) {
      for (let c = 0; c < this.arity; c++) row[c] = batch.columns[c][i];
      const kind = batch.kinds[i];
      if (isAccumulate(kind)) this.add(row.slice(), kind === RowKind.UPDATE_AFTER);
      else this.remove(rowKey(row), kind === RowKind.UPDATE_BEFORE);
    }
    this.changes += batch.size;
    this.version++;
  }

  private add(row: unknown[], afterUpdate: boolean): void {
    const slot = afterUpdate ? this.pendingSlot : undefined;
    this.pendingSlot = undefined;
    if (slot !== undefined && slot <= this.rows.length) {
      this.rows.splice(slot, 0, row);
      this.keys.splice(slot, 0, rowKey(row));
    } else {
      this.rows.push(row);
      this.keys.push(rowKey(row));
    }
    if (this.rows.length > this.maxRows) {
      this.rows.shift();
      this.keys.shift();
    }
  }

  private remove(key: string, beforeUpdate: boolean): void {
    this.pendingSlot = undefined;
    const at = this.keys.lastIndexOf(key);
    if (at < 0) return;
    this.rows.splice(at, 1);
    this.keys.splice(at, 1);
    if (beforeUpdate) this.pendingSlot = at;
  }
}
