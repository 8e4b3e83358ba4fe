/**
 * Calc(Calc(x)) -> Calc(x): the outer projections and filter are rewritten over the inner
 * projections, and the filters are ANDed (inner first). One calc means one generated function per
 * batch instead of two, and lets projection pushdown see through subqueries and views.
 */
import { andExpr, substituteInputs } from '../bound-util.js';
import { calcNode } from '../logical-nodes.js';
import type { LogicalNode } from '../logical.js';

export function mergeCalcs(node: LogicalNode): LogicalNode {
  if (node.kind !== 'calc' || node.input.kind !== 'calc') return node;
  const inner = node.input;
  const projections = node.projections.map((p) => substituteInputs(p, inner.projections));
  const outerFilter = node.filter ? substituteInputs(node.filter, inner.projections) : undefined;
  return calcNode(
    inner.input,
    projections,
    node.schema.fields.map((f) => f.name),
    andExpr(inner.filter, outerFilter),
  );
}
