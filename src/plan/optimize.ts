/** The rewrite pipeline applied to every bound query before physical planning. */
import type { LogicalNode } from './logical.js';
import { mergeCalcs } from './rules/merge-calcs.js';
import { rankLimit } from './bind-rank.js';
import { pushProjectionThroughJoin } from './rules/join-projection.js';
import { pushProjectionIntoScan } from './rules/projection-pushdown.js';
import { removeTrivialCalc } from './rules/remove-trivial-calc.js';
import { transformUp } from './rules/transform.js';

export function optimize(node: LogicalNode): LogicalNode {
  let n = transformUp(node, mergeCalcs);
  n = transformUp(n, rankLimit);
  n = transformUp(n, pushProjectionThroughJoin);
  n = transformUp(n, mergeCalcs);
  n = transformUp(n, pushProjectionIntoScan);
  n = transformUp(n, removeTrivialCalc);
  return n;
}
