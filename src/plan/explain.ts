/**
 * EXPLAIN: the job graph as a readable DAG, one block per vertex in topological order, with its
 * uid, parallelism, changelog mode, output schema, description, and for each input the upstream
 * vertex and the exchange between them.
 */
import { unreachable } from '../errors.js';
import type { JobGraph, JobVertex, Partitioning } from '../runtime/job-graph.js';
import { describeAggregate, describeCalc, describeJoin, describeRank, describeUnion, describeWindowAggregate, describeWindowTvf } from './describe.js';
import { nodeInputs, type LogicalNode } from './logical.js';
import { schemaText } from './uid.js';

function exchange(p: Partitioning, upstream: JobVertex | undefined): string {
  switch (p.kind) {
    case 'forward':
      return 'FORWARD';
    case 'rebalance':
      return 'REBALANCE';
    case 'broadcast':
      return 'BROADCAST';
    case 'hash':
      return `HASH[${p.keys.map((k) => upstream?.outputSchema.fields[k]?.name ?? `$${k}`).join(', ')}]`;
    default:
      return unreachable(p);
  }
}

export function explainGraph(graph: JobGraph): string {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const lines: string[] = [`Job '${graph.jobName}' (fingerprint ${graph.fingerprint.slice(0, 12)})`];
  for (const v of [...graph.vertices].sort((a, b) => a.id - b.id)) {
    lines.push('');
    lines.push(`[${v.id}] ${v.name}`);
    lines.push(`    uid: ${v.uid}`);
    lines.push(`    parallelism: ${v.parallelism}, changelog: ${v.changelogMode}`);
    lines.push(`    schema: (${schemaText(v.outputSchema)})`);
    if (v.description) lines.push(`    ${v.description}`);
    const inputs = graph.edges.filter((e) => e.target === v.id).sort((a, b) => a.targetInput - b.targetInput);
    for (const e of inputs) {
      const up = byId.get(e.source);
      const label = inputs.length > 1 ? `input ${e.targetInput}` : 'input';
      lines.push(`    ${label}: [${e.source}] ${up?.name ?? '?'} via ${exchange(e.partitioning, up)}`);
    }
  }
  return lines.join('\n');
}

/** The logical plan as an indented tree (the optimized plan before physical planning). */
export function explainLogical(node: LogicalNode, indent = ''): string {
  let head: string;
  switch (node.kind) {
    case 'scan':
      head = `Scan(table=[${node.table.name}], fields=[${node.schema.fields.map((f) => f.name).join(', ')}])`;
      break;
    case 'calc':
      head = `Calc(${describeCalc(node)})`;
      break;
    case 'aggregate':
      head = `Aggregate(${describeAggregate(node)})`;
      break;
    case 'union':
      head = `Union(${describeUnion(node)})`;
      break;
    case 'values':
      head = `Values(rows=${node.rows.length})`;
      break;
    case 'window-tvf':
      head = `WindowTableFunction(${describeWindowTvf(node)})`;
      break;
    case 'window-aggregate':
      head = `WindowAggregate(${describeWindowAggregate(node)})`;
      break;
    case 'join':
      head = `${node.interval ? 'IntervalJoin' : 'Join'}(${describeJoin(node)})`;
      break;
    case 'rank':
      head = `Rank(${describeRank(node)})`;
      break;
    default:
      return unreachable(node);
  }
  const mode = node.changelogMode === 'updating' ? ' [updating]' : '';
  return [`${indent}${head}${mode}`, ...nodeInputs(node).map((i) => explainLogical(i, `${indent}  `))].join('\n');
}
