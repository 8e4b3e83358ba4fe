import { userError } from '../../errors.js';
import { describeWindowTvf } from '../describe.js';
import type { WindowTvfNode } from '../logical.js';
import { schemaText } from '../uid.js';
import type { Translator } from './context.js';

/**
 * A window TVF read directly (Top-N, join or plain rows): one row per (row, window), forward.
 * A SESSION TVF followed by its aggregation becomes a window aggregate in the rewrite rules, so
 * binding cannot tell yet whether one is read directly.
 */
export const translateWindowTvf: Translator<WindowTvfNode> = (node, ctx) => {
  const { timeCol, window } = node;
  const kind = window.kind;
  if (kind === 'SESSION') {
    throw userError(
      'SQL_UNSUPPORTED',
      'a SESSION window TVF must be followed by GROUP BY window_start, window_end (a window aggregation); reading its rows directly is not supported yet',
      {
        position: node.pos,
      },
    );
  }
  const input = ctx.plan(node.input);
  const description = describeWindowTvf(node);
  return ctx.add({
    uidKind: 'window-tvf',
    canonical: `${description}\n${schemaText(node.schema)}`,
    name: 'WindowTableFunction',
    description,
    parallelism: input.parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [{ from: input, partitioning: { kind: 'forward' } }],
    operator: { kind: 'window-tvf', config: { timeCol, window: { kind, size: window.size, slide: window.slide } } },
  });
};
