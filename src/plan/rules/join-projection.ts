/**
 * Projection through joins: Calc(Join(l, r)) reads only some of the join's columns, so each side
 * is projected to the columns the calc, the join keys, the residual condition and the interval
 * bounds use. Joins keep whole rows in state: fewer columns is less state and less to compare.
 * The projections over scans then reach the connector (projection pushdown).
 */
import type { BoundExpr } from '../../expr/bound.js';
import { collectInputs, inputRef, remapInputs } from '../bound-util.js';
import { calcNode } from '../logical-nodes.js';
import { joinNode } from '../logical-join.js';
import type { LogicalNode } from '../logical.js';

function project(node: LogicalNode, kept: readonly number[]): LogicalNode {
  if (kept.length === node.schema.fields.length) return node;
  return calcNode(
    node,
    kept.map((i) => inputRef(i, node.schema.fields[i]!.type)),
    kept.map((i) => node.schema.fields[i]!.name),
  );
}

export function pushProjectionThroughJoin(node: LogicalNode): LogicalNode {
  if (node.kind !== 'calc' || node.input.kind !== 'join') return node;
  const join = node.input;
  const lw = join.left.schema.fields.length;
  const width = join.schema.fields.length;
  const used = new Set<number>();
  const add = (e: BoundExpr | undefined): void => {
    if (e) collectInputs(e, used);
  };
  node.projections.forEach(add);
  add(node.filter);
  add(join.residual);
  join.leftKeys.forEach((k) => used.add(k));
  join.rightKeys.forEach((k) => used.add(lw + k));
  if (join.interval) {
    used.add(join.interval.leftTime);
    used.add(lw + join.interval.rightTime);
  }
  if (used.size === width) return node;
  const kept = [...used].sort((a, b) => a - b);
  const keptL = kept.filter((i) => i < lw);
  const keptR = kept.filter((i) => i >= lw).map((i) => i - lw);
  const mapping: number[] = new Array(width).fill(-1);
  kept.forEach((old, i) => (mapping[old] = i));
  const mapL: number[] = new Array(lw).fill(-1);
  keptL.forEach((old, i) => (mapL[old] = i));
  const mapR: number[] = new Array(width - lw).fill(-1);
  keptR.forEach((old, i) => (mapR[old] = i));
  const iv = join.interval;
  const newJoin = joinNode(
    join.joinType,
    project(join.left, keptL),
    project(join.right, keptR),
    join.leftKeys.map((k) => mapL[k]!),
    join.rightKeys.map((k) => mapR[k]!),
    join.residual ? remapInputs(join.residual, mapping) : undefined,
    iv ? { ...iv, leftTime: mapL[iv.leftTime]!, rightTime: mapR[iv.rightTime]! } : undefined,
  );
  return calcNode(
    newJoin,
    node.projections.map((p) => remapInputs(p, mapping)),
    node.schema.fields.map((f) => f.name),
    node.filter ? remapInputs(node.filter, mapping) : undefined,
  );
}
