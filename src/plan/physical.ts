/**
 * Physical planning: INSERT statements (one job, possibly a statement set) -> one JobGraph.
 *
 * Per INSERT: bind the query, fit it to the sink's columns (column list, implicit casts), rewrite
 * (./optimize.ts), check the sink can take the changelog, then turn every logical node into a
 * vertex with its parallelism, exchanges and a uid derived from the plan.
 *
 * Parallelism: sources, keyed aggregates, unions and sinks get the configured parallelism; an
 * aggregate without GROUP BY runs with 1. A calc keeps its input's parallelism (forward), so an
 * updating stream is never spread round-robin over subtasks, which would reorder a key's -U/+U.
 * For the same reason, a union with an updating input keeps the smallest input parallelism, and a
 * sink without primary key takes its updating input's parallelism.
 */
import type { TableDef } from '../catalog/table.js';
import { lookupConnector } from '../connector/registry.js';
import type { ConnectorFactory } from '../connector/connector.js';
import { resolveAggregate } from '../expr/aggregates.js';
import { implicitCast } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { sameType } from '../expr/type-rules.js';
import { formatType, type Schema } from '../model/types.js';
import { internalError, isWeirError, unreachable, userError } from '../errors.js';
import type { JobEdge, JobGraph, JobVertex, Partitioning } from '../runtime/job-graph.js';
import type { Operator } from '../runtime/operator.js';
import { CalcOperator } from '../runtime/operators/calc.js';
import { ChangelogNormalizeOperator } from '../runtime/operators/changelog-normalize.js';
import { KeyedAggregateOperator, type AggregateSpec } from '../runtime/operators/keyed-aggregate.js';
import { UnionOperator } from '../runtime/operators/union.js';
import { SessionWindowAggregateOperator } from '../runtime/operators/session-window-aggregate.js';
import { WindowAggregateOperator } from '../runtime/operators/window-aggregate.js';
import { WindowJoinOperator } from '../runtime/operators/window-join.js';
import { WindowRankOperator } from '../runtime/operators/window-rank.js';
import { WindowTvfOperator } from '../runtime/operators/window-tvf.js';
import type { Source } from '../runtime/source.js';
import { createSinkOperator } from '../sink/sink-operator.js';
import type { InsertStatement, Pos } from '../sql/ir.js';
import { bindQuery } from './bind-query.js';
import { inputRef, nullLiteral } from './bound-util.js';
import type { Catalog } from './catalog.js';
import { describeAggregate, describeCalc, describeJoin, describeRank, describeUnion, describeWindowAggregate, describeWindowTvf } from './describe.js';
import {
  calcNode,
  type ChangelogMode,
  type JoinNode,
  type LogicalNode,
  type RankNode,
  type ScanNode,
  type WindowAggregateNode,
  type WindowTvfNode,
} from './logical.js';
import { parseDuration } from '../config/duration.js';
import { IntervalJoinOperator } from '../runtime/operators/interval-join.js';
import { JoinOperator } from '../runtime/operators/join.js';
import { RankOperator } from '../runtime/operators/rank.js';

/** Flink's idle state retention for unbounded state (regular joins). */
export const STATE_TTL_KEY = 'table.exec.state.ttl';
import { optimize } from './optimize.js';
import { isIdentityOver } from './rules/remove-trivial-calc.js';
import { storedColumns } from './rules/computed-columns.js';
import { shareScans } from './rules/share-scans.js';
import { schemaText, sha256Hex, UidAllocator } from './uid.js';
import { ValuesSource } from './values-source.js';
import { connectorTable, sourceWatermarkSpec } from './source-watermark.js';
import type { SourceWatermarkSpec } from '../runtime/watermark.js';
import { withStackGuard } from '../sql/nesting.js';

export interface PlanConfig {
  readonly jobName: string;
  readonly parallelism: number;
  /** Every SET key of the job (table.exec.source.idle-timeout, ...); optional for tests. */
  readonly tableConfig?: ReadonlyMap<string, string>;
}

