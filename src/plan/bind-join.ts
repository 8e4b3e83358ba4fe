/**
 * Binding of joins in FROM: `a [INNER|LEFT|RIGHT|FULL] JOIN b ON ...` and comma joins
 * (`FROM a, b WHERE a.k = b.k`).
 *
 * The FROM clause is first collected into a tree (leaves are bound tables, views, subqueries and
 * window TVFs); then WHERE is bound over all of its columns, and the joins are built bottom-up:
 * - an inner (or comma) join takes the WHERE conjuncts that read both of its sides as part of its
 *   condition, and conjuncts that read one side only are pushed below it as a filter of that side;
 * - `left = right` conjuncts between the two sides are the equi-join keys (the hash exchange keys);
 *   the rest is the residual condition, evaluated on each candidate pair;
 * - two rowtime columns bounded on both sides (`a.ts BETWEEN b.ts - INTERVAL ... AND b.ts +
 *   INTERVAL ...`) over insert-only inputs make an interval join;
 * - a join without any equality between its sides is an error (weir does not run cross joins).
 * Outer joins keep their ON condition and take nothing from WHERE, whose conditions on the padded
 * side must see the NULLs.
 */
import { bindExpr } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { mapBoundLeaves } from '../expr/bound-walk.js';
import { isInteger, isString, type SqlType } from '../model/types.js';
import { userError } from '../errors.js';
import type { Expr, JoinRef, Pos } from '../sql/ir.js';
import { rejectAggregate, requireBoolean } from './bind-aggregate.js';
import { andExpr, collectInputs, inputRef } from './bound-util.js';
import { calcNode } from './logical-nodes.js';
import { joinNode } from './logical-join.js';
import type { IntervalBounds, JoinType, LogicalNode } from './logical.js';
import { RelationScope, type Relation } from './scope.js';

/** A FROM clause before its joins are built. */
export type FromTree =
  | { readonly kind: 'leaf'; readonly node: LogicalNode; readonly name: string | undefined }
  | {
      readonly kind: 'join';
      readonly joinType: JoinRef['joinType'];
      readonly left: FromTree;
      readonly right: FromTree;
      readonly on?: Expr;
      readonly pos: Pos;
    };

export function treeWidth(t: FromTree): number {
  return t.kind === 'leaf' ? t.node.schema.fields.length : treeWidth(t.left) + treeWidth(t.right);
}

/** The relations a FROM tree brings into scope, with offsets from `offset`. */
export function treeRelations(t: FromTree, offset = 0): Relation[] {
  if (t.kind === 'leaf') return [{ name: t.name, fields: t.node.schema.fields, offset }];
  return [...treeRelations(t.left, offset), ...treeRelations(t.right, offset + treeWidth(t.left))];
}

/** Splits a condition into its AND-ed parts. */
export function conjuncts(e: BoundExpr | undefined, into: BoundExpr[] = []): BoundExpr[] {
  if (!e) return into;
  // A loop, not recursion: `a AND b AND ...` may be thousands of terms deep.
  const stack: BoundExpr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.kind === 'call' && x.fn === 'AND' && x.args.length === 2) stack.push(x.args[1]!, x.args[0]!);
    else into.push(x);
  }
  return into;
}

function inputsOf(e: BoundExpr): number[] {
  const s = new Set<number>();
  collectInputs(e, s);
  return [...s];
}

/** `e` with every input reference moved by `by` columns. */
function shift(e: BoundExpr, by: number): BoundExpr {
  if (by === 0) return e;
  return mapBoundLeaves(e, (x) => (x.kind === 'input' ? Object.freeze({ ...x, index: x.index + by }) : x));
}

/**
 * Builds the joins of `tree` (whose first column is column `offset` of the whole FROM row).
 * `pushable` holds WHERE conjuncts over the whole FROM row that may still be applied here; the
 * ones consumed are removed from it.
 */
