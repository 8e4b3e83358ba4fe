/**
 * node-sql-parser query AST -> weir IR Query. UNION chains become left-associative UnionQuery
 * nodes; non-recursive WITH queries are inlined as subqueries where they are referenced (as
 * Flink's planner does); comma-separated FROM items become cross joins.
 */
import type { Expr, FromItem, JoinRef, OrderItem, Pos, Query, SelectItem, SelectQuery } from './ir.js';
import { ExprConverter } from './expr-convert.js';
import { freezeNode, identName } from './expr-nodes.js';
import { Locator } from './locator.js';
import type { NspNode, StatementContext } from './nsp-node.js';
import { parseQueryAst } from './nsp.js';
import { convertExprSegment } from './expr-segment.js';
import { newRewriteTables, rewriteSegment, type RewriteTables } from './rewrite.js';
import { PLACEHOLDER_RE } from './window-tvf.js';
import { invalid, parseError, unsupported } from './sql-errors.js';
import { describeToken } from './tokenizer.js';

const SELECT_KEYS = new Set([
  'with',
  'type',
  'options',
  'distinct',
  'columns',
  'from',
  'where',
  'groupby',
  'having',
  'orderby',
  'limit',
  '_next',
  'set_op',
  'parentheses_symbol',
  '_parentheses',
  'collate',
  'into',
  'locking_read',
  'window',
  'qualify',
]);

const JOIN_TYPES: Readonly<Record<string, JoinRef['joinType']>> = {
  JOIN: 'inner',
  'INNER JOIN': 'inner',
  'LEFT JOIN': 'left',
  'LEFT OUTER JOIN': 'left',
  'RIGHT JOIN': 'right',
  'RIGHT OUTER JOIN': 'right',
  'FULL JOIN': 'full',
  'FULL OUTER JOIN': 'full',
  'CROSS JOIN': 'cross',
};

/**
 * Parses and converts tokens [start, end) of a statement as a query. `tables` collects CAST
 * types and FILTER clauses for the whole statement.
 */
export function convertQuerySegment(ctx: StatementContext, start: number, end: number, tables: RewriteTables): Query {
  const first = ctx.tokens[start]!;
  if (first.kind === 'word' && first.upper === 'VALUES') {
    throw unsupported('VALUES', ctx.src.pos(first.start), 'use SELECT ... FROM a table');
  }
  const text = rewriteSegment(ctx, start, end, tables);
  const ast = parseQueryAst(ctx, start, end, text);
  if (ast?.type !== 'select') {
    throw parseError(`expected a query (SELECT ...), found ${describeToken(first)}`, ctx.src.pos(first.start));
  }
  const loc = new Locator(ctx, start, end);
  const query = new QueryConverter(loc, tables).query(ast);
  const leftover = tables.filters.values().next();
  if (!leftover.done) {
    throw parseError('FILTER (WHERE ...) must directly follow an aggregate call', ctx.src.pos(ctx.tokens[leftover.value.filterToken]!.start));
  }
  return query;
}

class QueryConverter {
  private readonly exprs: ExprConverter;
  /** WITH queries in scope, innermost last. */
  private readonly scopes: Map<string, Query>[] = [];

  constructor(
    private readonly loc: Locator,
    private readonly tables: RewriteTables,
  ) {
    this.exprs = new ExprConverter(loc, tables);
  }

  private at(i: number): Pos {
    return i >= 0 ? this.loc.pos(i) : this.loc.lastPos();
  }

  private expr(n: NspNode): Expr {
    return this.exprs.expr(n);
  }

  query(n: NspNode): Query {
    const withs: NspNode[] | null = Array.isArray(n.with) ? n.with : null;
    if (withs) this.scopes.push(this.withQueries(n, withs));
    try {
      const chain: NspNode[] = [];
      for (let x = n; x; x = x._next) chain.push(x);
      let result: Query = this.select(chain[0]);
      for (let k = 1; k < chain.length; k++) {
        const setOp = String(chain[k - 1].set_op ?? '').toUpperCase();
        const u = this.loc.findWord('UNION', 'EXCEPT', 'INTERSECT', 'MINUS');
        const pos = this.at(u);
        if (setOp !== 'UNION' && setOp !== 'UNION ALL' && setOp !== 'UNION DISTINCT') throw unsupported(setOp || 'this set operation', pos);
        const part = chain[k];
        if (k === chain.length - 1 && !part.parentheses_symbol && (part.orderby || part.limit)) {
          const o = this.loc.ctx.tokens.findIndex(
            (t, j) => j >= this.loc.cursor && j < this.loc.limit && t.kind === 'word' && (t.upper === 'ORDER' || t.upper === 'LIMIT'),
          );
          throw unsupported(
            'ORDER BY or LIMIT after UNION',
            o >= 0 ? this.loc.pos(o) : pos,
            'wrap the UNION in a subquery: SELECT * FROM (... UNION ALL ...) ORDER BY ...',
          );
        }
        const right = this.select(part);
        result = freezeNode({ kind: 'union', all: setOp === 'UNION ALL', left: result, right, pos });
      }
      return result;
    } finally {
      if (withs) this.scopes.pop();
    }
  }

