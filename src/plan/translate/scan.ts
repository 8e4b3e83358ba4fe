import { internalError } from '../../errors.js';
import type { Source } from '../../runtime/source.js';
import { sourceFactory } from '../connector-lookup.js';
import type { Planned } from '../graph-builder.js';
import type { ScanNode } from '../logical.js';
import { connectorTable, sourceWatermarkSpec } from '../source-watermark.js';
import type { TranslateContext, Translator } from './context.js';

/** The table's source, followed by a changelog-normalize vertex when the source emits upserts. */
export const translateScan: Translator<ScanNode> = (node, ctx) => {
  const { table } = node;
  const factory = sourceFactory(table, node.pos);
  const source = factory.createSource(connectorTable(table), node.schema);
  const fields = node.schema.fields.map((f) => f.name).join(', ');
  const watermarks = sourceWatermarkSpec(table, node.columns, ctx.config.tableConfig);
  const planned = ctx.add({
    // Not the columns read: a changed projection keeps the source's uid, so its positions restore.
    uidKind: 'source',
    canonical: `table=${table.name}\nconnector=${factory.name}`,
    name: `Source: ${table.name}`,
    description: `connector=${factory.name}, table=${table.name}, fields=[${fields}]${watermarks ? `, ${watermarks.description}` : ''}`,
    parallelism: ctx.config.parallelism,
    schema: node.schema,
    mode: source.changelogMode ?? node.changelogMode,
    inputs: [],
    source,
    ...(watermarks ? { watermarks } : {}),
  });
  return source.normalize ? normalize(planned, node, source.normalize, ctx) : planned;
};

/** The changelog-normalize vertex after an upsert source, hashed by the source's key. */
function normalize(input: Planned, node: ScanNode, spec: NonNullable<Source['normalize']>, ctx: TranslateContext): Planned {
  const index = (name: string): number => {
    const i = node.schema.fields.findIndex((f) => f.name === name);
    if (i < 0) throw internalError(`changelog-normalize: key column '${name}' was not read from table '${node.table.name}'`);
    return i;
  };
  const keys = spec.keyFields.map(index);
  const tableColumn = spec.tableField === undefined ? -1 : index(spec.tableField);
  return ctx.add({
    uidKind: 'changelog-normalize',
    // Not the columns read: the state maps them by name, so columns may come and go.
    canonical: `table=${node.table.name}\nkeys=${spec.keyFields.join(',')}`,
    name: 'ChangelogNormalize',
    description: `key=[${spec.keyFields.join(', ')}]`,
    parallelism: ctx.config.parallelism,
    schema: node.schema,
    mode: 'updating',
    inputs: [{ from: input, partitioning: { kind: 'hash', keys } }],
    operator: { kind: 'changelog-normalize', config: { keys, tableColumn, tableName: node.table.name } },
  });
}
