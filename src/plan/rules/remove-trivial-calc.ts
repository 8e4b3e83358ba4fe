/**
 * A calc without filter that passes its input through unchanged is dropped. When it only renames
 * columns, the names move into the input (an aggregate or a calc, whose names nobody reads from
 * outside); a scan keeps such a calc, since the connector reads columns by the table's names.
 * A global aggregate that reads no column skips a calc that projects nothing.
 */
import type { BoundExpr } from '../../expr/bound.js';
import type { Schema } from '../../model/types.js';
import { aggregateNode, renameNode } from '../logical-nodes.js';
import type { LogicalNode } from '../logical.js';

/** `$0..$n-1` of an n-column input, with the input's exact types. */
export function isIdentityOver(projections: readonly BoundExpr[], input: Schema): boolean {
  if (projections.length !== input.fields.length) return false;
  return projections.every((p, i) => {
    if (p.kind !== 'input' || p.index !== i) return false;
    const t = input.fields[i].type;
    return p.type.kind === t.kind && p.type.nullable === t.nullable && p.type.precision === t.precision && p.type.scale === t.scale;
  });
}

export function removeTrivialCalc(node: LogicalNode): LogicalNode {
  // COUNT(*) without GROUP BY reads no column: its input calc would make zero-column batches.
  if (node.kind === 'aggregate' && node.groupKeys.length === 0 && node.aggs.every((a) => a.args.length === 0 && !a.filter)) {
    const input = node.input;
    if (input.kind === 'calc' && !input.filter && input.projections.length === 0) {
      return aggregateNode(
        input.input,
        [],
        node.aggs,
        node.schema.fields.map((f) => f.name),
        node.origin,
      );
    }
    return node;
  }
  if (node.kind !== 'calc' || node.filter || !isIdentityOver(node.projections, node.input.schema)) return node;
  const names = node.schema.fields.map((f) => f.name);
  const input = node.input;
  if (input.schema.fields.every((f, i) => f.name === names[i])) return input;
  if (input.kind === 'aggregate' || input.kind === 'calc' || input.kind === 'values') return renameNode(input, names);
  return node;
}
