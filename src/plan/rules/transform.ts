/** Bottom-up rewriting of logical plans. */
import { unreachable } from '../../errors.js';
import { aggregateNode, calcNode, unionNode, type LogicalNode } from '../logical.js';

/** The same node over new inputs (schema, changelog mode and unique key are derived again). */
export function withInputs(node: LogicalNode, inputs: readonly LogicalNode[]): LogicalNode {
  switch (node.kind) {
    case 'scan':
    case 'values':
      return node;
    case 'calc':
      return inputs[0] === node.input ? node : calcNode(inputs[0], node.projections, node.schema.fields.map((f) => f.name), node.filter);
    case 'aggregate':
      return inputs[0] === node.input ? node : aggregateNode(inputs[0], node.groupKeys, node.aggs, node.schema.fields.map((f) => f.name), node.origin);
    case 'union':
      return inputs.every((x, i) => x === node.inputs[i]) ? node : unionNode(inputs);
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
      inputs = [transformUp(node.input, rule)];
      break;
    case 'union':
      inputs = node.inputs.map((i) => transformUp(i, rule));
      break;
    default:
      return unreachable(node);
  }
  return rule(withInputs(node, inputs));
}