  private withQueries(n: NspNode, withs: NspNode[]): Map<string, Query> {
    const at = this.loc.findWord('WITH');
    if ((withs as NspNode).recursive || n.with?.recursive) throw unsupported('WITH RECURSIVE', this.at(at));
    const scope = new Map<string, Query>();
    // Later WITH queries may refer to earlier ones.
    this.scopes.push(scope);
    try {
      for (const w of withs) {
        const name = identName(w.name);
        const nameAt = this.loc.findIdent(name);
        if (w.columns && w.columns.length > 0)
          throw unsupported('a column list on a WITH query', this.at(nameAt), `write the names as aliases inside ${name}'s SELECT`);
        const inner = w.stmt?.ast ?? w.stmt;
        const open = this.loc.findOp('(');
        const q = open >= 0 ? this.loc.within(open, () => this.query(inner)) : this.query(inner);
        if (scope.has(name)) throw invalid(`WITH query '${name}' is defined twice`, this.at(nameAt));
        scope.set(name, q);
      }
    } finally {
      this.scopes.pop();
    }
    return scope;
  }

  private select(n: NspNode): SelectQuery {
    const s = this.loc.findWord('SELECT');
    const pos = this.at(s);
    for (const key of Object.keys(n)) {
      const v = n[key];
      if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      if (!SELECT_KEYS.has(key) || ['options', 'into', 'locking_read', 'window', 'qualify', 'collate'].includes(key)) {
        throw unsupported(`the ${key.toUpperCase()} clause`, pos);
      }
    }
    const distinct = n.distinct === 'DISTINCT' || n.distinct?.type === 'DISTINCT';
    if (distinct) this.loc.findWord('DISTINCT');
    const items = (n.columns as NspNode[]).map((c) => this.selectItem(c));
    let from: FromItem | undefined;
    const fromList: NspNode[] = Array.isArray(n.from) ? n.from.filter((f: NspNode) => f?.type !== 'dual') : [];
    if (fromList.length > 0) {
      this.loc.findWord('FROM');
      from = this.fromList(fromList);
    }
    let where: Expr | undefined;
    if (n.where) {
      this.loc.findWord('WHERE');
      where = this.expr(n.where);
    }
    const groupNodes: NspNode[] = Array.isArray(n.groupby) ? n.groupby : (n.groupby?.columns ?? []);
    if (n.groupby?.modifiers?.some((m: NspNode) => m)) throw unsupported('GROUP BY modifiers', pos);
    if (groupNodes.length > 0) this.loc.findWord('GROUP');
    const groupBy = Object.freeze(groupNodes.map((g) => this.expr(g)));
    let having: Expr | undefined;
    if (n.having) {
      this.loc.findWord('HAVING');
      having = this.expr(n.having);
    }
    const orderNodes: NspNode[] = n.orderby ?? [];
    if (orderNodes.length > 0) this.loc.findWord('ORDER');
    const orderBy = Object.freeze(orderNodes.map((o) => this.orderItem(o)));
    const limit = this.limit(n.limit, pos);
    return freezeNode({
      kind: 'select',
      distinct,
      items: Object.freeze(items),
      ...(from ? { from } : {}),
      ...(where ? { where } : {}),
      groupBy,
      ...(having ? { having } : {}),
      orderBy,
      ...(limit !== undefined ? { limit } : {}),
      pos,
    });
  }

  private selectItem(c: NspNode): SelectItem {
    const e = c.expr;
    if (e?.type === 'column_ref' && identName(e.column) === '*') {
      const table = e.table ? identName(e.table) : undefined;
      const i = table !== undefined ? this.loc.findQualified([table]) : this.loc.findOp('*');
      if (table !== undefined) this.loc.findOp('*');
      return freezeNode({ kind: 'star', ...(table !== undefined ? { table } : {}), pos: this.at(i) });
    }
    const expr = this.expr(e);
    const alias = c.as === null || c.as === undefined ? undefined : identName(c.as);
    if (alias !== undefined) this.alias(alias);
    return freezeNode({ kind: 'expr', expr, ...(alias !== undefined ? { alias } : {}), pos: expr.pos });
  }

  /** Consumes an alias; node-sql-parser also takes a string after an expression as one, Flink does not. */
  private alias(alias: string): void {
    let j = this.loc.cursor;
    const t0 = this.loc.token(j);
    if (t0 && t0.kind === 'word' && t0.upper === 'AS') j++;
    const t = this.loc.token(j);
    if (t && t.kind === 'string') throw parseError(`unexpected ${describeToken(t)}: an alias must be an identifier`, this.loc.pos(j));
    this.loc.findIdent(alias);
  }

  private orderItem(o: NspNode): OrderItem {
    if (o.nulls) throw unsupported('NULLS FIRST/LAST', this.loc.lastPos());
    const expr = this.expr(o.expr);
    const descending = String(o.type ?? '').toUpperCase() === 'DESC';
    if (o.type) this.loc.findWord(descending ? 'DESC' : 'ASC');
    return Object.freeze({ expr, descending });
  }

