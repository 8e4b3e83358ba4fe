/**
 * Binding of an aggregate SELECT (GROUP BY, aggregate calls, HAVING) into
 *   Calc(WHERE; group expressions, aggregate arguments) -> Aggregate -> Calc(HAVING; SELECT items).
 *
 * SELECT items and HAVING may use the group expressions (matched structurally after binding, so
 * `GROUP BY a + 1` allows `SELECT (a + 1) * 2`) and aggregate calls; any other column reference is
 * "not being grouped", as in Flink.
 */
import { resolveAggregate } from '../expr/aggregates.js';
import { bindExpr, type BindContext, type Scope } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { formatType, type SqlType } from '../model/types.js';
import { userError } from '../errors.js';
import type { CallExpr, ColumnExpr, Expr, Pos } from '../sql/ir.js';
import { boundKey, countInputs, inputRef } from './bound-util.js';
import { columnText, exprChildren, findAggregate, isAggregateCall, rewriteExpr } from './ir-util.js';
import { aggregateNode, calcNode } from './logical-nodes.js';
import type { AggCall, LogicalNode } from './logical.js';
import type { RelationScope } from './scope.js';
import { uniquify } from './names.js';
import { rewriteLegacyWindow, toWindowAggregate } from './bind-window.js';

/** Qualifier of the synthetic column references that stand for group column i (name = 'i'). */
const GROUP_MARKER = '\u0000group';

export interface AggregateSelect {
  readonly input: LogicalNode;
  readonly scope: RelationScope;
  readonly where?: BoundExpr;
  readonly items: readonly { readonly expr: Expr; readonly name: string; readonly pos: Pos }[];
  readonly groupBy: readonly Expr[];
  readonly having?: Expr;
  /** The SELECT, for errors that concern the whole aggregate. */
  readonly pos?: Pos;
}

/** Throws when `e` is not BOOLEAN; `clause` names where it was written. */
export function requireBoolean(e: BoundExpr, clause: string, pos: Pos): void {
  if (e.type.kind !== 'BOOLEAN' && e.type.kind !== 'NULL') {
    throw userError('NOT_BOOLEAN', `${clause} must be a boolean condition, but it has type ${formatType(e.type)}`, { position: pos });
  }
}

export function rejectAggregate(e: Expr, clause: string): void {
  const agg = findAggregate(e);
  if (agg) {
    throw userError('AGGREGATE_NOT_ALLOWED', `aggregate function ${agg.name} is not allowed in ${clause}`, { position: agg.pos });
  }
}

class PostAggregateScope implements Scope {
  constructor(
    private readonly inputScope: Scope,
    private readonly groupTypes: readonly SqlType[],
  ) {}

  resolveColumn(ref: ColumnExpr): { index: number; type: SqlType } {
    if (ref.table === GROUP_MARKER) {
      const i = Number(ref.name);
      return { index: i, type: this.groupTypes[i] };
    }
    // Unknown columns get the "not found" error first.
    this.inputScope.resolveColumn(ref);
    throw userError('NOT_GROUPED', `expression '${columnText(ref)}' is not being grouped; add it to GROUP BY or use it in an aggregate`, {
      position: ref.pos,
    });
  }
}

