/**
 * Physical planning: INSERT statements (one job, possibly a statement set) -> one JobGraph.
 *
 * Per INSERT: bind the query and fit it to the sink's columns (./bind-insert.ts), check the sink
 * can take the changelog (./changelog-check.ts), then translate every logical node into vertices
 * (./translate/, one translator per node kind) with their parallelism, exchanges and a uid derived
 * from the plan (./graph-builder.ts).
 *
 * Parallelism: sources, keyed aggregates, unions and sinks get the configured parallelism; an
 * aggregate without GROUP BY runs with 1. A calc keeps its input's parallelism (forward), so an
 * updating stream is never spread round-robin over subtasks, which would reorder a key's -U/+U.
 * For the same reason, a union with an updating input keeps the smallest input parallelism, and a
 * sink without primary key takes its updating input's parallelism.
 */
import type { TableDef } from '../catalog/table.js';
import type { JobGraph } from '../runtime/job-graph.js';
import type { InsertStatement, Pos } from '../sql/ir.js';
import { withStackGuard } from '../sql/nesting.js';
import { type BoundInsert, bindInsert } from './bind-insert.js';
import type { Catalog } from './catalog.js';
import { checkSinkChangelog } from './changelog-check.js';
import { sourceFactory } from './connector-lookup.js';
import { GraphBuilder, type Planned, type VertexSpec } from './graph-builder.js';
import type { ChangelogMode, LogicalNode } from './logical.js';
import type { PlanConfig } from './physical-config.js';
import { storedColumns } from './rules/computed-columns.js';
import { shareScans } from './rules/share-scans.js';
import { connectorTable } from './source-watermark.js';
import type { TranslateContext } from './translate/context.js';
import { stateTtlMs } from './physical-config.js';
import { translateSink } from './translate/sink.js';
import { translateNode } from './translate/translators.js';

export function planJob(inserts: readonly InsertStatement[], catalog: Catalog, config: PlanConfig): JobGraph {
  return withStackGuard(inserts[0]?.pos, () => {
    const planner = new PhysicalPlanner(catalog, config);
    const bound = inserts.map((insert) => planner.bind(insert));
    const nodes = shareScans(bound.map((b) => b.node));
    bound.forEach((b, i) => planner.insert({ ...b, node: nodes[i] }));
    return planner.graph(config.jobName);
  });
}

class PhysicalPlanner implements TranslateContext {
  private readonly builder: GraphBuilder;
  private readonly modes = new Map<string, ChangelogMode>();
  private readonly planned = new Map<LogicalNode, Planned>();

  constructor(
    private readonly catalog: Catalog,
    readonly config: PlanConfig,
  ) {
    this.builder = new GraphBuilder(stateTtlMs(config));
  }

  graph(jobName: string): JobGraph {
    return this.builder.graph(jobName);
  }

  /** Changelog mode of a table's source; creating the source also validates its options. */
  private readonly scanMode = (table: TableDef, pos: Pos): ChangelogMode => {
    let mode = this.modes.get(table.name);
    if (!mode) {
      const stored = storedColumns(table).map((i) => table.schema.fields[i]);
      const source = sourceFactory(table, pos).createSource(connectorTable(table), { fields: stored });
      mode = source.changelogMode ?? 'insert-only';
      this.modes.set(table.name, mode);
    }
    return mode;
  };

  bind(insert: InsertStatement): BoundInsert & { readonly statement: InsertStatement } {
    return { ...bindInsert(insert, this.catalog, this.scanMode), statement: insert };
  }

  insert(bound: BoundInsert & { readonly statement: InsertStatement }): void {
    const sink = bound.factory.createSink(bound.table, bound.sinkSchema);
    checkSinkChangelog(bound, sink, bound.statement.pos);
    translateSink(bound, sink, this);
  }

  /** Plans each node object once: a node shared by several parents (a reused scan) is one vertex. */
  plan(node: LogicalNode): Planned {
    let planned = this.planned.get(node);
    if (!planned) {
      planned = translateNode(node, this);
      this.planned.set(node, planned);
    }
    return planned;
  }

  add(spec: VertexSpec): Planned {
    return this.builder.add(spec);
  }
}
