import { userError } from '../../errors.js';
import { describeRank } from '../describe.js';
import { exchange } from '../graph-builder.js';
import type { RankNode } from '../logical.js';
import { schemaText } from '../uid.js';
import type { Translator } from './context.js';

/**
 * Top-N, deduplication (N = 1) or, over a window TVF, window Top-N; hashed by the partition key.
 * The limit comes from a filter on the row number that the rewrite rules fold into the node, so
 * binding cannot tell yet whether there is one.
 */
export const translateRank: Translator<RankNode> = (node, ctx) => {
  if (node.limit === undefined) {
    throw userError(
      'SQL_UNSUPPORTED',
      'ROW_NUMBER() OVER (...) is only supported as Top-N or deduplication: filter it in an outer query with WHERE rn <= N (or rn = 1)',
      {
        position: node.pos,
      },
    );
  }
  const input = ctx.plan(node.input);
  const description = describeRank(node);
  const keyed = node.partitionKeys.length > 0;
  const parallelism = keyed ? ctx.config.parallelism : 1;
  const { partitionKeys, orderKeys, limit, outputRank, windowEnd } = node;
  return ctx.add({
    uidKind: 'rank',
    canonical: `${description}\n${schemaText(node.schema)}`,
    name: windowEnd !== undefined ? 'WindowRank' : limit === 1 ? 'Deduplicate' : 'Rank',
    description,
    parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [{ from: input, partitioning: keyed ? { kind: 'hash', keys: partitionKeys } : exchange(input, parallelism) }],
    operator:
      windowEnd !== undefined
        ? { kind: 'window-rank', config: { partitionKeys, orderKeys, limit, windowEnd } }
        : { kind: 'rank', config: { partitionKeys, orderKeys, limit, outputRank, insertOnlyInput: input.mode === 'insert-only' } },
  });
};
