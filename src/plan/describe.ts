/** One-line descriptions of logical nodes for EXPLAIN (and, with the schema, for uids). */
import type { AggCall, AggregateNode, CalcNode, JoinNode, RankNode, UnionNode, WindowAggregateNode, WindowSpec, WindowTvfNode } from './logical.js';
import { formatBound } from './bound-util.js';
import { unreachable } from '../errors.js';

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

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** `TUMBLE(time_col=[ts], size=[1 min])`, as Flink's plans print windows. */
export function describeWindow(w: WindowSpec, timeCol: string): string {
  switch (w.kind) {
    case 'TUMBLE':
      return `TUMBLE(time_col=[${timeCol}], size=[${duration(w.size)}])`;
    case 'HOP':
      return `HOP(time_col=[${timeCol}], size=[${duration(w.size)}], slide=[${duration(w.slide)}])`;
    case 'CUMULATE':
      return `CUMULATE(time_col=[${timeCol}], max_size=[${duration(w.size)}], step=[${duration(w.slide)}])`;
    case 'SESSION':
      return `SESSION(time_col=[${timeCol}], gap=[${duration(w.size)}])`;
    default:
      return unreachable(w.kind);
  }
}

export function describeWindowTvf(node: WindowTvfNode): string {
  const names = node.input.schema.fields.map((f) => f.name);
  const partition = node.window.partitionKeys?.length ? `, partitionBy=[${node.window.partitionKeys.map((i) => names[i]).join(', ')}]` : '';
  return `window=[${describeWindow(node.window, names[node.timeCol]!)}]${partition}`;
}

export function describeWindowAggregate(node: WindowAggregateNode): string {
  const inNames = node.input.schema.fields.map((f) => f.name);
  const parts = [`window=[${describeWindow(node.window, inNames[node.timeCol]!)}]`];
  const keys = node.groups.flatMap((g) => (g.kind === 'key' ? [inNames[g.index]] : []));
  if (keys.length > 0) parts.push(`groupBy=[${keys.join(', ')}]`);
  if (node.aggs.length > 0) parts.push(`aggs=[${node.aggs.map((a) => describeAggCall(a, inNames)).join(', ')}]`);
  parts.push(`properties=[${node.groups.flatMap((g) => (g.kind === 'key' ? [] : [g.kind])).join(', ')}]`);
  return parts.join(', ');
}

const JOIN_NAMES = { inner: 'InnerJoin', left: 'LeftOuterJoin', right: 'RightOuterJoin', full: 'FullOuterJoin' } as const;

/** `joinType=[InnerJoin], where=[(seller = id)], select=[...]`, as Flink's plans print joins. */
export function describeJoin(node: JoinNode): string {
  const names = node.schema.fields.map((f) => f.name);
  const n = node.left.schema.fields.length;
  const conds = node.leftKeys.map((l, i) => `(${names[l]} = ${names[n + node.rightKeys[i]!]})`);
  if (node.residual) conds.push(formatBound(node.residual, names));
  const parts = [`joinType=[${JOIN_NAMES[node.joinType]}]`, `where=[${conds.join(' AND ')}]`];
  if (node.interval) {
    const iv = node.interval;
    parts.push(`interval=[${names[iv.leftTime]} - ${names[n + iv.rightTime]} BETWEEN ${iv.lower} ms AND ${iv.upper} ms]`);
  }
  if (node.window) parts.push(`windowEnd=[${names[node.window.leftEnd]}, ${names[n + node.window.rightEnd]}]`);
  parts.push(`select=[${names.join(', ')}]`);
  return parts.join(', ');
}

/** `partitionBy=[a], orderBy=[ts DESC], rankRange=[1..3], select=[...]`. */
export function describeRank(node: RankNode): string {
  const inNames = node.input.schema.fields.map((f) => f.name);
  const order = node.orderKeys.map((o) => `${inNames[o.index]} ${o.descending ? 'DESC' : 'ASC'}`);
  const parts = [
    `rankType=[ROW_NUMBER]`,
    `partitionBy=[${node.partitionKeys.map((k) => inNames[k]).join(', ')}]`,
    `orderBy=[${order.join(', ')}]`,
    `rankRange=[1..${node.limit ?? '?'}]`,
  ];
  if (node.windowEnd !== undefined) parts.push(`windowEnd=[${inNames[node.windowEnd]}]`);
  else if (!node.outputRank) parts.push('rankNumber=[dropped]');
  return parts.join(', ');
}
