import { describeJoin } from '../describe.js';
import type { JoinNode } from '../logical.js';
import { stateTtlMs } from '../physical-config.js';
import { schemaText } from '../uid.js';
import type { Translator } from './context.js';
import type { OperatorSpec } from '../../runtime/operators/registry.js';

/**
 * Both inputs hashed by the equi-join keys. The regular join's state follows table.exec.state.ttl
 * through the state layer (shown as stateTtl); an interval or window join's state expires by time.
 */
export const translateJoin: Translator<JoinNode> = (node, ctx) => {
  const left = ctx.plan(node.left);
  const right = ctx.plan(node.right);
  const description = describeJoin(node);
  const { joinType, leftKeys, rightKeys, residual, interval, window } = node;
  const ttlMs = stateTtlMs(ctx.config);
  let operator: OperatorSpec;
  if (interval) operator = { kind: 'interval-join', config: { leftKeys, rightKeys, interval, ...(residual ? { residual } : {}) } };
  else if (window) {
    operator = {
      kind: 'window-join',
      config: { joinType, leftKeys, rightKeys, leftEnd: window.leftEnd, rightEnd: window.rightEnd, ...(residual ? { residual } : {}) },
    };
  } else {
    // A side whose input never retracts keeps its rows as a plain list (see JoinConfig.insertOnly).
    const insertOnly: [boolean, boolean] = [
      left.mode !== 'updating' && node.left.changelogMode !== 'updating',
      right.mode !== 'updating' && node.right.changelogMode !== 'updating',
    ];
    operator = { kind: 'join', config: { joinType, leftKeys, rightKeys, insertOnly, ...(residual ? { residual } : {}) } };
  }
  return ctx.add({
    uidKind: interval ? 'interval-join' : window ? 'window-join' : 'join',
    canonical: `${description}\n${schemaText(node.schema)}`,
    name: interval ? 'IntervalJoin' : window ? 'WindowJoin' : 'Join',
    description: ttlMs > 0 && !interval && !window ? `${description}, stateTtl=[${ttlMs} ms]` : description,
    parallelism: ctx.config.parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [
      { from: left, partitioning: { kind: 'hash', keys: leftKeys } },
      { from: right, partitioning: { kind: 'hash', keys: rightKeys } },
    ],
    operator,
  });
};
