/**
 * Projection pushdown: a scan reads only the columns its consumer uses, so the connector can skip
 * the others (fewer fields parsed, fewer values per row on every channel).
 */
import type { BoundExpr } from '../../expr/bound.js';
import { collectInputs, remapInputs } from '../bound-util.js';
import { watermarkColumns } from '../source-watermark.js';
import { aggregateNode, calcNode, scanNode } from '../logical-nodes.js';
import type { LogicalNode, ScanNode } from '../logical.js';

/** The scan restricted to `used` (indexes of its output) and the old-to-new index mapping. */
function prune(scan: ScanNode, used: Set<number>): { scan: ScanNode; mapping: number[] } | undefined {
  // A source always produces at least one column: batches carry their row count with it.
  if (used.size === 0) used.add(0);
  // An updating source's changes are keyed: its primary key is always read (a normalize step or a
  // keyed sink may need it even when the query does not).
  if (scan.changelogMode === 'updating') {
    for (const k of scan.table.primaryKey) {
      const i = scan.columns.findIndex((c) => scan.table.schema.fields[c].name === k);
      if (i >= 0) used.add(i);
    }
  }
  // The source generates watermarks from its rows: the WATERMARK's columns are always read.
  for (const c of watermarkColumns(scan.table)) {
    const i = scan.columns.indexOf(c);
    if (i >= 0) used.add(i);
  }
  if (used.size === scan.columns.length) return undefined;
  const kept = [...used].sort((a, b) => a - b);
  const mapping: number[] = new Array(scan.columns.length).fill(-1);
  kept.forEach((old, i) => (mapping[old] = i));
  return {
    scan: scanNode(
      scan.table,
      kept.map((i) => scan.columns[i]),
      scan.changelogMode,
      scan.pos,
    ),
    mapping,
  };
}

function usedBy(exprs: readonly (BoundExpr | undefined)[]): Set<number> {
  const used = new Set<number>();
  for (const e of exprs) if (e) collectInputs(e, used);
  return used;
}

export function pushProjectionIntoScan(node: LogicalNode): LogicalNode {
  if (node.kind === 'calc' && node.input.kind === 'scan') {
    const pruned = prune(node.input, usedBy([...node.projections, node.filter]));
    if (!pruned) return node;
    const { scan, mapping } = pruned;
    return calcNode(
      scan,
      node.projections.map((p) => remapInputs(p, mapping)),
      node.schema.fields.map((f) => f.name),
      node.filter ? remapInputs(node.filter, mapping) : undefined,
    );
  }
  if (node.kind === 'aggregate' && node.input.kind === 'scan') {
    const used = new Set(node.groupKeys);
    for (const a of node.aggs) for (const e of [...a.args, a.filter]) if (e) collectInputs(e, used);
    const pruned = prune(node.input, used);
    if (!pruned) return node;
    const { scan, mapping } = pruned;
    const aggs = node.aggs.map((a) => ({
      ...a,
      args: a.args.map((e) => remapInputs(e, mapping)),
      ...(a.filter ? { filter: remapInputs(a.filter, mapping) } : {}),
    }));
    return aggregateNode(
      scan,
      node.groupKeys.map((k) => mapping[k]),
      aggs,
      node.schema.fields.map((f) => f.name),
      node.origin,
    );
  }
  return node;
}
