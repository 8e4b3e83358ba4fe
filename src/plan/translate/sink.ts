import type { Partitioning } from '../../runtime/job-graph.js';
import type { Sink } from '../../sink/two-phase-commit.js';
import type { BoundInsert } from '../bind-insert.js';
import type { Planned } from '../graph-builder.js';
import { schemaText } from '../uid.js';
import type { TranslateContext } from './context.js';

/**
 * The sink vertex of an INSERT. Updates go by primary key to the subtask that owns the key; without
 * a key, an updating input keeps its parallelism (forward), as spreading it round-robin would
 * reorder a key's -U/+U.
 */
export function translateSink(bound: BoundInsert, sink: Sink, ctx: TranslateContext): Planned {
  const { table, factory, sinkSchema, primaryKey, node } = bound;
  const input = ctx.plan(node);
  const P = ctx.config.parallelism;
  let parallelism = P;
  let partitioning: Partitioning;
  if (input.mode === 'updating' && primaryKey.length > 0) partitioning = { kind: 'hash', keys: primaryKey };
  else if (input.mode === 'updating') {
    parallelism = input.parallelism;
    partitioning = { kind: 'forward' };
  } else partitioning = input.parallelism === P ? { kind: 'forward' } : { kind: 'rebalance' };
  const pkNames = primaryKey.map((k) => sinkSchema.fields[k].name);
  return ctx.add({
    uidKind: 'sink',
    canonical: `table=${table.name}\nconnector=${factory.name}\nprimaryKey=${pkNames.join(',')}\n${schemaText(sinkSchema)}`,
    name: `Sink: ${table.name}`,
    description: `connector=${factory.name}, table=${table.name}${pkNames.length ? `, primaryKey=[${pkNames.join(', ')}]` : ''}`,
    parallelism,
    schema: sinkSchema,
    mode: input.mode,
    inputs: [{ from: input, partitioning }],
    operator: { kind: 'sink', config: { sink, primaryKey } },
  });
}
