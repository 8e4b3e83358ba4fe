import type { TableDef } from '../../src/catalog/table.js';
import type { Field, Schema } from '../../src/model/types.js';
import { internalError, userError } from '../../src/errors.js';

/** Where a requested column comes from: a physical column (by its index among them) or metadata. */
export type ColumnOrigin =
  | { readonly kind: 'physical'; readonly index: number; readonly field: Field }
  | { readonly kind: 'metadata'; readonly key: string; readonly field: Field };

/** The table's physical columns in declaration order (what a file row / generated row holds). */
export function physicalFields(table: TableDef): Field[] {
  const byName = new Map(table.schema.fields.map((f) => [f.name, f]));
  const out: Field[] = [];
  for (const c of table.columns) {
    if (c.kind !== 'physical') continue;
    const f = byName.get(c.name);
    if (f) out.push(f);
  }
  return out;
}

/**
 * Maps the schema the planner asks a source for (a projection of the table's physical and
 * metadata columns) onto the table, by name. Unknown metadata keys are user errors naming the
 * keys the connector offers.
 */
export function resolveColumns(table: TableDef, schema: Schema, connector: string, metadataKeys: readonly string[]): ColumnOrigin[] {
  const physical = physicalFields(table);
  const physIndex = new Map(physical.map((f, i) => [f.name, i]));
  const colByName = new Map(table.columns.map((c) => [c.name, c]));
  return schema.fields.map((field): ColumnOrigin => {
    const col = colByName.get(field.name);
    if (col?.kind === 'metadata') {
      if (!metadataKeys.includes(col.key)) {
        const offered = metadataKeys.length ? `available: ${metadataKeys.join(', ')}` : 'it offers none';
        throw userError(
          'UNKNOWN_METADATA',
          `table '${table.name}': connector '${connector}' has no metadata key '${col.key}' (column '${field.name}'); ${offered}`,
          {
            position: table.pos,
            details: { table: table.name, column: field.name },
          },
        );
      }
      return { kind: 'metadata', key: col.key, field };
    }
    const index = physIndex.get(field.name);
    if (index === undefined) {
      throw internalError(`table '${table.name}': requested column '${field.name}' is not a physical or metadata column`);
    }
    return { kind: 'physical', index, field };
  });
}
