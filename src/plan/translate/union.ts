import { describeUnion } from '../describe.js';
import { exchange } from '../graph-builder.js';
import type { UnionNode } from '../logical.js';
import { schemaText } from '../uid.js';
import type { Translator } from './context.js';

/** With an updating input, the smallest input parallelism: no input is spread round-robin, which would reorder a key's -U/+U. */
export const translateUnion: Translator<UnionNode> = (node, ctx) => {
  const inputs = node.inputs.map((i) => ctx.plan(i));
  const parallelism = inputs.some((i) => i.mode === 'updating') ? Math.min(...inputs.map((i) => i.parallelism)) : ctx.config.parallelism;
  const description = describeUnion(node);
  return ctx.add({
    uidKind: 'union',
    canonical: `inputs=${inputs.length}\n${schemaText(node.schema)}`,
    name: 'Union',
    description,
    parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: inputs.map((i) => ({ from: i, partitioning: exchange(i, parallelism) })),
    operator: { kind: 'union', config: {} },
  });
};
