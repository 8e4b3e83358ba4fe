/** Whether a sink can take the changelog its query produces, and if not, what to change. */
import { unreachable, userError } from '../errors.js';
import type { Sink } from '../sink/two-phase-commit.js';
import type { Pos } from '../sql/ir.js';
import type { BoundInsert } from './bind-insert.js';
import type { LogicalNode } from './logical.js';

/** Throws UPDATING_INTO_APPEND_ONLY when the query updates and the sink only appends. */
export function checkSinkChangelog(bound: BoundInsert, sink: Sink, pos: Pos): void {
  const { table, factory, sinkSchema, node } = bound;
  if (node.changelogMode !== 'updating' || sink.acceptsUpdates) return;
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
    position: pos,
    details: { table: table.name, connector: factory.name },
  });
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