export function bindAggregateSelect(sel: AggregateSelect): LogicalNode {
  // GROUP BY TUMBLE(ts, ...): the same as grouping a window TVF by window_start, window_end.
  const legacy = rewriteLegacyWindow(sel);
  if (legacy) return bindAggregateSelect({ ...sel, ...legacy });
  const inputNames = sel.input.schema.fields.map((f) => f.name);

  const groupExprs: BoundExpr[] = [];
  const groupByKey = new Map<string, number>();
  const groupNames: string[] = [];
  const groupPos: Pos[] = [];
  for (const g of sel.groupBy) {
    rejectAggregate(g, 'GROUP BY');
    const bound = bindExpr(g, { scope: sel.scope });
    const key = boundKey(bound);
    if (groupByKey.has(key)) continue;
    groupByKey.set(key, groupExprs.length);
    groupPos.push(g.pos);
    groupNames.push(bound.kind === 'input' ? inputNames[bound.index] : `$f${groupExprs.length}`);
    groupExprs.push(bound);
  }
  const g = groupExprs.length;

  // Pre-aggregation projection: group expressions, then aggregate arguments and FILTER conditions.
  const pre: BoundExpr[] = [...groupExprs];
  const preNames: string[] = [...groupNames];
  const preByKey = new Map<string, number>(groupExprs.map((e, i) => [boundKey(e), i]));
  const preRef = (e: BoundExpr): BoundExpr => {
    const key = boundKey(e);
    let i = preByKey.get(key);
    if (i === undefined) {
      i = pre.length;
      preByKey.set(key, i);
      pre.push(e);
      preNames.push(e.kind === 'input' ? inputNames[e.index] : `$f${i}`);
    }
    return inputRef(i, e.type);
  };

  const aggs: AggCall[] = [];
  const aggByKey = new Map<string, number>();
  const aggregate = (call: CallExpr): BoundExpr => {
    for (const a of call.args) {
      const nested = findAggregate(a);
      if (nested)
        throw userError('NESTED_AGGREGATE', `aggregate function calls cannot be nested (${nested.name} inside ${call.name})`, { position: nested.pos });
    }
    if (call.filter) rejectAggregate(call.filter, 'an aggregate FILTER');
    const args = call.star ? [] : call.args.map((a) => bindExpr(a, { scope: sel.scope }));
    let filter: BoundExpr | undefined;
    if (call.filter) {
      const f: BoundExpr = bindExpr(call.filter, { scope: sel.scope });
      requireBoolean(f, 'FILTER (WHERE ...)', call.filter.pos);
      filter = f;
    }
    const fn = resolveAggregate(
      { name: call.name, distinct: call.distinct, star: call.star, pos: call.pos },
      args.map((a) => a.type),
    );
    const argRefs = args.map(preRef);
    const filterRef = filter ? preRef(filter) : undefined;
    const key = `${call.name}|${call.distinct}|${call.star}|${argRefs.map(boundKey).join(',')}|${filterRef ? boundKey(filterRef) : ''}`;
    let j = aggByKey.get(key);
    if (j === undefined) {
      j = aggs.length;
      aggByKey.set(key, j);
      aggs.push({
        name: call.name,
        distinct: call.distinct,
        star: call.star,
        args: argRefs,
        ...(filterRef ? { filter: filterRef } : {}),
        resultType: fn.resultType,
        pos: call.pos,
      });
    }
    return inputRef(g + j, fn.resultType);
  };

  // Replaces sub-expressions equal to a group expression by a reference to that group column.
  // (constants are never replaced: a group expression reads at least one input)
  const groupInputs = new Set(groupExprs.map((e) => countInputs(e, new Map())).filter((n) => n > 0));
  const substitute = (root: Expr): Expr => {
    const bound = bindSubExpressions(root, sel.scope);
    const inputs = new Map<BoundExpr, number>();
    return rewriteExpr(root, (e) => {
      if (isAggregateCall(e)) return e;
      const b = bound.get(e);
      // Only an expression reading as many inputs as some group expression can equal it; the
      // count is cheap, the key is built only then (a long chain is not keyed at every node).
      if (b === undefined || !groupInputs.has(countInputs(b, inputs))) return undefined;
      const gi = groupByKey.get(boundKey(b));
      return gi !== undefined ? { kind: 'column', table: GROUP_MARKER, name: String(gi), pos: e.pos } : undefined;
    });
  };

  const postCtx: BindContext = {
    scope: new PostAggregateScope(
      sel.scope,
      groupExprs.map((e) => e.type),
    ),
    aggregate,
  };
  const projections = sel.items.map((item) => bindExpr(substitute(item.expr), postCtx));
  let having: BoundExpr | undefined;
  if (sel.having) {
    const h: BoundExpr = bindExpr(substitute(sel.having), postCtx);
    requireBoolean(h, 'HAVING', sel.having.pos);
    having = h;
  }

  const preCalc = calcNode(sel.input, pre, uniquify(preNames), sel.where);
  const aggNames = uniquify([...groupNames, ...aggs.map((_, j) => `EXPR$${g + j}`)]);
  const origin = sel.groupBy.length > 0 ? 'GROUP BY' : 'an aggregate without GROUP BY';
  const pos = sel.pos ?? sel.groupBy[0]?.pos;
  const agg =
    toWindowAggregate({ pre: preCalc, groupCount: g, groupPos, aggs, names: aggNames, origin: 'a window aggregate', pos }) ??
    aggregateNode(
      preCalc,
      groupExprs.map((_, i) => i),
      aggs,
      aggNames,
      origin,
    );
  return calcNode(
    agg,
    projections,
    sel.items.map((i) => i.name),
    having,
  );
}

/**
 * The bound form of every sub-expression of `root` that binds on its own against the input
 * (those without aggregate calls and errors), each node bound once. A failed sub-expression is
 * left out: it is reported with its real position when the whole expression is bound.
 */
function bindSubExpressions(root: Expr, scope: Scope): Map<Expr, BoundExpr> {
  const memo = new Map<Expr, BoundExpr>();
  const ctx: BindContext = { scope, memo };
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (memo.has(e) || isAggregateCall(e)) continue;
    try {
      bindExpr(e, ctx);
    } catch {
      const children = exprChildren(e);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
  return memo;
}