/** An INSERT bound and rewritten, ready for physical planning. */
export interface BoundInsert {
  readonly table: TableDef;
  readonly factory: ConnectorFactory;
  /** The rows the sink receives: the table's physical and persisted metadata columns. */
  readonly sinkSchema: Schema;
  /** Indexes of the table's primary key columns in sinkSchema. */
  readonly primaryKey: readonly number[];
  /** The optimized plan producing sinkSchema's columns. */
  readonly node: LogicalNode;
}

export function planJob(inserts: readonly InsertStatement[], catalog: Catalog, config: PlanConfig): JobGraph {
  return withStackGuard(inserts[0]?.pos, () => {
    const planner = new PhysicalPlanner(catalog, config);
    const bound = inserts.map((insert) => planner.bind(insert));
    const nodes = shareScans(bound.map((b) => b.node));
    bound.forEach((b, i) => planner.insert({ ...b, node: nodes[i] }));
    return planner.graph(config.jobName);
  });
}

/** Binds an INSERT against the catalog and fits the query to the sink table (no connector sinks created). */
export function bindInsert(insert: InsertStatement, catalog: Catalog, scanMode?: (t: TableDef, pos: Pos) => ChangelogMode): BoundInsert {
  if (insert.overwrite) throw userError('UNSUPPORTED_OVERWRITE', 'INSERT OVERWRITE is not supported on streams yet; use INSERT INTO', { position: insert.pos });
  const def = catalog.resolve(insert.target, insert.pos);
  if (def.kind === 'view') throw userError('INSERT_INTO_VIEW', `cannot INSERT INTO view '${def.name}': a view is read-only`, { position: insert.pos });
  const table = def;
  const factory = lookupConnector(table.options.connector, table.name, table.optionPositions.connector ?? insert.pos);
  if (!factory.createSink) {
    throw userError('NOT_A_SINK', `table '${table.name}' cannot be written: connector '${factory.name}' is a source only (it has no sink)`, {
      position: insert.pos,
      details: { table: table.name, connector: factory.name },
    });
  }
  const sinkCols = table.columns.flatMap((c, i) => (c.kind === 'physical' || (c.kind === 'metadata' && !c.virtual) ? [i] : []));
  const sinkFields = sinkCols.map((i) => table.schema.fields[i]);
  const sinkSchema: Schema = Object.freeze({ fields: Object.freeze(sinkFields) });
  const primaryKey = table.primaryKey.map((k) => sinkFields.findIndex((f) => f.name === k));
  const virtualKey = table.primaryKey.find((_, i) => primaryKey[i] < 0);
  if (virtualKey !== undefined) {
    throw userError(
      'INVALID_PRIMARY_KEY',
      `table '${table.name}' cannot be written: its PRIMARY KEY column '${virtualKey}' is a VIRTUAL metadata column, which a sink does not write; declare it without VIRTUAL or leave it out of the key`,
      {
        position: insert.pos,
      },
    );
  }

  const query = bindQuery(insert.query, catalog, scanMode ? { scanMode } : {});
  const qFields = query.schema.fields;

  // Sink column s takes query column source[s], or NULL when the column list leaves it out.
  const source: number[] = new Array(sinkFields.length).fill(-1);
  if (insert.columns) {
    const seen = new Set<string>();
    insert.columns.forEach((name, q) => {
      const s = sinkFields.findIndex((f) => f.name === name);
      if (s < 0) {
        const other = table.schema.fields.some((f) => f.name === name);
        throw userError(
          'UNKNOWN_INSERT_COLUMN',
          other
            ? `column '${name}' of table '${table.name}' is computed or virtual and cannot be written`
            : `column '${name}' is not a column of table '${table.name}'; columns: ${sinkFields.map((f) => f.name).join(', ')}`,
          { position: insert.pos },
        );
      }
      if (seen.has(name)) throw userError('DUPLICATE_INSERT_COLUMN', `column '${name}' is listed twice in INSERT INTO ${table.name}`, { position: insert.pos });
      seen.add(name);
      source[s] = q;
    });
    if (qFields.length !== insert.columns.length) {
      throw userError(
        'INSERT_COLUMN_COUNT',
        `INSERT INTO ${table.name} lists ${insert.columns.length} columns but the query produces ${qFields.length} columns`,
        { position: insert.pos },
      );
    }
  } else {
    if (qFields.length !== sinkFields.length) {
      throw userError(
        'INSERT_COLUMN_COUNT',
        `table '${table.name}' has ${sinkFields.length} columns (${sinkFields.map((f) => f.name).join(', ')}) but the query produces ${qFields.length} columns`,
        { position: insert.pos },
      );
    }
    for (let s = 0; s < sinkFields.length; s++) source[s] = s;
  }

  const projections: BoundExpr[] = sinkFields.map((f, s) => {
    const q = source[s];
    if (q < 0) {
      if (!f.type.nullable) {
        throw userError(
          'MISSING_NOT_NULL_COLUMN',
          `column '${f.name}' of table '${table.name}' is NOT NULL but the INSERT column list does not give it a value`,
          {
            position: insert.pos,
          },
        );
      }
      return nullLiteral(f.type);
    }
    const ref = inputRef(q, qFields[q].type);
    if (sameType(ref.type, f.type)) return ref;
    try {
      return implicitCast(ref, f.type, insert.pos);
    } catch (e) {
      if (!isWeirError(e) || e.domain !== 'user') throw e;
      throw userError(
        'INSERT_TYPE_MISMATCH',
        `column '${f.name}' of table '${table.name}' has type ${formatType(f.type)}, but the query gives it column ${q + 1} ('${qFields[q].name}') of type ${formatType(qFields[q].type)}, which does not convert implicitly; use CAST`,
        { position: insert.pos, cause: e },
      );
    }
  });

  let node = optimize(
    calcNode(
      query,
      projections,
      sinkFields.map((f) => f.name),
    ),
  );
  // The sink reads columns by position: a calc that only renames is not needed.
  if (node.kind === 'calc' && !node.filter && isIdentityOver(node.projections, node.input.schema)) node = node.input;
  return { table, factory, sinkSchema, primaryKey, node };
}

