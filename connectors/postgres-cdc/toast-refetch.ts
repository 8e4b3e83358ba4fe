/**
 * An update that moved a row to a new key and left TOASTed columns unchanged (REPLICA IDENTITY
 * DEFAULT) carries neither their values nor a before-image: read them from the table. A later
 * change to those columns comes after this one in the stream, so the result converges to the
 * table's; a row already gone keeps NULL until its delete arrives.
 */
import type pg from 'pg';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { ColumnOrigin } from '../common/columns.js';
import type { CdcConfig } from './cdc-options.js';
import type { RelationMap, RowEmitter } from './cdc-rows.js';
import { cdcError, quoteIdent } from './cdc-setup.js';
import type { KeyText } from './snapshot-chunks.js';

interface Refetch {
  readonly row: number;
  readonly map: RelationMap;
  readonly key: KeyText;
  readonly columns: number[];
}

export class ToastRefetch {
  /** Rows of the batch being built whose unchanged TOASTed values must be read from the table. */
  private pending: Refetch[] = [];

  constructor(
    private readonly config: CdcConfig,
    private readonly columns: readonly ColumnOrigin[],
    private readonly rows: RowEmitter,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  /** Output columns `columns` of row `row` of the batch being built are to be read by `key`. */
  add(row: number, map: RelationMap, key: KeyText, columns: number[]): void {
    this.pending.push({ row, map, key, columns });
  }

  /** Fills the pending rows of `batch` (the batch they were added to). */
  async fill(batch: ChangeBatch, client: pg.Client): Promise<void> {
    const fetches = this.pending;
    this.pending = [];
    for (const f of fetches) {
      const t = f.map.table;
      const cols = f.columns.map((c) => this.columns[c].field.name);
      const where = t.primaryKey.map((k, i) => `${quoteIdent(k)} = $${i + 1}`).join(' AND ');
      let row: (string | null)[] | undefined;
      try {
        row = (
          await client.query({
            text: `SELECT ${cols.map((c) => `${quoteIdent(c)}::text`).join(', ')} FROM ${t.qualified} WHERE ${where}`,
            values: [...f.key],
            rowMode: 'array',
          })
        ).rows[0];
      } catch (e) {
        throw cdcError(this.config, e, `reading unchanged TOASTed values of ${t.qualified}`);
      }
      f.columns.forEach((c, j) => {
        batch.columns[c][f.row] = row === undefined ? null : this.rows.convert(c, row[j], f.map);
      });
    }
  }
}
