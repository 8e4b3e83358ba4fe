/**
 * Computed columns (`c AS expr` in CREATE TABLE) are not read from the connector: a table scan
 * becomes a scan of the physical and metadata columns followed by a calc that evaluates the
 * computed ones, keeping the table's column order.
 */
import type { TableDef } from '../../catalog/table.js';
import { bindExpr } from '../../expr/bind.js';
import type { BoundExpr } from '../../expr/bound.js';
import type { Pos } from '../../sql/ir.js';
import { inputRef } from '../bound-util.js';
import { calcNode, scanNode } from '../logical-nodes.js';
import type { ChangelogMode, LogicalNode } from '../logical.js';
import { RelationScope } from '../scope.js';

/** Indexes (into table.schema) of the columns the connector produces: all but computed ones. */
export function storedColumns(table: TableDef): number[] {
  const out: number[] = [];
  table.columns.forEach((c, i) => {
    if (c.kind !== 'computed') out.push(i);
  });
  return out;
}

/** Binds the computed columns' expressions against the stored columns, in table order. */
export function bindComputedColumns(table: TableDef): Map<number, BoundExpr> {
  const stored = storedColumns(table);
  const scope = new RelationScope([{ name: table.name, fields: stored.map((i) => table.schema.fields[i]), offset: 0 }]);
  const out = new Map<number, BoundExpr>();
  table.columns.forEach((c, i) => {
    if (c.kind === 'computed') out.set(i, bindExpr(c.expr, { scope }));
  });
  return out;
}

/** The logical plan reading every column of `table` (computed ones evaluated after the scan). */
export function tableScan(table: TableDef, mode: ChangelogMode, pos: Pos): LogicalNode {
  const stored = storedColumns(table);
  const scan = scanNode(table, stored, mode, pos);
  if (stored.length === table.columns.length) return scan;
  const computed = bindComputedColumns(table);
  const projections = table.columns.map((_, i) => {
    const c = computed.get(i);
    if (!c) return inputRef(stored.indexOf(i), table.schema.fields[i].type);
    // A computed rowtime / proctime column keeps its time attribute (the catalog marked its type).
    const t = table.schema.fields[i].type;
    return t.timeAttribute !== undefined ? { ...c, type: t } : c;
  });
  return calcNode(
    scan,
    projections,
    table.schema.fields.map((f) => f.name),
  );
}
