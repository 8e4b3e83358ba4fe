import { unreachable } from '../../errors.js';
import type { OperatorSpec } from '../../runtime/operators/registry.js';
import { describeWindowAggregate } from '../describe.js';
import { exchange } from '../graph-builder.js';
import type { WindowAggregateNode } from '../logical.js';
import { schemaText } from '../uid.js';
import { aggregateSpecs } from './aggregate-calls.js';
import type { Translator } from './context.js';

/** Hashed by the group keys; without keys every row meets in one subtask, as Flink's global window aggregate. */
export const translateWindowAggregate: Translator<WindowAggregateNode> = (node, ctx) => {
  const input = ctx.plan(node.input);
  const description = describeWindowAggregate(node);
  const keys = node.groups.flatMap((g) => (g.kind === 'key' ? [g.index] : []));
  const parallelism = keys.length > 0 ? ctx.config.parallelism : 1;
  return ctx.add({
    uidKind: 'window-aggregate',
    canonical: `${description}\n${schemaText(node.schema)}`,
    name: 'WindowAggregate',
    description,
    parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [{ from: input, partitioning: keys.length > 0 ? { kind: 'hash', keys } : exchange(input, parallelism) }],
    operator: windowOperator(node),
  });
};

/** A window TVF's input is insert-only (binding checks it): the insert-only aggregate variants. */
function windowOperator(node: WindowAggregateNode): OperatorSpec {
  const { timeCol, window, groups } = node;
  const kind = window.kind;
  switch (kind) {
    case 'SESSION':
      return { kind: 'session-window-aggregate', config: { timeCol, gap: window.size, groups, aggs: aggregateSpecs(node.aggs, false) } };
    case 'TUMBLE':
    case 'HOP':
    case 'CUMULATE':
      return {
        kind: 'window-aggregate',
        config: { timeCol, window: { kind, size: window.size, slide: window.slide }, groups, aggs: aggregateSpecs(node.aggs, false) },
      };
    default:
      return unreachable(kind);
  }
}
