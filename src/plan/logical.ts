/**
 * The logical plan: a tree of frozen, `kind`-tagged nodes produced by the binder and rewritten by
 * the rules in ./rules. Every node knows its output schema, whether it may emit retractions
 * (changelog mode) and, where known, a unique key of its output (an upsert key).
 *
 * Nodes are built only through the constructors of the logical-*.ts files, which derive schema, changelog mode and
 * unique key from the inputs, so a rewrite cannot forget to recompute them.
 */
import type { TableDef } from '../catalog/table.js';
import type { BoundExpr } from '../expr/bound.js';
import type { Schema, SqlType } from '../model/types.js';
import { unreachable } from '../errors.js';
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
