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
import type { Field, Schema, SqlType } from '../model/types.js';
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

/**
 * An event-time window over a time attribute, sizes in milliseconds. TUMBLE: slide = size. HOP:
 * windows of `size` every `slide`. CUMULATE: windows [start, start + k * slide) for k = 1 ..
 * size / slide, starting every `size`. Sizes are multiples of the slide (checked when binding).
 * SESSION: per key, rows closer than the gap form one window [first row, last row + gap).
 */
export interface WindowSpec {
  readonly kind: 'TUMBLE' | 'HOP' | 'CUMULATE' | 'SESSION';
  /** SESSION: the gap. */
  readonly size: number;
  /** SESSION: the gap too. */
  readonly slide: number;
  /**
   * SESSION window TVF only: the input columns of `PARTITION BY` (sessions are per key). A window
   * aggregate's spec never has it: its key columns are the session key.
   */
  readonly partitionKeys?: readonly number[];
}

/**
 * A window TVF on its own (`SELECT * FROM TABLE(TUMBLE(...))`): the input columns (the time
 * column no longer a time attribute) then window_start, window_end, window_time (rowtime).
 */
export interface WindowTvfNode extends NodeBase {
  readonly kind: 'window-tvf';
  readonly input: LogicalNode;
  /** Input column of the rowtime attribute. */
  readonly timeCol: number;
  readonly window: WindowSpec;
  /** The TVF call in the SQL, for errors found later in planning. */
  readonly pos?: Pos;
}

/** A group column of a window aggregate: an input column, or a property of the window. */
export type WindowGroup =
  | { readonly kind: 'key'; readonly index: number }
  | { readonly kind: 'window_start' }
  | { readonly kind: 'window_end' }
  | { readonly kind: 'window_time' };

/**
 * Window aggregation (Flink's WindowAggregate): rows are assigned to windows by their time column
 * and aggregated per (key, window); each window's rows are emitted once, when the watermark passes
 * its end. Output: the group columns in GROUP BY order, then one column per aggregate call.
 * Insert-only.
 */
export interface WindowAggregateNode extends NodeBase {
  readonly kind: 'window-aggregate';
  readonly input: LogicalNode;
  readonly timeCol: number;
  readonly window: WindowSpec;
  readonly groups: readonly WindowGroup[];
  readonly aggs: readonly AggCall[];
  readonly origin: string;
}

export type JoinType = 'inner' | 'left' | 'right' | 'full';

/**
 * The time bounds of an interval join: a row pair matches when
 * `left[leftTime] - right[rightTime]` is in [lower, upper] (milliseconds), both columns being
 * rowtime attributes of insert-only inputs.
 */
