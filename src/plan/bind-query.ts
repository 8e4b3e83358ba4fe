/**
 * Binds a query against the catalog into a logical plan: resolves tables, views (inlined) and
 * subqueries, expands `*`, binds expressions, and shapes SELECT / GROUP BY / HAVING / DISTINCT /
 * UNION into scan, calc, aggregate, union and values nodes. Unsupported constructs on streams
 * (ORDER BY, LIMIT, JOIN) are rejected with their position.
 */
import type { TableDef, ViewDef } from '../catalog/table.js';
import { bindExpr, implicitCast } from '../expr/bind.js';
import type { BoundExpr } from '../expr/bound.js';
import { canCast, commonType, sameType } from '../expr/type-rules.js';
import { formatType, type Field } from '../model/types.js';
import { isWeirError, unreachable, userError } from '../errors.js';
import type { Expr, FromItem, Pos, Query, SelectQuery } from '../sql/ir.js';
import { bindAggregateSelect, rejectAggregate, requireBoolean } from './bind-aggregate.js';
import { andExpr, inputRef } from './bound-util.js';
import { bindRankSelect, findOver } from './bind-rank.js';
import { buildFrom, conjuncts, treeRelations, type FromTree } from './bind-join.js';
import { bindWindowTvf } from './bind-window.js';
import { findAggregate } from './ir-util.js';
import { aggregateNode, calcNode, unionNode, valuesNode } from './logical-nodes.js';
import type { ChangelogMode, LogicalNode } from './logical.js';
import { itemName, uniquify } from './names.js';
import { tableScan } from './rules/computed-columns.js';
import { RelationScope, type Relation } from './scope.js';

/** What the binder needs from a catalog. */
export interface CatalogReader {
  /** The table or view named by `nameParts` (qualifiers ignored), or a user error. */
  resolve(nameParts: readonly string[], pos: Pos): TableDef | ViewDef;
}

export interface BindOptions {
  /** Changelog mode of a table's source; insert-only when not given. */
  readonly scanMode?: (table: TableDef, pos: Pos) => ChangelogMode;
}

/** Binds `query` into a logical plan (not yet rewritten; see optimize()). */
export function bindQuery(query: Query, catalog: CatalogReader, options: BindOptions = {}): LogicalNode {
  return new QueryBinder(catalog, options).query(query);
}

class QueryBinder {
  private readonly viewStack: string[] = [];

  constructor(
    private readonly catalog: CatalogReader,
    private readonly options: BindOptions,
  ) {}

  query(q: Query): LogicalNode {
    switch (q.kind) {
      case 'select':
        return this.select(q);
      case 'union':
        return this.union(q);
      default:
        return unreachable(q);
    }
  }

  private from(item: FromItem): { node: LogicalNode; name: string | undefined } {
    switch (item.kind) {
      case 'table': {
        const def = this.catalog.resolve(item.name, item.pos);
        if (def.kind === 'table') {
          const mode = this.options.scanMode?.(def, item.pos) ?? 'insert-only';
          return { node: tableScan(def, mode, item.pos), name: item.alias ?? def.name };
        }
        return { node: this.view(def, item.pos), name: item.alias ?? def.name };
      }
      case 'subquery':
        return { node: this.query(item.query), name: item.alias };
      case 'window-tvf': {
        const { node, name } = this.from(item.input);
        return { node: bindWindowTvf(item, node, name), name: item.alias ?? name };
      }
      case 'join':
        return { node: buildFrom(this.fromTree(item), 0, []), name: undefined };
      default:
        return unreachable(item);
    }
  }

  /** The FROM clause as a tree of bound leaves and (not yet built) joins. */
  private fromTree(item: FromItem): FromTree {
    if (item.kind !== 'join') {
      const { node, name } = this.from(item);
      return { kind: 'leaf', node, name };
    }
    return {
      kind: 'join',
      joinType: item.joinType,
      left: this.fromTree(item.left),
      right: this.fromTree(item.right),
      ...(item.on ? { on: item.on } : {}),
      pos: item.pos,
    };
  }

  private view(view: ViewDef, pos: Pos): LogicalNode {
    if (this.viewStack.includes(view.name)) {
      throw userError('RECURSIVE_VIEW', `view '${view.name}' refers to itself (${[...this.viewStack, view.name].join(' -> ')})`, { position: pos });
    }
    this.viewStack.push(view.name);
    try {
      const node = this.query(view.query);
      if (!view.columnNames) return node;
      if (view.columnNames.length !== node.schema.fields.length) {
        throw userError(
          'VIEW_COLUMN_COUNT',
          `view '${view.name}' declares ${view.columnNames.length} column names but its query produces ${node.schema.fields.length} columns`,
          { position: pos },
        );
      }
      return calcNode(
        node,
        node.schema.fields.map((f, i) => inputRef(i, f.type)),
        view.columnNames,
      );
    } finally {
      this.viewStack.pop();
    }
  }