/** Describes what made a plan updating, for the "cannot take updates" error. */
function updatingOrigin(node: LogicalNode): string {
  switch (node.kind) {
    case 'aggregate':
      return node.origin;
    case 'scan':
      return `the changelog source '${node.table.name}'`;
    case 'calc':
      return updatingOrigin(node.input);
    case 'union': {
      const u = node.inputs.find((i) => i.changelogMode === 'updating');
      return u ? updatingOrigin(u) : 'UNION';
    }
    case 'values':
      return 'VALUES';
    case 'window-tvf':
    case 'window-aggregate':
      return updatingOrigin(node.input);
    case 'join': {
      if (node.joinType !== 'inner') return `the ${node.joinType.toUpperCase()} OUTER JOIN`;
      const u = [node.left, node.right].find((i) => i.changelogMode === 'updating');
      return u ? updatingOrigin(u) : 'JOIN';
    }
    case 'rank':
      return node.limit === 1 ? 'ROW_NUMBER() OVER (...) = 1 (deduplication)' : 'ROW_NUMBER() OVER (...) <= N (Top-N)';
    default:
      return unreachable(node);
  }
}

interface Planned {
  readonly id: number;
  readonly uid: string;
  readonly parallelism: number;
  readonly mode: ChangelogMode;
  readonly schema: Schema;
}

interface VertexSpec {
  readonly uidKind: string;
  readonly canonical: string;
  readonly name: string;
  readonly description: string;
  readonly parallelism: number;
  readonly schema: Schema;
  readonly mode: ChangelogMode;
  readonly inputs: readonly { readonly from: Planned; readonly partitioning: Partitioning }[];
  readonly source?: Source;
  readonly watermarks?: SourceWatermarkSpec;
  readonly createOperator?: () => Operator;
  readonly isSink?: boolean;
}

class PhysicalPlanner {
  private readonly vertices: JobVertex[] = [];
  private readonly edges: JobEdge[] = [];
  private readonly uids = new UidAllocator();
  private readonly modes = new Map<string, ChangelogMode>();
  private readonly planned = new Map<LogicalNode, Planned>();

  constructor(
    private readonly catalog: Catalog,
    private readonly config: PlanConfig,
  ) {}

