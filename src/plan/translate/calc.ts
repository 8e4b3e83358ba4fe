import { describeCalc } from '../describe.js';
import type { CalcNode } from '../logical.js';
import { schemaText } from '../uid.js';
import type { Translator } from './context.js';

/** Keeps its input's parallelism (forward): spreading an updating stream would reorder a key's -U/+U. */
export const translateCalc: Translator<CalcNode> = (node, ctx) => {
  const input = ctx.plan(node.input);
  const description = describeCalc(node);
  const { projections, filter } = node;
  return ctx.add({
    uidKind: 'calc',
    canonical: `${description}\n${schemaText(node.schema)}`,
    name: 'Calc',
    description,
    parallelism: input.parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [{ from: input, partitioning: { kind: 'forward' } }],
    operator: { kind: 'calc', config: { projections, filter } },
  });
};