  private select(q: SelectQuery): LogicalNode {
    if (q.orderBy.length > 0) {
      throw userError('UNSUPPORTED_ORDER_BY', 'ORDER BY is not supported on unbounded streams yet', { position: q.orderBy[0].expr.pos ?? q.pos });
    }
    if (q.limit !== undefined) {
      throw userError('UNSUPPORTED_LIMIT', 'LIMIT is not supported on unbounded streams yet', { position: q.pos });
    }

    let tree: FromTree;
    if (q.from) tree = this.fromTree(q.from);
    else tree = { kind: 'leaf', node: valuesNode([[]], []), name: undefined };
    const relations: Relation[] = q.from ? treeRelations(tree) : [];
    const scope = new RelationScope(relations);

    let where: BoundExpr | undefined;
    if (q.where) {
      rejectAggregate(q.where, 'WHERE');
      const w: BoundExpr = bindExpr(q.where, { scope });
      requireBoolean(w, 'WHERE', q.where.pos);
      where = w;
    }
    let input: LogicalNode;
    if (tree.kind === 'join') {
      // WHERE conditions between the joined tables become join conditions (comma joins need them).
      const rest = conjuncts(where);
      input = buildFrom(tree, 0, rest);
      where = rest.reduce<BoundExpr | undefined>((a, b) => andExpr(a, b), undefined);
    } else input = tree.node;

    const items = this.expandItems(q, relations);
    const isAggregate = q.groupBy.length > 0 || q.having !== undefined || items.some((i) => findAggregate(i.expr) !== undefined);
    const over = items.map((i) => findOver(i.expr)).find((c) => c !== undefined);

    let node: LogicalNode;
    if (over) {
      if (isAggregate)
        throw userError('SQL_UNSUPPORTED', 'ROW_NUMBER() OVER (...) in an aggregate query is not supported; aggregate in a subquery first', {
          position: over.pos,
        });
      node = bindRankSelect({ input, scope, ...(where ? { where } : {}), items });
    } else if (isAggregate) {
      node = bindAggregateSelect({ input, scope, where, items, groupBy: q.groupBy, ...(q.having ? { having: q.having } : {}), pos: q.pos });
    } else {
      const projections = items.map((i) => bindExpr(i.expr, { scope }));
      node = calcNode(
        input,
        projections,
        items.map((i) => i.name),
        where,
      );
    }
    if (q.distinct) {
      node = aggregateNode(
        node,
        node.schema.fields.map((_, i) => i),
        [],
        node.schema.fields.map((f) => f.name),
        'SELECT DISTINCT',
      );
    }
    return node;
  }

  /** SELECT items with `*` / `t.*` expanded to column references, and their output names. */
  private expandItems(q: SelectQuery, relations: readonly Relation[]): { expr: Expr; name: string; pos: Pos }[] {
    const out: { expr: Expr; name: string; pos: Pos }[] = [];
    for (const item of q.items) {
      if (item.kind === 'star') {
        let rels = relations;
        if (item.table !== undefined) {
          rels = relations.filter((r) => r.name === item.table);
          if (rels.length === 0) {
            const known = relations.map((r) => r.name).filter((n) => n !== undefined);
            throw userError('UNKNOWN_TABLE', `table or alias '${item.table}' not found in FROM; available: ${known.join(', ') || '(none)'}`, {
              position: item.pos,
            });
          }
        }
        if (relations.length === 0) throw userError('STAR_WITHOUT_FROM', "'*' needs a FROM clause", { position: item.pos });
        for (const r of rels) {
          for (const f of r.fields) {
            const expr: Expr = { kind: 'column', ...(r.name !== undefined ? { table: r.name } : {}), name: f.name, pos: item.pos };
            out.push({ expr, name: f.name, pos: item.pos });
          }
        }
      } else {
        out.push({ expr: item.expr, name: itemName(item.expr, item.alias, out.length), pos: item.pos });
      }
    }
    const names = uniquify(out.map((o) => o.name));
    return out.map((o, i) => ({ ...o, name: names[i] }));
  }

  private union(q: Query & { kind: 'union' }): LogicalNode {
    const branches: Query[] = [];
    const collect = (x: Query): void => {
      if (x.kind === 'union' && x.all === q.all) {
        collect(x.left);
        collect(x.right);
      } else branches.push(x);
    };
    collect(q);
    const nodes = branches.map((b) => this.query(b));
    const arity = nodes[0].schema.fields.length;
    for (const n of nodes) {
      if (n.schema.fields.length !== arity) {
        throw userError(
          'UNION_COLUMN_COUNT',
          `the inputs of UNION have ${arity} and ${n.schema.fields.length} columns; every input must have the same number of columns`,
          { position: q.pos },
        );
      }
    }
    const names = nodes[0].schema.fields.map((f) => f.name);
    const types = names.map((name, c) => {
      const ts = nodes.map((n) => n.schema.fields[c].type);
      const t = commonType(ts);
      if (!t) {
        throw userError(
          'UNION_TYPE_MISMATCH',
          `column ${c + 1} ('${name}') of UNION has incompatible types ${[...new Set(ts.map(formatType))].join(' and ')}`,
          { position: q.pos },
        );
      }
      return t;
    });
    const coerced = nodes.map((n) => {
      const fields = n.schema.fields;
      if (fields.every((f, c) => sameType(f.type, types[c]) && f.type.nullable === types[c].nullable)) return n;
      const projections = fields.map((f, c) => coerce(inputRef(c, f.type), types[c], q.pos));
      return calcNode(
        n,
        projections,
        fields.map((f) => f.name),
      );
    });
    // The union's column names are its first input's.
    let node: LogicalNode = unionNode(coerced);
    if (!q.all)
      node = aggregateNode(
        node,
        names.map((_, i) => i),
        [],
        names,
        'UNION',
      );
    return node;
  }
}

/** Converts `e` to `to` for a UNION: types only differing in nullability keep the value as is. */
function coerce(e: BoundExpr, to: Field['type'], pos: Pos): BoundExpr {
  if (sameType(e.type, to)) return { ...e, type: to };
  try {
    return implicitCast(e, to, pos);
  } catch (err) {
    // commonType also unifies e.g. DATE with TIMESTAMP, which is not an implicit cast in Flink's
    // sink rules but is a valid explicit one.
    if (isWeirError(err) && err.domain === 'user' && canCast(e.type, to)) {
      return { kind: 'call', fn: 'CAST', args: [e], type: to, ...(pos ? { pos } : {}) };
    }
    throw err;
  }
}
