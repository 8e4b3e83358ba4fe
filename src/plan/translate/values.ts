import { schemaText } from '../uid.js';
import type { ValuesNode } from '../logical.js';
import { ValuesSource } from '../values-source.js';
import type { Translator } from './context.js';

export const translateValues: Translator<ValuesNode> = (node, ctx) =>
  ctx.add({
    uidKind: 'values',
    canonical: `rows=${node.rows.length}\n${schemaText(node.schema)}\n${JSON.stringify(node.rows, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    name: 'Source: Values',
    description: `values=[${node.rows.length} row${node.rows.length === 1 ? '' : 's'}]`,
    parallelism: ctx.config.parallelism,
    schema: node.schema,
    mode: node.changelogMode,
    inputs: [],
    source: new ValuesSource(node.rows, node.schema.fields.length),
  });