  graph(jobName: string): JobGraph {
    const fingerprint = sha256Hex(this.vertices.map((v) => `${v.uid}(${schemaText(v.outputSchema)})`).join('\n'));
    return Object.freeze({ jobName, fingerprint, vertices: Object.freeze([...this.vertices]), edges: Object.freeze([...this.edges]) });
  }

  private sourceFactory(table: TableDef, pos: Pos): ConnectorFactory & { createSource: NonNullable<ConnectorFactory['createSource']> } {
    const f = lookupConnector(table.options.connector, table.name, table.optionPositions.connector ?? pos);
    if (!f.createSource) {
      throw userError('NOT_A_SOURCE', `table '${table.name}' cannot be read: connector '${f.name}' is a sink only (it has no source)`, {
        position: pos,
        details: { table: table.name, connector: f.name },
      });
    }
    return f as ConnectorFactory & { createSource: NonNullable<ConnectorFactory['createSource']> };
  }

  /** Changelog mode of a table's source; creating the source also validates its options. */
  private readonly scanMode = (table: TableDef, pos: Pos): ChangelogMode => {
    let mode = this.modes.get(table.name);
    if (!mode) {
      const stored = storedColumns(table).map((i) => table.schema.fields[i]);
      const source = this.sourceFactory(table, pos).createSource(connectorTable(table), { fields: stored });
      mode = source.changelogMode ?? 'insert-only';
      this.modes.set(table.name, mode);
    }
    return mode;
  };

  bind(insert: InsertStatement): BoundInsert & { readonly statement: InsertStatement } {
    return { ...bindInsert(insert, this.catalog, this.scanMode), statement: insert };
  }

  insert(bound: BoundInsert & { readonly statement: InsertStatement }): void {
    const { table, factory, sinkSchema, primaryKey, node, statement: insert } = bound;
    const sink = factory.createSink!(table, sinkSchema);
    if (node.changelogMode === 'updating' && !sink.acceptsUpdates) {
      const origin = updatingOrigin(node);
      const what = table.primaryKey.length === 0 ? `connector '${factory.name}' without PRIMARY KEY` : `connector '${factory.name}', which is append-only`;
      let hint: string;
      if (table.primaryKey.length === 0) {
        const key = node.uniqueKey && node.uniqueKey.length > 0 ? node.uniqueKey.map((k) => sinkSchema.fields[k].name).join(', ') : '...';
        hint = `declare PRIMARY KEY (${key}) NOT ENFORCED on it, or write an insert-only query`;
      } else {
        hint = 'write to a connector that accepts updates, or write an insert-only query';
      }
      throw userError('UPDATING_INTO_APPEND_ONLY', `table '${table.name}' (${what}) cannot take the updates that ${origin} produces; ${hint}`, {
        position: insert.pos,
        details: { table: table.name, connector: factory.name },
      });
    }
    const input = this.plan(node);
    const P = this.config.parallelism;
    let parallelism = P;
    let partitioning: Partitioning;
    if (input.mode === 'updating' && primaryKey.length > 0) partitioning = { kind: 'hash', keys: primaryKey };
    else if (input.mode === 'updating') {
      parallelism = input.parallelism;
      partitioning = { kind: 'forward' };
    } else partitioning = input.parallelism === P ? { kind: 'forward' } : { kind: 'rebalance' };
    const pkNames = primaryKey.map((k) => sinkSchema.fields[k].name);
    this.add({
      uidKind: 'sink',
      canonical: `table=${table.name}\nconnector=${factory.name}\nprimaryKey=${pkNames.join(',')}\n${schemaText(sinkSchema)}`,
      name: `Sink: ${table.name}`,
      description: `connector=${factory.name}, table=${table.name}${pkNames.length ? `, primaryKey=[${pkNames.join(', ')}]` : ''}`,
      parallelism,
      schema: sinkSchema,
      mode: input.mode,
      inputs: [{ from: input, partitioning }],
      createOperator: () => createSinkOperator(sink, primaryKey),
      isSink: true,
    });
  }

  private exchange(from: Planned, parallelism: number): Partitioning {
    return from.parallelism === parallelism ? { kind: 'forward' } : { kind: 'rebalance' };
  }