export function buildFrom(tree: FromTree, offset: number, pushable: BoundExpr[]): LogicalNode {
  const width = treeWidth(tree);
  const within = (e: BoundExpr): boolean => inputsOf(e).every((i) => i >= offset && i < offset + width);
  if (tree.kind === 'leaf') {
    const mine = take(pushable, within);
    if (mine.length === 0) return tree.node;
    const node = tree.node;
    const filter = mine.map((e) => shift(e, -offset)).reduce<BoundExpr | undefined>((a, b) => andExpr(a, b), undefined);
    return calcNode(
      node,
      node.schema.fields.map((f, i) => inputRef(i, f.type)),
      node.schema.fields.map((f) => f.name),
      filter,
    );
  }
  const lw = treeWidth(tree.left);
  const inner = tree.joinType === 'inner' || tree.joinType === 'cross';
  // Local condition parts: column 0 is this join's first column.
  const local: BoundExpr[] = [];
  if (tree.on) {
    rejectAggregate(tree.on, 'a JOIN condition');
    const scope = new RelationScope(treeRelations(tree, 0));
    const on = bindExpr(tree.on, { scope });
    requireBoolean(on, 'a JOIN condition', tree.on.pos);
    conjuncts(on, local);
  }
  // Conditions on one side only of an inner join filter that side before the join; what no side
  // takes (one below an outer join) stays in this join's condition.
  const below: BoundExpr[] = [];
  if (inner) {
    for (const e of take(pushable, within)) local.push(shift(e, -offset));
    for (let k = local.length - 1; k >= 0; k--) {
      const ins = inputsOf(local[k]!);
      if (ins.length > 0 && (ins.every((i) => i < lw) || ins.every((i) => i >= lw))) {
        below.push(shift(local[k]!, offset));
        local.splice(k, 1);
      }
    }
  }
  const left = buildFrom(tree.left, offset, below);
  const right = buildFrom(tree.right, offset + lw, below);
  for (const e of below) local.push(shift(e, -offset));

  const leftKeys: number[] = [];
  const rightKeys: number[] = [];
  const rest: BoundExpr[] = [];
  for (const e of local) {
    const pair = equiPair(e, lw);
    if (pair) {
      leftKeys.push(pair[0]);
      rightKeys.push(pair[1] - lw);
    } else rest.push(e);
  }
  if (leftKeys.length === 0) {
    const what = tree.joinType === 'cross' ? 'a comma join (or CROSS JOIN)' : `this ${tree.joinType.toUpperCase()} JOIN`;
    throw userError(
      'JOIN_WITHOUT_EQUALITY',
      `${what} has no equality condition between its two sides; a streaming join needs one (ON a.k = b.k${tree.joinType === 'cross' ? ' or WHERE a.k = b.k' : ''}) to keep its state by key`,
      { position: tree.pos },
    );
  }
  const joinType: JoinType = tree.joinType === 'cross' ? 'inner' : tree.joinType;
  const interval = joinType === 'inner' ? intervalBounds(rest, left, right, lw) : undefined;
  const residualParts = interval ? rest.filter((e) => !interval.used.has(e)) : rest;
  const residual = residualParts.reduce<BoundExpr | undefined>((a, b) => andExpr(a, b), undefined);
  return joinNode(joinType, left, right, leftKeys, rightKeys, residual, interval?.bounds);
}

function take(list: BoundExpr[], pred: (e: BoundExpr) => boolean): BoundExpr[] {
  const out: BoundExpr[] = [];
  for (let k = 0; k < list.length; ) {
    if (pred(list[k]!)) out.push(...list.splice(k, 1));
    else k++;
  }
  return out;
}

/** Whether values of `from` and `to` have the same JS representation (a key cast that can be dropped). */
function sameRepresentation(from: SqlType, to: SqlType): boolean {
  if (isInteger(from) && isInteger(to)) return true;
  return isString(from) && isString(to) && from.kind !== 'CHAR' && to.kind !== 'CHAR';
}

function keyColumn(e: BoundExpr): number | undefined {
  if (e.kind === 'input') return e.index;
  if (e.kind === 'call' && e.fn === 'CAST' && e.args.length === 1 && e.args[0]!.kind === 'input' && sameRepresentation(e.args[0]!.type, e.type)) {
    return e.args[0]!.index;
  }
  return undefined;
}

/** [left column, right column] of `l = r` between the two sides, if `e` is one. */
function equiPair(e: BoundExpr, lw: number): [number, number] | undefined {
  if (e.kind !== 'call' || e.fn !== '=' || e.args.length !== 2) return undefined;
  const a = keyColumn(e.args[0]!);
  const b = keyColumn(e.args[1]!);
  if (a === undefined || b === undefined) return undefined;
  if (a < lw && b >= lw) return [a, b];
  if (b < lw && a >= lw) return [b, a];
  return undefined;
}

