/**
 * The logical plan: a tree of frozen, `kind`-tagged nodes produced by the binder and rewritten by
 * the rules in ./rules. Every node knows its output schema, whether it may emit retractions
 * (changelog mode) and, where known, a unique key of its output (an upsert key).
 *
 * Nodes are built only through the constructors below, which derive schema, changelog mode and
 * unique key from the inputs, so a rewrite cannot forget to recompute them.
 */
import type { TableDef } from '../catalog/table.js';
import type { BoundExpr } from '../expr/bound.js';
import { type Field, type Schema, type SqlType } from '../expr/types.js';
import { internalError, unreachable } from '../errors.js';
import type { Pos } from '../sql/ir.js';

export type ChangelogMode = 'insert-only' | 'updating';

interface NodeBase {
  readonly schema: Schema;
  /** 'updating' when the node may emit -U/+U/-D rows. */
  readonly changelogMode: ChangelogMode;
  /** Output column indexes that identify a row (at most one live row per key), when known. */
  readonly uniqueKey?: readonly number[];
}

/** Reads a table. `columns` index `table.schema`, in table order; none of them is computed. */
export interface ScanNode extends NodeBase {
  readonly kind: 'scan';
  readonly table: TableDef;
  readonly columns: readonly number[];
  /** Where the table was named in the query, for connector errors. */
  readonly pos: Pos;
}

/** Projection plus an optional filter (evaluated first). Expressions index the input's columns. */
export interface CalcNode extends NodeBase {
  readonly kind: 'calc';
  readonly input: LogicalNode;
  readonly projections: readonly BoundExpr[];
  readonly filter?: BoundExpr;
}

/** One aggregate call; `args` and `filter` are evaluated on the aggregate's input rows. */
export interface AggCall {
  /** Upper-case function name: COUNT, SUM, MIN, ... */
  readonly name: string;
  readonly distinct: boolean;
  readonly star: boolean;
  readonly args: readonly BoundExpr[];
  /** FILTER (WHERE ...): only rows where it is TRUE are accumulated. */
  readonly filter?: BoundExpr;
  readonly resultType: SqlType;
  readonly pos: Pos;
}

/**
 * Group aggregation (Flink's GroupAggregate): output is the group columns then one column per
 * aggregate call. Always updating: a group's result changes as rows arrive.
 */
export interface AggregateNode extends NodeBase {
  readonly kind: 'aggregate';
  readonly input: LogicalNode;
  readonly groupKeys: readonly number[];
  readonly aggs: readonly AggCall[];
  /** What the user wrote that made this aggregate, for error messages: 'GROUP BY', 'DISTINCT', ... */
  readonly origin: string;
}

/** UNION ALL of inputs with identical column types. */
export interface UnionNode extends NodeBase {
  readonly kind: 'union';
  readonly inputs: readonly LogicalNode[];
}

/** Constant rows (SELECT without FROM reads one row of no columns). Bounded. */
export interface ValuesNode extends NodeBase {
  readonly kind: 'values';
  readonly rows: readonly (readonly unknown[])[];
}

export type LogicalNode = ScanNode | CalcNode | AggregateNode | UnionNode | ValuesNode;

function freezeSchema(fields: readonly Field[]): Schema {
  return Object.freeze({ fields: Object.freeze(fields.map((f) => Object.freeze({ name: f.name, type: f.type }))) });
}

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
  const fields: Field[] = [];
  groupKeys.forEach((k, i) => fields.push({ name: names[i], type: input.schema.fields[k].type }));
  aggs.forEach((a, j) => fields.push({ name: names[groupKeys.length + j], type: a.resultType }));
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
      return valuesNode(node.rows, node.schema.fields.map((f, i) => ({ name: names[i], type: f.type })));
    case 'scan':
      // A scan's names are the table's column names, which the connector reads by name.
      throw internalError('a scan cannot be renamed');
    default:
      return unreachable(node);
  }
}

/** Children of a node, in input order. */
export function nodeInputs(node: LogicalNode): readonly LogicalNode[] {
  switch (node.kind) {
    case 'scan':
    case 'values':
      return [];
    case 'calc':
    case 'aggregate':
      return [node.input];
    case 'union':
      return node.inputs;
    default:
      return unreachable(node);
  }
}
