import { describeAggregate } from '../describe.js';
import { exchange } from '../graph-builder.js';
import type { AggregateNode } from '../logical.js';
import { schemaText } from '../uid.js';
import { aggregateSpecs } from './aggregate-calls.js';
import type { Translator } from './context.js';

/** Hashed by the group key; without GROUP BY every row meets in one subtask. */
export const translateAggregate: Translator<AggregateNode> = (node, ctx) => {
  const input = ctx.plan(node.input);
  const description = describeAggregate(node);
  const keyed = node.groupKeys.length > 0;
  const parallelism = keyed ? ctx.config.parallelism : 1;
  const groupKeys = node.groupKeys;
  const retractable = input.mode === 'updating' || node.input.changelogMode === 'updating';
  return ctx.add({
    uidKind: 'aggregate',
    canonical: `groupKeys=${groupKeys.join(',')}\n${description}\n${schemaText(node.schema)}`,
    name: keyed ? 'KeyedAggregate' : 'GlobalAggregate',
    description,
    parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [{ from: input, partitioning: keyed ? { kind: 'hash', keys: groupKeys } : exchange(input, parallelism) }],
    operator: { kind: 'keyed-aggregate', config: { groupKeys, aggs: aggregateSpecs(node.aggs, retractable) } },
  });
};
