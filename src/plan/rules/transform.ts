/** Bottom-up rewriting of logical plans. */
import { unreachable } from '../../errors.js';
import { aggregateNode, calcNode, unionNode } from '../logical-nodes.js';
import { joinNode } from '../logical-join.js';
import { rankNode } from '../logical-rank.js';
import { windowAggregateNode, windowTvfNode } from '../logical-window.js';
import type { LogicalNode } from '../logical.js';

/** The same node over new inputs (schema, changelog mode and unique key are derived again). */
export function withInputs(node: LogicalNode, inputs: readonly LogicalNode[]): LogicalNode {
  switch (node.kind) {
    case 'scan':
    case 'values':
      return node;
    case 'calc':
      return inputs[0] === node.input
        ? node
        : calcNode(
            inputs[0],
            node.projections,
            node.schema.fields.map((f) => f.name),
            node.filter,
          );
    case 'aggregate':
      return inputs[0] === node.input
        ? node
        : aggregateNode(
            inputs[0],
            node.groupKeys,
            node.aggs,
            node.schema.fields.map((f) => f.name),
            node.origin,
          );
    case 'union':
      return inputs.every((x, i) => x === node.inputs[i]) ? node : unionNode(inputs);
    case 'window-tvf':
      return inputs[0] === node.input ? node : windowTvfNode(inputs[0], node.timeCol, node.window, node.pos);
    case 'window-aggregate':
      return inputs[0] === node.input
        ? node
        : windowAggregateNode(
            inputs[0],
            node.timeCol,
            node.window,
            node.groups,
            node.aggs,
            node.schema.fields.map((f) => f.name),
            node.origin,
          );
    case 'join':
      return inputs[0] === node.left && inputs[1] === node.right
        ? node
        : joinNode(node.joinType, inputs[0], inputs[1], node.leftKeys, node.rightKeys, node.residual, node.interval);
    case 'rank':
      return inputs[0] === node.input
        ? node
        : rankNode(
            inputs[0],
            node.partitionKeys,
            node.orderKeys,
            node.limit,
            node.outputRank,
            node.schema.fields[node.schema.fields.length - 1]!.name,
            node.pos,
          );
    default:
      return unreachable(node);
  }
}

/** Applies `rule` to every node, children first; `rule` returns the node itself when it does not apply. */
export function transformUp(node: LogicalNode, rule: (n: LogicalNode) => LogicalNode): LogicalNode {
  let inputs: readonly LogicalNode[];
  switch (node.kind) {
    case 'scan':
    case 'values':
      inputs = [];
      break;
    case 'calc':
    case 'aggregate':
    case 'window-tvf':
    case 'window-aggregate':
    case 'rank':
      inputs = [transformUp(node.input, rule)];
      break;
    case 'join':
      inputs = [transformUp(node.left, rule), transformUp(node.right, rule)];
      break;
    case 'union':
      inputs = node.inputs.map((i) => transformUp(i, rule));
      break;
    default:
      return unreachable(node);
  }
  return rule(withInputs(node, inputs));
}