const UNIT_MS: Readonly<Record<string, number>> = { WEEK: 604_800_000, DAY: 86_400_000, HOUR: 3_600_000, MINUTE: 60_000, SECOND: 1000, MILLISECOND: 1 };

/** `col + offset` for a rowtime column reference, possibly shifted by a day-time INTERVAL. */
function timeTerm(e: BoundExpr): { col: number; offset: number } | undefined {
  if (e.kind === 'input') return e.type.timeAttribute === 'rowtime' ? { col: e.index, offset: 0 } : undefined;
  if (e.kind === 'call' && e.fn === 'TIMESTAMPADD' && e.args.length === 3) {
    const [unit, n, x] = e.args as [BoundExpr, BoundExpr, BoundExpr];
    const inner = timeTerm(x);
    if (!inner || unit.kind !== 'literal' || n.kind !== 'literal' || typeof n.value !== 'number') return undefined;
    const ms = UNIT_MS[String(unit.value).toUpperCase()];
    if (ms === undefined) return undefined;
    return { col: inner.col, offset: inner.offset + n.value * ms };
  }
  return undefined;
}

/**
 * The interval join bounds the conjuncts `rest` give on left.time - right.time, when both a lower
 * and an upper bound exist on the same pair of rowtime columns of insert-only inputs.
 */
function intervalBounds(
  rest: readonly BoundExpr[],
  left: LogicalNode,
  right: LogicalNode,
  lw: number,
): { bounds: IntervalBounds; used: Set<BoundExpr> } | undefined {
  if (left.changelogMode !== 'insert-only' || right.changelogMode !== 'insert-only') return undefined;
  let pair: [number, number] | undefined;
  let lower = -Infinity;
  let upper = Infinity;
  const used = new Set<BoundExpr>();
  // a OP b with a = x + ox, b = y + oy: records the bound on left - right.
  const compare = (op: string, a: BoundExpr, b: BoundExpr): boolean => {
    const x = timeTerm(a);
    const y = timeTerm(b);
    if (!x || !y) return false;
    let l: { col: number; offset: number };
    let r: { col: number; offset: number };
    let o = op;
    if (x.col < lw && y.col >= lw) [l, r] = [x, y];
    else if (y.col < lw && x.col >= lw) {
      [l, r] = [y, x];
      o = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[op]!;
    } else return false;
    const key: [number, number] = [l.col, r.col - lw];
    if (pair && (pair[0] !== key[0] || pair[1] !== key[1])) return false;
    pair = key;
    // l.col + l.offset OP r.col + r.offset  <=>  l.col - r.col OP r.offset - l.offset
    const c = r.offset - l.offset;
    switch (o) {
      case '>=':
        lower = Math.max(lower, c);
        return true;
      case '>':
        lower = Math.max(lower, c + 1);
        return true;
      case '<=':
        upper = Math.min(upper, c);
        return true;
      case '<':
        upper = Math.min(upper, c - 1);
        return true;
      default:
        return false;
    }
  };
  for (const e of rest) {
    if (e.kind !== 'call') continue;
    if (e.fn === 'BETWEEN' && e.args.length === 3) {
      const [x, lo, hi] = e.args as [BoundExpr, BoundExpr, BoundExpr];
      const before = { lower, upper, pair };
      if (compare('>=', x, lo) && compare('<=', x, hi)) used.add(e);
      else ({ lower, upper, pair } = before);
    } else if (['<', '<=', '>', '>='].includes(e.fn) && e.args.length === 2) {
      if (compare(e.fn, e.args[0]!, e.args[1]!)) used.add(e);
    }
  }
  if (!pair || lower === -Infinity || upper === Infinity) return undefined;
  if (lower > upper) {
    // At the first of the conditions that bound the times.
    const at = [...used].find((u): u is Extract<BoundExpr, { kind: 'call' }> => u.kind === 'call' && u.pos !== undefined)?.pos;
    throw userError(
      'EMPTY_INTERVAL_JOIN',
      `the time bounds of this interval join can never hold (left time - right time must be between ${lower} ms and ${upper} ms)`,
      {
        ...(at ? { position: at } : {}),
      },
    );
  }
  return { bounds: { leftTime: pair[0], rightTime: pair[1], lower, upper }, used };
}
