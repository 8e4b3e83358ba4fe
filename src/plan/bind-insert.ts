/** Binding an INSERT: its target table and connector, its query, fitted to the sink's columns and rewritten. */
import type { TableDef } from '../catalog/table.js';
import { userError } from '../errors.js';
import type { Schema } from '../model/types.js';
import type { InsertStatement, Pos } from '../sql/ir.js';
import { bindQuery } from './bind-query.js';
import type { Catalog } from './catalog.js';
import { type SinkFactory, sinkFactory } from './connector-lookup.js';
import { calcNode } from './logical-nodes.js';
import type { ChangelogMode, LogicalNode } from './logical.js';
import { optimize } from './optimize.js';
import { isIdentityOver } from './rules/remove-trivial-calc.js';
import { sinkColumns, sinkProjections } from './sink-fit.js';

/** An INSERT bound and rewritten, ready for physical planning. */
export interface BoundInsert {
  readonly table: TableDef;
  readonly factory: SinkFactory;
  /** The rows the sink receives: the table's physical and persisted metadata columns. */
  readonly sinkSchema: Schema;
  /** Indexes of the table's primary key columns in sinkSchema. */
  readonly primaryKey: readonly number[];
  /** The optimized plan producing sinkSchema's columns. */
  readonly node: LogicalNode;
}

/** Binds an INSERT against the catalog and fits the query to the sink table (no connector sinks created). */
export function bindInsert(insert: InsertStatement, catalog: Catalog, scanMode?: (t: TableDef, pos: Pos) => ChangelogMode): BoundInsert {
  if (insert.overwrite) throw userError('UNSUPPORTED_OVERWRITE', 'INSERT OVERWRITE is not supported on streams yet; use INSERT INTO', { position: insert.pos });
  const def = catalog.resolve(insert.target, insert.pos);
  if (def.kind === 'view') throw userError('INSERT_INTO_VIEW', `cannot INSERT INTO view '${def.name}': a view is read-only`, { position: insert.pos });
  const table = def;
  const factory = sinkFactory(table, insert.pos);
  const { sinkSchema, primaryKey } = sinkColumns(table, insert.pos);
  const query = bindQuery(insert.query, catalog, scanMode ? { scanMode } : {});
  const projections = sinkProjections(insert, table, sinkSchema, query.schema);
  let node = optimize(
    calcNode(
      query,
      projections,
      sinkSchema.fields.map((f) => f.name),
    ),
  );
  // The sink reads columns by position: a calc that only renames is not needed.
  if (node.kind === 'calc' && !node.filter && isIdentityOver(node.projections, node.input.schema)) node = node.input;
  return { table, factory, sinkSchema, primaryKey, node };
}
