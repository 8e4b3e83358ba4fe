import type { BoundExpr } from '../expr/bound.js';
import type { Field } from '../model/types.js';
import { internalError } from '../errors.js';
import type { IntervalBounds, JoinNode, JoinType, LogicalNode } from './logical.js';
import { freezeSchema, plainType } from './logical-schema.js';
import { windowProperty } from './logical-window.js';

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
