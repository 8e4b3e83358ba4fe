import type { TableDef } from '../catalog/table.js';
import type { BoundExpr } from '../expr/bound.js';
import type { Field } from '../model/types.js';
import { internalError, unreachable } from '../errors.js';
import type { Pos } from '../sql/ir.js';
import type { AggCall, AggregateNode, CalcNode, ChangelogMode, LogicalNode, ScanNode, UnionNode, ValuesNode } from './logical.js';
import { freezeSchema, plainType } from './logical-schema.js';
import { windowAggregateNode } from './logical-window.js';

export function scanNode(table: TableDef, columns: readonly number[], changelogMode: ChangelogMode, pos: Pos): ScanNode {
  const fields = columns.map((c) => {
    const f = table.schema.fields[c];
    if (!f) throw internalError(`scan of '${table.name}' reads column ${c}, which does not exist`);
    return f;
  });
  const pkIdx = table.primaryKey.map((name) => columns.findIndex((c) => table.schema.fields[c].name === name));
  const uniqueKey = table.primaryKey.length > 0 && pkIdx.every((i) => i >= 0) ? pkIdx : undefined;
  return Object.freeze({
    kind: 'scan',
    table,
    columns: Object.freeze([...columns]),
    pos,
    schema: freezeSchema(fields),
    changelogMode,
    ...(uniqueKey ? { uniqueKey: Object.freeze(uniqueKey) } : {}),
  });
}

export function calcNode(input: LogicalNode, projections: readonly BoundExpr[], names: readonly string[], filter?: BoundExpr): CalcNode {
  if (names.length !== projections.length) throw internalError('calc: names and projections differ in length');
  const fields = projections.map((p, i) => ({ name: names[i], type: p.type }));
  let uniqueKey: number[] | undefined;
  if (input.uniqueKey) {
    const mapped = input.uniqueKey.map((k) => projections.findIndex((p) => p.kind === 'input' && p.index === k));
    if (mapped.every((i) => i >= 0)) uniqueKey = mapped;
  }
  return Object.freeze({
    kind: 'calc',
    input,
    projections: Object.freeze([...projections]),
    ...(filter ? { filter } : {}),
    schema: freezeSchema(fields),
    changelogMode: input.changelogMode,
    ...(uniqueKey ? { uniqueKey: Object.freeze(uniqueKey) } : {}),
  });
}

export function aggregateNode(
  input: LogicalNode,
  groupKeys: readonly number[],
  aggs: readonly AggCall[],
  names: readonly string[],
  origin: string,
): AggregateNode {
  if (names.length !== groupKeys.length + aggs.length) throw internalError('aggregate: wrong number of output names');
  // A regular aggregate's columns are not time attributes (Flink materializes them).
  const fields: Field[] = [];
  groupKeys.forEach((k, i) => fields.push({ name: names[i], type: plainType(input.schema.fields[k].type) }));
  aggs.forEach((a, j) => fields.push({ name: names[groupKeys.length + j], type: plainType(a.resultType) }));
  return Object.freeze({
    kind: 'aggregate',
    input,
    groupKeys: Object.freeze([...groupKeys]),
    aggs: Object.freeze(aggs.map((a) => Object.freeze({ ...a, args: Object.freeze([...a.args]) }))),
    origin,
    schema: freezeSchema(fields),
    changelogMode: 'updating',
    uniqueKey: Object.freeze(groupKeys.map((_, i) => i)),
  });
}

export function unionNode(inputs: readonly LogicalNode[]): UnionNode {
  if (inputs.length === 0) throw internalError('union without inputs');
  const arity = inputs[0].schema.fields.length;
  for (const i of inputs) if (i.schema.fields.length !== arity) throw internalError('union inputs differ in arity');
  return Object.freeze({
    kind: 'union',
    inputs: Object.freeze([...inputs]),
    schema: inputs[0].schema,
    changelogMode: inputs.some((i) => i.changelogMode === 'updating') ? 'updating' : 'insert-only',
  });
}

export function valuesNode(rows: readonly (readonly unknown[])[], fields: readonly Field[]): ValuesNode {
  return Object.freeze({
    kind: 'values',
    rows: Object.freeze(rows.map((r) => Object.freeze([...r]))),
    schema: freezeSchema(fields),
    changelogMode: 'insert-only',
  });
}

/** The same node with other output names (only for nodes whose names are not read from outside). */
export function renameNode(node: LogicalNode, names: readonly string[]): LogicalNode {
  switch (node.kind) {
    case 'calc':
      return calcNode(node.input, node.projections, names, node.filter);
    case 'aggregate':
      return aggregateNode(node.input, node.groupKeys, node.aggs, names, node.origin);
    case 'union':
      return unionNode([renameNode(node.inputs[0], names), ...node.inputs.slice(1)]);
    case 'values':
      return valuesNode(
        node.rows,
        node.schema.fields.map((f, i) => ({ name: names[i], type: f.type })),
      );
    case 'window-aggregate':
      return windowAggregateNode(node.input, node.timeCol, node.window, node.groups, node.aggs, names, node.origin);
    case 'join':
    case 'rank':
    case 'scan':
    case 'window-tvf':
      // A scan's names are the table's column names, which the connector reads by name.
      throw internalError(`a ${node.kind} cannot be renamed`);
    default:
      return unreachable(node);
  }
}
