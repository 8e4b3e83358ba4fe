/**
 * Operator kinds and their factories. The planner describes an operator vertex as plain data
 * ({ kind, config }, using each operator's own config type) and the graph turns it into a new
 * instance per subtask (and per restart) here, so the planner imports no operator class and
 * adding an operator touches this table, not the translators of every other node kind.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { createSinkOperator } from '../../sink/sink-operator.js';
import type { Sink } from '../../sink/two-phase-commit.js';
import type { Operator } from '../operator.js';
import { CalcOperator } from './calc.js';
import { type ChangelogNormalizeConfig, ChangelogNormalizeOperator } from './changelog-normalize.js';
import { type IntervalJoinConfig, IntervalJoinOperator } from './interval-join.js';
import { type JoinConfig, JoinOperator } from './join.js';
import type { KeyedAggregateConfig } from './keyed-aggregate.js';
import { KeyedAggregate } from './keyed-aggregate-select.js';
import { type RankConfig, RankOperator } from './rank.js';
import { type SessionWindowAggregateConfig, SessionWindowAggregateOperator } from './session-window-aggregate.js';
import { UnionOperator } from './union.js';
import { type WindowAggregateConfig, WindowAggregateOperator } from './window-aggregate.js';
import { type WindowJoinConfig, WindowJoinOperator } from './window-join.js';
import { type WindowRankConfig, WindowRankOperator } from './window-rank.js';
import { type WindowTvfConfig, WindowTvfOperator } from './window-tvf.js';

/** CalcOperator takes its projections and filter as constructor arguments. */
export interface CalcConfig {
  readonly projections: readonly BoundExpr[];
  readonly filter: BoundExpr | undefined;
}

/** A sink vertex: the connector's sink (created, and its options checked, at planning) and its key columns. */
export interface SinkConfig {
  readonly sink: Sink;
  /** The sink table's key columns; empty: append-only. */
  readonly primaryKey: readonly number[];
}

/** The config of each operator kind. */
export interface OperatorConfigs {
  readonly calc: CalcConfig;
  readonly 'changelog-normalize': ChangelogNormalizeConfig;
  readonly 'interval-join': IntervalJoinConfig;
  readonly join: JoinConfig;
  readonly 'keyed-aggregate': KeyedAggregateConfig;
  readonly rank: RankConfig;
  readonly 'session-window-aggregate': SessionWindowAggregateConfig;
  readonly union: Readonly<Record<string, never>>;
  readonly 'window-aggregate': WindowAggregateConfig;
  readonly 'window-join': WindowJoinConfig;
  readonly 'window-rank': WindowRankConfig;
  readonly 'window-tvf': WindowTvfConfig;
  readonly sink: SinkConfig;
}

export type OperatorKind = keyof OperatorConfigs;

/** What the planner asks for: one operator kind and its config. */
export type OperatorSpec<K extends OperatorKind = OperatorKind> = { [P in K]: { readonly kind: P; readonly config: OperatorConfigs[P] } }[K];

const FACTORIES: { readonly [K in OperatorKind]: (config: OperatorConfigs[K]) => Operator } = {
  calc: (c) => new CalcOperator(c.projections, c.filter),
  'changelog-normalize': (c) => new ChangelogNormalizeOperator(c),
  'interval-join': (c) => new IntervalJoinOperator(c),
  join: (c) => new JoinOperator(c),
  'keyed-aggregate': (c) => new KeyedAggregate(c),
  rank: (c) => new RankOperator(c),
  'session-window-aggregate': (c) => new SessionWindowAggregateOperator(c),
  union: () => new UnionOperator(),
  'window-aggregate': (c) => new WindowAggregateOperator(c),
  'window-join': (c) => new WindowJoinOperator(c),
  'window-rank': (c) => new WindowRankOperator(c),
  'window-tvf': (c) => new WindowTvfOperator(c),
  sink: (c) => createSinkOperator(c.sink, c.primaryKey),
};

/** A new operator instance for `spec`; the config is shared by the instances and never changed. */
export function instantiateOperator<K extends OperatorKind>(spec: OperatorSpec<K>): Operator {
  const factory: (config: OperatorConfigs[K]) => Operator = FACTORIES[spec.kind];
  return factory(spec.config);
}
