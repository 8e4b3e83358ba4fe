/**
 * Source reuse across the INSERTs of one job (as Flink's table.optimizer.reuse-source-enabled):
 * a table scanned more than once — by several INSERTs of a statement set, or twice in one query —
 * is read by ONE source that produces the union of the columns every scan needs; each former scan
 * becomes a projection of it. The shared scan is one node object, and the physical planner plans
 * a node object once, so the job reads the table once and checkpoints one set of positions.
 */
import { inputRef } from '../bound-util.js';
import { calcNode, scanNode } from '../logical-nodes.js';
import { nodeInputs, type LogicalNode, type ScanNode } from '../logical.js';
import { transformUp } from './transform.js';

function collectScans(node: LogicalNode, into: Map<string, ScanNode[]>): void {
  if (node.kind === 'scan') {
    const list = into.get(node.table.name) ?? [];
    list.push(node);
    into.set(node.table.name, list);
    return;
  }
  for (const input of nodeInputs(node)) collectScans(input, into);
}

export function shareScans(roots: readonly LogicalNode[]): LogicalNode[] {
  const scans = new Map<string, ScanNode[]>();
  for (const root of roots) collectScans(root, scans);
  const shared = new Map<string, ScanNode>();
  for (const [name, list] of scans) {
    if (list.length < 2) continue;
    const columns = [...new Set(list.flatMap((s) => s.columns))].sort((a, b) => a - b);
    shared.set(name, scanNode(list[0].table, columns, list[0].changelogMode, list[0].pos));
  }
  if (shared.size === 0) return [...roots];
  return roots.map((root) =>
    transformUp(root, (n) => {
      if (n.kind !== 'scan') return n;
      const s = shared.get(n.table.name);
      if (!s) return n;
      if (s.columns.length === n.columns.length) return s;
      const projections = n.columns.map((c, i) => inputRef(s.columns.indexOf(c), n.schema.fields[i].type));
      return calcNode(
        s,
        projections,
        n.schema.fields.map((f) => f.name),
      );
    }),
  );
}