  /** Plans each node object once: a node shared by several parents (a reused scan) is one vertex. */
  private plan(node: LogicalNode): Planned {
    let planned = this.planned.get(node);
    if (!planned) {
      planned = this.planNode(node);
      this.planned.set(node, planned);
    }
    return planned;
  }

  private planNode(node: LogicalNode): Planned {
    const P = this.config.parallelism;
    switch (node.kind) {
      case 'scan':
        return this.scan(node);
      case 'values':
        return this.add({
          uidKind: 'values',
          canonical: `rows=${node.rows.length}\n${schemaText(node.schema)}\n${JSON.stringify(node.rows, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
          name: 'Source: Values',
          description: `values=[${node.rows.length} row${node.rows.length === 1 ? '' : 's'}]`,
          parallelism: P,
          schema: node.schema,
          mode: node.changelogMode,
          inputs: [],
          source: new ValuesSource(node.rows, node.schema.fields.length),
        });
      case 'calc': {
        const input = this.plan(node.input);
        const description = describeCalc(node);
        const { projections, filter } = node;
        return this.add({
          uidKind: 'calc',
          canonical: `${description}\n${schemaText(node.schema)}`,
          name: 'Calc',
          description,
          parallelism: input.parallelism,
          schema: node.schema,
          mode: node.changelogMode,
          inputs: [{ from: input, partitioning: { kind: 'forward' } }],
          createOperator: () => new CalcOperator(projections, filter),
        });
      }
      case 'aggregate': {
        const input = this.plan(node.input);
        const description = describeAggregate(node);
        const keyed = node.groupKeys.length > 0;
        const parallelism = keyed ? P : 1;
        const groupKeys = node.groupKeys;
        const calls = node.aggs;
        // Insert-only input never retracts: resolve the insert-only aggregate variants (as Flink's
        // append-only specialization), e.g. MIN/MAX keep just the extreme, not a multiset.
        const retractable = input.mode === 'updating' || node.input.changelogMode === 'updating';
        return this.add({
          uidKind: 'aggregate',
          canonical: `groupKeys=${groupKeys.join(',')}\n${description}\n${schemaText(node.schema)}`,
          name: keyed ? 'KeyedAggregate' : 'GlobalAggregate',
          description,
          parallelism,
          schema: node.schema,
          mode: node.changelogMode,
          inputs: [{ from: input, partitioning: keyed ? { kind: 'hash', keys: groupKeys } : this.exchange(input, parallelism) }],
          createOperator: () =>
            new KeyedAggregateOperator({
              groupKeys,
              aggs: calls.map((a) => ({
                fn: resolveAggregate(
                  { name: a.name, distinct: a.distinct, star: a.star, pos: a.pos },
                  a.args.map((e) => e.type),
                  { retractable },
                ),
                args: a.args,
                ...(a.filter ? { filter: a.filter } : {}),
              })),
            }),
        });
      }
      case 'window-aggregate':
        return this.windowAggregate(node);
      case 'join':
        return this.join(node);
      case 'rank':
        return this.rank(node);
      case 'window-tvf':
        return this.windowTvf(node);
      case 'union': {
        const inputs = node.inputs.map((i) => this.plan(i));
        const parallelism = inputs.some((i) => i.mode === 'updating') ? Math.min(...inputs.map((i) => i.parallelism)) : P;
        const description = describeUnion(node);
        return this.add({
          uidKind: 'union',
          canonical: `inputs=${inputs.length}\n${schemaText(node.schema)}`,
          name: 'Union',
          description,
          parallelism,
          schema: node.schema,
          mode: node.changelogMode,
          inputs: inputs.map((i) => ({ from: i, partitioning: this.exchange(i, parallelism) })),
          createOperator: () => new UnionOperator(),
        });
      }
      default:
        return unreachable(node);
    }
  }

  private join(node: JoinNode): Planned {
    const left = this.plan(node.left);
    const right = this.plan(node.right);
    const description = describeJoin(node);
    const { joinType, leftKeys, rightKeys, residual, interval, window } = node;
    const ttlText = this.config.tableConfig?.get(STATE_TTL_KEY);
    const stateTtlMs = ttlText === undefined ? 0 : parseDuration(ttlText, STATE_TTL_KEY);
    return this.add({
      uidKind: interval ? 'interval-join' : window ? 'window-join' : 'join',
      canonical: `${description}\n${schemaText(node.schema)}`,
      name: interval ? 'IntervalJoin' : window ? 'WindowJoin' : 'Join',
      description: stateTtlMs > 0 && !interval && !window ? `${description}, stateTtl=[${stateTtlMs} ms]` : description,
      parallelism: this.config.parallelism,
      schema: node.schema,
      mode: node.changelogMode,
      inputs: [
        { from: left, partitioning: { kind: 'hash', keys: leftKeys } },
        { from: right, partitioning: { kind: 'hash', keys: rightKeys } },
      ],
      createOperator: () =>
        interval
          ? new IntervalJoinOperator({ leftKeys, rightKeys, interval, ...(residual ? { residual } : {}) })
          : window
            ? new WindowJoinOperator({ joinType, leftKeys, rightKeys, leftEnd: window.leftEnd, rightEnd: window.rightEnd, ...(residual ? { residual } : {}) })
            : new JoinOperator({ joinType, leftKeys, rightKeys, ...(residual ? { residual } : {}), stateTtlMs }),
    });
  }

  private rank(node: RankNode): Planned {
    if (node.limit === undefined) {
      throw userError(
        'SQL_UNSUPPORTED',
        'ROW_NUMBER() OVER (...) is only supported as Top-N or deduplication: filter it in an outer query with WHERE rn <= N (or rn = 1)',
        {
          position: node.pos,
        },
      );
    }
    const input = this.plan(node.input);
    const description = describeRank(node);
    const keyed = node.partitionKeys.length > 0;
    const parallelism = keyed ? this.config.parallelism : 1;
    const { partitionKeys, orderKeys, limit, outputRank, windowEnd } = node;
    return this.add({
      uidKind: 'rank',
      canonical: `${description}\n${schemaText(node.schema)}`,
      name: windowEnd !== undefined ? 'WindowRank' : limit === 1 ? 'Deduplicate' : 'Rank',
      description,
      parallelism,
      schema: node.schema,
      mode: node.changelogMode,
      inputs: [{ from: input, partitioning: keyed ? { kind: 'hash', keys: partitionKeys } : this.exchange(input, parallelism) }],
      createOperator: () =>
        windowEnd !== undefined
          ? new WindowRankOperator({ partitionKeys, orderKeys, limit, windowEnd })
          : new RankOperator({ partitionKeys, orderKeys, limit, outputRank, insertOnlyInput: input.mode === 'insert-only' }),
    });
  }

  /** A window TVF read directly (Top-N, join or plain rows): one row per (row, window), forward. */
  private windowTvf(node: WindowTvfNode): Planned {
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
    const input = this.plan(node.input);
    const description = describeWindowTvf(node);
    return this.add({
      uidKind: 'window-tvf',
      canonical: `${description}\n${schemaText(node.schema)}`,
      name: 'WindowTableFunction',
      description,
      parallelism: input.parallelism,
      schema: node.schema,
      mode: node.changelogMode,
      inputs: [{ from: input, partitioning: { kind: 'forward' } }],
      createOperator: () => new WindowTvfOperator({ timeCol, window: { kind, size: window.size, slide: window.slide } }),
    });
  }

  private windowAggregate(node: WindowAggregateNode): Planned {
    const input = this.plan(node.input);
    const description = describeWindowAggregate(node);
    const keys = node.groups.flatMap((g) => (g.kind === 'key' ? [g.index] : []));
    // Without keys every row meets in one subtask, as Flink's global window aggregate.
    const parallelism = keys.length > 0 ? this.config.parallelism : 1;
    const { timeCol, window, groups, aggs } = node;
    const specs = (): AggregateSpec[] =>
      aggs.map((a) => ({
        fn: resolveAggregate(
          { name: a.name, distinct: a.distinct, star: a.star, pos: a.pos },
          a.args.map((e) => e.type),
          { retractable: false },
        ),
        args: a.args,
        ...(a.filter ? { filter: a.filter } : {}),
      }));
    return this.add({
      uidKind: 'window-aggregate',
      canonical: `${description}\n${schemaText(node.schema)}`,
      name: 'WindowAggregate',
      description,
      parallelism,
      schema: node.schema,
      mode: node.changelogMode,
      inputs: [{ from: input, partitioning: keys.length > 0 ? { kind: 'hash', keys } : this.exchange(input, parallelism) }],
      createOperator: () => {
        const kind = window.kind;
        switch (kind) {
          case 'SESSION':
            return new SessionWindowAggregateOperator({ timeCol, gap: window.size, groups, aggs: specs() });
          case 'TUMBLE':
          case 'HOP':
          case 'CUMULATE':
            return new WindowAggregateOperator({ timeCol, window: { kind, size: window.size, slide: window.slide }, groups, aggs: specs() });
          default:
            return unreachable(kind);
        }
      },
    });
  }

  private scan(node: ScanNode): Planned {
    const { table } = node;
    const factory = this.sourceFactory(table, node.pos);
    const source = factory.createSource(connectorTable(table), node.schema);
    const fields = node.schema.fields.map((f) => f.name).join(', ');
    const watermarks = sourceWatermarkSpec(table, node.columns, this.config.tableConfig);
    const planned = this.add({
      // Not the columns read: a changed projection keeps the source's uid, so its positions restore.
      uidKind: 'source',
      canonical: `table=${table.name}\nconnector=${factory.name}`,
      name: `Source: ${table.name}`,
      description: `connector=${factory.name}, table=${table.name}, fields=[${fields}]${watermarks ? `, ${watermarks.description}` : ''}`,
      parallelism: this.config.parallelism,
      schema: node.schema,
      mode: source.changelogMode ?? node.changelogMode,
      inputs: [],
      source,
      ...(watermarks ? { watermarks } : {}),
    });
    return source.normalize ? this.normalize(planned, node, source.normalize) : planned;
  }

  /** The changelog-normalize vertex after an upsert source, hashed by the source's key. */
  private normalize(input: Planned, node: ScanNode, spec: NonNullable<Source['normalize']>): Planned {
    const index = (name: string): number => {
      const i = node.schema.fields.findIndex((f) => f.name === name);
      if (i < 0) throw internalError(`changelog-normalize: key column '${name}' was not read from table '${node.table.name}'`);
      return i;
    };
    const keys = spec.keyFields.map(index);
    const tableColumn = spec.tableField === undefined ? -1 : index(spec.tableField);
    return this.add({
      uidKind: 'changelog-normalize',
      // Not the columns read: the state maps them by name, so columns may come and go.
      canonical: `table=${node.table.name}\nkeys=${spec.keyFields.join(',')}`,
      name: 'ChangelogNormalize',
      description: `key=[${spec.keyFields.join(', ')}]`,
      parallelism: this.config.parallelism,
      schema: node.schema,
      mode: 'updating',
      inputs: [{ from: input, partitioning: { kind: 'hash', keys } }],
      createOperator: () => new ChangelogNormalizeOperator({ keys, tableColumn, tableName: node.table.name }),
    });
  }

  private add(spec: VertexSpec): Planned {
    const id = this.vertices.length;
    const uid = this.uids.allocate(
      spec.uidKind,
      spec.canonical,
      spec.inputs.map((i) => i.from.uid),
    );
    const base = {
      id,
      uid,
      name: spec.name,
      description: spec.description,
      parallelism: spec.parallelism,
      outputSchema: spec.schema,
      changelogMode: spec.mode,
    };
    if (spec.source) {
      const wm = spec.watermarks ? { watermarks: spec.watermarks } : {};
      this.vertices.push(Object.freeze({ ...base, kind: 'source' as const, source: spec.source, ...wm }));
    } else {
      const create = spec.createOperator!;
      this.vertices.push(Object.freeze({ ...base, kind: 'operator' as const, createOperator: create, isSink: spec.isSink ?? false }));
    }
    spec.inputs.forEach((inp, targetInput) => {
      this.edges.push(Object.freeze({ source: inp.from.id, target: id, targetInput, partitioning: inp.partitioning }));
    });
    return { id, uid, parallelism: spec.parallelism, mode: spec.mode, schema: spec.schema };
  }
}