export interface IntervalBounds {
  readonly leftTime: number;
  readonly rightTime: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * A join (Flink's Join / IntervalJoin): output is the left columns then the right columns; the
 * side an outer join pads with NULLs becomes nullable. `leftKeys[i] = rightKeys[i]` are the
 * equi-join keys (the hash exchange keys of both inputs); `residual` is the rest of the condition,
 * over the output row. A regular join is updating when an input is or when it is an outer join
 * (padded rows are retracted when a match arrives); an interval join is insert-only.
 */
export interface JoinNode extends NodeBase {
  readonly kind: 'join';
  readonly joinType: JoinType;
  readonly left: LogicalNode;
  readonly right: LogicalNode;
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  readonly residual?: BoundExpr;
  readonly interval?: IntervalBounds;
  /**
   * Window join (Flink's WindowJoin): both insert-only inputs are window aggregates (or window
   * TVFs) joined on window_start = window_start and window_end = window_end (with the other
   * keys). Each window's pairs (and, for outer joins, its unmatched rows padded with NULLs) are
   * emitted once, when the watermark passes its end; the output is insert-only for every join type. The key columns of
   * window_end on each side.
   */
  readonly window?: { readonly leftEnd: number; readonly rightEnd: number };
}

/**
 * ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) filtered to the first `limit` rows (Flink's
 * Rank / Deduplicate): output is the input columns then the row number (BIGINT). `limit` is
 * undefined until the rewrite rule finds the outer `WHERE rn <= N`; planning a rank without one
 * is an error. Always updating: a later row can displace one in the top N (also for `rn = 1`
 * ordered by a time attribute ASC, as Flink's rowtime deduplication: an earlier row replaces it).
 */
export interface RankNode extends NodeBase {
  readonly kind: 'rank';
  readonly input: LogicalNode;
  readonly partitionKeys: readonly number[];
  readonly orderKeys: readonly { readonly index: number; readonly descending: boolean }[];
  readonly limit?: number;
  /** Whether the row number column is read downstream (when not, moves inside the top N emit nothing). */
  readonly outputRank: boolean;
  /**
   * Window Top-N (Flink's WindowRank): the partition key column holding window_end, set when a
   * limited rank partitions by window_start and window_end of a window aggregate (or window TVF)
   * below. Each window's top N are emitted once, when the watermark passes its end: insert-only
   * output.
   */
  readonly windowEnd?: number;
  readonly pos: Pos;
}

export type LogicalNode = ScanNode | CalcNode | AggregateNode | UnionNode | ValuesNode | WindowTvfNode | WindowAggregateNode | JoinNode | RankNode;

/** The type without a time attribute (after an aggregate, a window TVF, ...). */
export function plainType(t: SqlType): SqlType {
  if (t.timeAttribute === undefined) return t;
  const { timeAttribute: _dropped, ...rest } = t;
  return Object.freeze(rest);
}

/** The type of window_start / window_end, and of window_time (a rowtime of the time column's kind). */
function windowTypes(timeType: SqlType): { bound: SqlType; time: SqlType } {
  const bound = Object.freeze({ kind: 'TIMESTAMP' as const, nullable: false, precision: 3 });
  const time = Object.freeze({
    kind: timeType.kind === 'TIMESTAMP_LTZ' ? ('TIMESTAMP_LTZ' as const) : ('TIMESTAMP' as const),
    nullable: false,
    precision: 3,
    timeAttribute: 'rowtime' as const,
  });
  return { bound, time };
}

export function windowTvfNode(input: LogicalNode, timeCol: number, window: WindowSpec, pos?: Pos): WindowTvfNode {
  if (input.changelogMode !== 'insert-only') throw internalError('window TVF over an updating input');
  const { bound, time } = windowTypes(input.schema.fields[timeCol].type);
  const fields: Field[] = input.schema.fields.map((f) => ({ name: f.name, type: plainType(f.type) }));
  fields.push({ name: 'window_start', type: bound }, { name: 'window_end', type: bound }, { name: 'window_time', type: time });
  return Object.freeze({
    kind: 'window-tvf',
    input,
    timeCol,
    window: Object.freeze({ ...window }),
    schema: freezeSchema(fields),
    changelogMode: 'insert-only',
    ...(pos ? { pos } : {}),
  });
}

export function windowAggregateNode(
  input: LogicalNode,
  timeCol: number,
  window: WindowSpec,
  groups: readonly WindowGroup[],
  aggs: readonly AggCall[],
  names: readonly string[],
  origin: string,
): WindowAggregateNode {
  if (names.length !== groups.length + aggs.length) throw internalError('window aggregate: wrong number of output names');
  const { bound, time } = windowTypes(input.schema.fields[timeCol].type);
  const fields: Field[] = [];
  groups.forEach((g, i) => {
    let t: SqlType;
    switch (g.kind) {
      case 'key':
        t = plainType(input.schema.fields[g.index].type);
        break;
      case 'window_start':
      case 'window_end':
        t = bound;
        break;
      case 'window_time':
        t = time;
        break;
      default:
        return unreachable(g);
    }
    fields.push({ name: names[i], type: t });
  });
  aggs.forEach((a, j) => fields.push({ name: names[groups.length + j], type: plainType(a.resultType) }));
  const unique = groups.flatMap((g, i) => (g.kind === 'key' || g.kind === 'window_start' || g.kind === 'window_end' ? [i] : []));
  return Object.freeze({
    kind: 'window-aggregate',
    input,
    timeCol,
    window: Object.freeze({ ...window }),
    groups: Object.freeze(groups.map((g) => Object.freeze({ ...g }))),
    aggs: Object.freeze(aggs.map((a) => Object.freeze({ ...a, args: Object.freeze([...a.args]) }))),
    origin,
    schema: freezeSchema(fields),
    changelogMode: 'insert-only',
    uniqueKey: Object.freeze(unique),
  });
}

function freezeSchema(fields: readonly Field[]): Schema {
  return Object.freeze({ fields: Object.freeze(fields.map((f) => Object.freeze({ name: f.name, type: f.type }))) });
}

export function joinNode(
  joinType: JoinType,
  left: LogicalNode,
  right: LogicalNode,
  leftKeys: readonly number[],
  rightKeys: readonly number[],
  residual: BoundExpr | undefined,
  interval?: IntervalBounds,
): JoinNode {
  if (leftKeys.length === 0 || leftKeys.length !== rightKeys.length)
    throw internalError('join: the equi-join keys of both sides differ in number or are missing');
  const padLeft = joinType === 'right' || joinType === 'full';
  const padRight = joinType === 'left' || joinType === 'full';
  const side = (fs: readonly Field[], pad: boolean): Field[] =>
    fs.map((f) => {
      // A regular join's output is not a time attribute (Flink materializes it); an interval join keeps them.
      let t = interval ? f.type : plainType(f.type);
      if (pad && !t.nullable) t = Object.freeze({ ...t, nullable: true });
      return { name: f.name, type: t };
    });
  const fields = [...side(left.schema.fields, padLeft), ...side(right.schema.fields, padRight)];
  const window = interval ? undefined : windowJoinKeys(left, right, leftKeys, rightKeys);
  const updating = !interval && !window && (joinType !== 'inner' || left.changelogMode === 'updating' || right.changelogMode === 'updating');
  if (interval && (left.changelogMode === 'updating' || right.changelogMode === 'updating')) throw internalError('interval join over an updating input');
  return Object.freeze({
    kind: 'join',
    joinType,
    left,
    right,
    leftKeys: Object.freeze([...leftKeys]),
    rightKeys: Object.freeze([...rightKeys]),
    ...(residual ? { residual } : {}),
    ...(interval ? { interval: Object.freeze({ ...interval }) } : {}),
    ...(window ? { window: Object.freeze(window) } : {}),
    schema: freezeSchema(fields),
    changelogMode: updating ? 'updating' : 'insert-only',
  });
}

/** The window_end key columns when a join's keys pair window_start and window_end of two window aggregates. */
function windowJoinKeys(left: LogicalNode, right: LogicalNode, leftKeys: readonly number[], rightKeys: readonly number[]): JoinNode['window'] {
  if (left.changelogMode !== 'insert-only' || right.changelogMode !== 'insert-only') return undefined;
  let start = false;
  let end: { leftEnd: number; rightEnd: number } | undefined;
  leftKeys.forEach((l, i) => {
    const r = rightKeys[i]!;
    const lp = windowProperty(left, l);
    if (lp === undefined || lp !== windowProperty(right, r)) return;
    if (lp === 'window_start') start = true;
    if (lp === 'window_end') end = { leftEnd: l, rightEnd: r };
  });
  return start ? end : undefined;
}

/**
 * Which window property column `col` of `node` is (window_start, window_end or window_time of a
 * window aggregate or of a TUMBLE/HOP/CUMULATE window TVF, followed through plain column
 * references of calcs), if any.
 */
export function windowProperty(node: LogicalNode, col: number): 'window_start' | 'window_end' | 'window_time' | undefined {
  switch (node.kind) {
    case 'calc': {
      const p = node.projections[col];
      return p !== undefined && p.kind === 'input' ? windowProperty(node.input, p.index) : undefined;
    }
    case 'window-aggregate': {
      const g = node.groups[col];
      return g === undefined || g.kind === 'key' ? undefined : g.kind;
    }
    case 'window-tvf': {
      // A SESSION TVF's windows are only known once merged: it runs merged into an aggregate only.
      const n = node.input.schema.fields.length;
      if (node.window.kind === 'SESSION' || col < n) return undefined;
      return (['window_start', 'window_end', 'window_time'] as const)[col - n];
    }
    default:
      return undefined;
  }
}

export const BIGINT_NOT_NULL: SqlType = Object.freeze({ kind: 'BIGINT' as const, nullable: false });

export function rankNode(
  input: LogicalNode,
  partitionKeys: readonly number[],
  orderKeys: readonly { readonly index: number; readonly descending: boolean }[],
  limit: number | undefined,
  outputRank: boolean,
  rankName: string,
  pos: Pos,
): RankNode {
  const fields: Field[] = input.schema.fields.map((f) => ({ name: f.name, type: plainType(f.type) }));
  fields.push({ name: rankName, type: BIGINT_NOT_NULL });
  const n = input.schema.fields.length;
  // With the row number, (partition, rn) identifies a row; without it the input's key does.
  const uniqueKey = outputRank ? [...partitionKeys, n] : limit === 1 ? [...partitionKeys] : input.uniqueKey;
  const props = limit !== undefined && input.changelogMode === 'insert-only' ? partitionKeys.map((k) => windowProperty(input, k)) : [];
  const windowEnd = props.includes('window_start') ? partitionKeys[props.indexOf('window_end')] : undefined;
  return Object.freeze({
    kind: 'rank',
    input,
    partitionKeys: Object.freeze([...partitionKeys]),
    orderKeys: Object.freeze(orderKeys.map((o) => Object.freeze({ ...o }))),
    ...(limit !== undefined ? { limit } : {}),
    outputRank,
    ...(windowEnd !== undefined ? { windowEnd } : {}),
    pos,
    schema: freezeSchema(fields),
    changelogMode: windowEnd !== undefined ? 'insert-only' : 'updating',
    ...(uniqueKey ? { uniqueKey: Object.freeze([...uniqueKey]) } : {}),
  });
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

/** Children of a node, in input order. */
export function nodeInputs(node: LogicalNode): readonly LogicalNode[] {
  switch (node.kind) {
    case 'scan':
    case 'values':
      return [];
    case 'calc':
    case 'aggregate':
    case 'window-tvf':
    case 'window-aggregate':
    case 'rank':
      return [node.input];
    case 'join':
      return [node.left, node.right];
    case 'union':
      return node.inputs;
    default:
      return unreachable(node);
  }
}
