/**
 * Binding of `ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)` in a SELECT list, and the rule
 * that turns it into Top-N: Flink runs such a query only when an outer query filters the row
 * number (`WHERE rn <= N`, `rn < N`, `rn = 1`); the filter becomes the rank's limit.
 *
 *   SELECT *, ROW_NUMBER() OVER (PARTITION BY p ORDER BY o DESC) AS rn FROM t
 * binds to Calc(items) <- Rank(partition p, order o DESC, no limit yet) <- Calc(t's columns, p, o);
 * the outer `WHERE rn <= 3` merges into the items calc, and `rankLimit` moves it into the rank.
 */
import { bindExpr } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { userError } from '../errors.js';
import type { CallExpr, Expr, Pos } from '../sql/ir.js';
import { conjuncts } from './bind-join.js';
import { andExpr, collectInputs, inputRef } from './bound-util.js';
import { findInExpr } from './ir-util.js';
import { BIGINT_NOT_NULL } from './logical-schema.js';
import { calcNode } from './logical-nodes.js';
import { rankNode } from './logical-rank.js';
import type { LogicalNode } from './logical.js';
import type { RelationScope } from './scope.js';

/** The first call with an OVER clause in `e`, if any. */
export function findOver(e: Expr): CallExpr | undefined {
  return findInExpr(e, (x): x is CallExpr => x.kind === 'call' && x.over !== undefined);
}

export interface RankSelect {
  readonly input: LogicalNode;
  readonly scope: RelationScope;
  readonly where?: BoundExpr;
  readonly items: readonly { readonly expr: Expr; readonly name: string; readonly pos: Pos }[];
}

export function bindRankSelect(sel: RankSelect): LogicalNode {
  const overs = sel.items.filter((i) => i.expr.kind === 'call' && i.expr.over);
  for (const i of sel.items) {
    const nested = findOver(i.expr);
    if (nested && nested !== i.expr) {
      throw userError('SQL_UNSUPPORTED', 'ROW_NUMBER() OVER (...) must be a SELECT item of its own (give it an alias and use it in an outer query)', {
        position: nested.pos,
      });
    }
  }
  if (overs.length > 1) throw userError('SQL_UNSUPPORTED', 'only one ROW_NUMBER() OVER (...) per SELECT is supported', { position: overs[1]!.pos });
  const item = overs[0]!;
  const call = item.expr as CallExpr;
  const over = call.over!;
  if (call.args.length > 0) throw userError('WRONG_ARGUMENTS', 'ROW_NUMBER() takes no arguments', { position: call.pos });
  const { input, scope } = sel;
  const fields = input.schema.fields;
  const projections: BoundExpr[] = fields.map((f, i) => inputRef(i, f.type));
  const names: string[] = fields.map((f) => f.name);
  const column = (e: Expr, tag: string): number => {
    const b = bindExpr(e, { scope });
    if (b.kind === 'input') return b.index;
    projections.push(b);
    names.push(`\u0000${tag}${projections.length}`);
    return projections.length - 1;
  };
  const partitionKeys = over.partitionBy.map((e) => column(e, 'p'));
  const orderKeys = over.orderBy.map((o) => ({ index: column(o.expr, 'o'), descending: o.descending }));
  const pre = calcNode(input, projections, names, sel.where);
  const rank = rankNode(pre, partitionKeys, orderKeys, undefined, true, item.name, over.pos);
  const rn = pre.schema.fields.length;
  const out = sel.items.map((i) => (i === item ? inputRef(rn, BIGINT_NOT_NULL) : bindExpr(i.expr, { scope })));
  return calcNode(
    rank,
    out,
    sel.items.map((i) => i.name),
  );
}

/** The limit a conjunct `rn <= N` / `rn < N` / `rn = 1` (or mirrored) gives, if it is one. */
function limitOf(e: BoundExpr, rn: number): number | undefined {
  if (e.kind !== 'call' || e.args.length !== 2) return undefined;
  const value = (x: BoundExpr): number | undefined => {
    if (x.kind === 'literal' && typeof x.value === 'number' && Number.isInteger(x.value)) return x.value;
    if (x.kind === 'call' && x.fn === 'CAST' && x.args.length === 1) return value(x.args[0]!);
    return undefined;
  };
  const isRn = (x: BoundExpr): boolean =>
    (x.kind === 'input' && x.index === rn) || (x.kind === 'call' && x.fn === 'CAST' && x.args.length === 1 && isRn(x.args[0]!));
  let op = e.fn;
  let n: number | undefined;
  if (isRn(e.args[0]!)) n = value(e.args[1]!);
  else if (isRn(e.args[1]!)) {
    n = value(e.args[0]!);
    op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' } as Record<string, string>)[op] ?? '';
  }
  if (n === undefined) return undefined;
  if (op === '<=' && n >= 1) return n;
  if (op === '<' && n >= 2) return n - 1;
  if (op === '=' && n === 1) return 1;
  return undefined;
}

/** Calc(WHERE rn <= N) over a Rank without limit: the rank gets limit N and drops unread row numbers. */
export function rankLimit(node: LogicalNode): LogicalNode {
  if (node.kind !== 'calc' || node.input.kind !== 'rank' || node.input.limit !== undefined) return node;
  const rank = node.input;
  const rn = rank.schema.fields.length - 1;
  const rest: BoundExpr[] = [];
  let limit: number | undefined;
  for (const c of conjuncts(node.filter)) {
    const l = limit === undefined ? limitOf(c, rn) : undefined;
    if (l !== undefined) limit = l;
    else rest.push(c);
  }
  if (limit === undefined) return node;
  const filter = rest.reduce<BoundExpr | undefined>((a, b) => andExpr(a, b), undefined);
  const used = new Set<number>();
  for (const p of node.projections) collectInputs(p, used);
  if (filter) collectInputs(filter, used);
  const limited = rankNode(rank.input, rank.partitionKeys, rank.orderKeys, limit, used.has(rn), rank.schema.fields[rn]!.name, rank.pos);
  return calcNode(
    limited,
    node.projections,
    node.schema.fields.map((f) => f.name),
    filter,
  );
}
