/** One-line descriptions of logical nodes for EXPLAIN (and, with the schema, for uids). */
import type { AggCall, AggregateNode, CalcNode, UnionNode } from './logical.js';
import { formatBound } from './bound-util.js';

export function describeCalc(node: CalcNode): string {
  const inNames = node.input.schema.fields.map((f) => f.name);
  const items = node.projections.map((p, i) => {
    const text = formatBound(p, inNames);
    const name = node.schema.fields[i].name;
    return text === name ? text : `${text} AS ${name}`;
  });
  const parts = [`select=[${items.join(', ')}]`];
  if (node.filter) parts.push(`where=[${formatBound(node.filter, inNames)}]`);
  return parts.join(', ');
}

export function describeAggCall(a: AggCall, inputNames: readonly string[]): string {
  const args = a.star ? '*' : a.args.map((e) => formatBound(e, inputNames)).join(', ');
  const filter = a.filter ? ` FILTER (WHERE ${formatBound(a.filter, inputNames)})` : '';
  return `${a.name}(${a.distinct ? 'DISTINCT ' : ''}${args})${filter}`;
}

export function describeAggregate(node: AggregateNode): string {
  const inNames = node.input.schema.fields.map((f) => f.name);
  const parts: string[] = [];
  if (node.groupKeys.length > 0) parts.push(`groupBy=[${node.groupKeys.map((k) => inNames[k]).join(', ')}]`);
  if (node.aggs.length > 0) parts.push(`aggs=[${node.aggs.map((a) => describeAggCall(a, inNames)).join(', ')}]`);
  return parts.join(', ');
}

export function describeUnion(node: UnionNode): string {
  return `all=[true], union=[${node.schema.fields.map((f) => f.name).join(', ')}]`;
}