  private limit(l: NspNode, pos: Pos): number | undefined {
    const values: NspNode[] = l?.value ?? [];
    if (values.length === 0) return undefined;
    const at = this.at(this.loc.findWord('LIMIT'));
    if (values.length > 1 || (l.seperator && l.seperator !== '')) throw unsupported('OFFSET', at ?? pos);
    const v = values[0];
    if (v?.type !== 'number' || !Number.isInteger(Number(v.value)) || Number(v.value) < 0) {
      throw parseError('expected a non-negative integer after LIMIT', at ?? pos);
    }
    this.loc.find((t) => t.kind === 'number');
    return Number(v.value);
  }

  private fromList(list: NspNode[]): FromItem {
    let left = this.fromItem(list[0]);
    for (let k = 1; k < list.length; k++) {
      const f = list[k];
      const kw = this.loc.find(
        (t) => (t.kind === 'word' && ['JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL'].includes(t.upper)) || (t.kind === 'op' && t.text === ','),
      );
      const pos = this.at(kw);
      const joinText = f.join ? String(f.join).toUpperCase() : 'CROSS JOIN';
      const joinType = JOIN_TYPES[joinText];
      if (!joinType) throw unsupported(joinText, pos);
      if (f.using) throw unsupported('JOIN ... USING', pos, 'write ON a.x = b.x');
      const right = this.fromItem(f);
      let on: Expr | undefined;
      if (f.on) {
        if (joinType === 'cross') throw parseError('a CROSS JOIN takes no ON condition', pos);
        const onAt = this.loc.findWord('ON');
        if (f.on.type === 'expr_list' && !f.on.parentheses) {
          // node-sql-parser reads `ON a = b, t2` as an expression list.
          throw unsupported("a ',' table list after JOIN ... ON", this.at(onAt), "write CROSS JOIN instead of ','");
        }
        on = this.expr(f.on);
      } else if (joinType !== 'cross') {
        throw parseError(`${joinText} requires an ON condition (or use CROSS JOIN)`, pos);
      }
      left = freezeNode({ kind: 'join', joinType, left, right, ...(on ? { on } : {}), pos });
    }
    return left;
  }

  /** The window TVF the rewrite step replaced by a placeholder at statement offset `offset`. */
  private windowTvf(offset: number, alias: string | undefined): FromItem {
    const syntax = this.tables.tvfs.get(offset);
    if (!syntax) throw unsupported('this kind of FROM item', this.loc.lastPos());
    const { ctx } = this.loc;
    const pos = (i: number): Pos => ctx.src.pos(ctx.tokens[i]!.start);
    const intervals = syntax.args.map(([s, e]) => convertExprSegment(ctx, s, e, newRewriteTables(), `an argument of ${syntax.fn}`));
    this.loc.cursor = syntax.end + 1;
    if (alias !== undefined) this.alias(alias);
    const input = freezeNode({ kind: 'table' as const, name: Object.freeze([...syntax.table]), pos: pos(syntax.tableToken) });
    return freezeNode({
      kind: 'window-tvf',
      fn: syntax.fn,
      input,
      timeCol: Object.freeze({ name: syntax.timeCol.name, pos: pos(syntax.timeCol.token) }),
      intervals: Object.freeze(intervals),
      partitionBy: Object.freeze(syntax.partitionBy.map((p) => Object.freeze({ name: p.name, pos: pos(p.token) }))),
      ...(alias !== undefined ? { alias } : {}),
      pos: pos(syntax.fnToken),
    });
  }

  private fromItem(f: NspNode): FromItem {
    const alias = f.as === null || f.as === undefined ? undefined : identName(f.as);
    if (f.expr?.ast) {
      const open = this.loc.findOp('(');
      const pos = this.at(open);
      const query = open >= 0 ? this.loc.within(open, () => this.query(f.expr.ast)) : this.query(f.expr.ast);
      if (alias !== undefined) this.alias(alias);
      return freezeNode({ kind: 'subquery', query, ...(alias !== undefined ? { alias } : {}), pos });
    }
    if (typeof f.table !== 'string' || f.expr) throw unsupported('this kind of FROM item', this.loc.lastPos());
    const tvf = typeof f.table === 'string' ? PLACEHOLDER_RE.exec(f.table) : null;
    if (tvf) return this.windowTvf(Number(tvf[1]), alias);
    const name = [...(f.db ? String(f.db).split('.') : []), ...(f.schema ? [identName(f.schema)] : []), f.table];
    const i = this.loc.findQualified(name);
    const pos = this.at(i);
    if (alias !== undefined) this.alias(alias);
    if (name.length === 1) {
      for (let s = this.scopes.length - 1; s >= 0; s--) {
        const q = this.scopes[s]!.get(name[0]!);
        if (q) return freezeNode({ kind: 'subquery', query: q, alias: alias ?? name[0]!, pos });
      }
    }
    return freezeNode({ kind: 'table', name: Object.freeze(name), ...(alias !== undefined ? { alias } : {}), pos });
  }
}
