/**
 * Fitting a query to the sink table it is inserted into: the columns a sink writes, its key, and
 * per sink column the query column (by the INSERT's column list or by position) cast implicitly
 * to the column's type, or NULL when the column list leaves it out.
 */
import type { TableDef } from '../catalog/table.js';
import { implicitCast } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { sameType } from '../expr/type-rules.js';
import { isWeirError, userError } from '../errors.js';
import { formatType, type Schema } from '../model/types.js';
import type { InsertStatement, Pos } from '../sql/ir.js';
import { inputRef, nullLiteral } from './bound-util.js';

export interface SinkColumns {
  /** The rows the sink receives: the table's physical and persisted metadata columns. */
  readonly sinkSchema: Schema;
  /** Indexes of the table's primary key columns in sinkSchema. */
  readonly primaryKey: readonly number[];
}

export function sinkColumns(table: TableDef, pos: Pos): SinkColumns {
  const sinkCols = table.columns.flatMap((c, i) => (c.kind === 'physical' || (c.kind === 'metadata' && !c.virtual) ? [i] : []));
  const sinkFields = sinkCols.map((i) => table.schema.fields[i]);
  const sinkSchema: Schema = Object.freeze({ fields: Object.freeze(sinkFields) });
  const primaryKey = table.primaryKey.map((k) => sinkFields.findIndex((f) => f.name === k));
  const virtualKey = table.primaryKey.find((_, i) => primaryKey[i] < 0);
  if (virtualKey !== undefined) {
    throw userError(
      'INVALID_PRIMARY_KEY',
      `table '${table.name}' cannot be written: its PRIMARY KEY column '${virtualKey}' is a VIRTUAL metadata column, which a sink does not write; declare it without VIRTUAL or leave it out of the key`,
      {
        position: pos,
      },
    );
  }
  return { sinkSchema, primaryKey };
}

/** One expression per sink column over the query's output row. */
export function sinkProjections(insert: InsertStatement, table: TableDef, sinkSchema: Schema, querySchema: Schema): BoundExpr[] {
  const sinkFields = sinkSchema.fields;
  const qFields = querySchema.fields;

  // Sink column s takes query column source[s], or NULL when the column list leaves it out.
  const source: number[] = new Array(sinkFields.length).fill(-1);
  if (insert.columns) {
    const seen = new Set<string>();
    insert.columns.forEach((name, q) => {
      const s = sinkFields.findIndex((f) => f.name === name);
      if (s < 0) {
        const other = table.schema.fields.some((f) => f.name === name);
        throw userError(
          'UNKNOWN_INSERT_COLUMN',
          other
            ? `column '${name}' of table '${table.name}' is computed or virtual and cannot be written`
            : `column '${name}' is not a column of table '${table.name}'; columns: ${sinkFields.map((f) => f.name).join(', ')}`,
          { position: insert.pos },
        );
      }
      if (seen.has(name)) throw userError('DUPLICATE_INSERT_COLUMN', `column '${name}' is listed twice in INSERT INTO ${table.name}`, { position: insert.pos });
      seen.add(name);
      source[s] = q;
    });
    if (qFields.length !== insert.columns.length) {
      throw userError(
        'INSERT_COLUMN_COUNT',
        `INSERT INTO ${table.name} lists ${insert.columns.length} columns but the query produces ${qFields.length} columns`,
        { position: insert.pos },
      );
    }
  } else {
    if (qFields.length !== sinkFields.length) {
      throw userError(
        'INSERT_COLUMN_COUNT',
        `table '${table.name}' has ${sinkFields.length} columns (${sinkFields.map((f) => f.name).join(', ')}) but the query produces ${qFields.length} columns`,
        { position: insert.pos },
      );
    }
    for (let s = 0; s < sinkFields.length; s++) source[s] = s;
  }

  return sinkFields.map((f, s) => {
    const q = source[s];
    if (q < 0) {
      if (!f.type.nullable) {
        throw userError(
          'MISSING_NOT_NULL_COLUMN',
          `column '${f.name}' of table '${table.name}' is NOT NULL but the INSERT column list does not give it a value`,
          {
            position: insert.pos,
          },
        );
      }
      return nullLiteral(f.type);
    }
    const ref = inputRef(q, qFields[q].type);
    if (sameType(ref.type, f.type)) return ref;
    try {
      return implicitCast(ref, f.type, insert.pos);
    } catch (e) {
      if (!isWeirError(e) || e.domain !== 'user') throw e;
      throw userError(
        'INSERT_TYPE_MISMATCH',
        `column '${f.name}' of table '${table.name}' has type ${formatType(f.type)}, but the query gives it column ${q + 1} ('${qFields[q].name}') of type ${formatType(qFields[q].type)}, which does not convert implicitly; use CAST`,
        { position: insert.pos, cause: e },
      );
    }
  });
}
