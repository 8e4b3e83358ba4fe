import { describe, expect, it } from 'vitest';
import { formatType } from '../../src/model/types.js';
import { bindQuery } from '../../src/plan/bind-query.js';
import { explainLogical } from '../../src/plan/explain.js';
import type { LogicalNode } from '../../src/plan/logical.js';
import { optimize } from '../../src/plan/optimize.js';
import { parseStatement } from '../../src/sql/parse.js';
import type { QueryStatement } from '../../src/sql/ir.js';
import { errorOf, load } from './helpers.js';

const DDL = `
CREATE TABLE orders (id BIGINT, k STRING, v INT, price DECIMAL(10, 2), ts TIMESTAMP(3)) WITH ('connector' = 'test-source');
CREATE TABLE users (uid BIGINT, name STRING, PRIMARY KEY (uid) NOT ENFORCED) WITH ('connector' = 'test-source', 'changelog' = 'updating');
CREATE TABLE events (id BIGINT, n INT, doubled AS n * 2) WITH ('connector' = 'test-source');
CREATE VIEW big AS SELECT k, v FROM orders WHERE v > 100;
CREATE VIEW renamed (kk, vv) AS SELECT k, v FROM orders;
`;

function bind(sql: string): LogicalNode {
  const { catalog } = load(DDL);
  const st = parseStatement(sql) as QueryStatement;
  return bindQuery(st.query, catalog, { scanMode: (t) => (t.options.changelog === 'updating' ? 'updating' : 'insert-only') });
}

function tree(sql: string): string {
  return explainLogical(optimize(bind(sql)));
}

function schema(node: LogicalNode): string[] {
  return node.schema.fields.map((f) => `${f.name} ${formatType(f.type)}`);
}

describe('binding SELECT', () => {
  it('projects and filters in one calc with the scan reading only the needed columns', () => {
    expect(tree('SELECT k, v * 2 AS dv FROM orders WHERE v > 10')).toBe(
      ['Calc(select=[k, (v * 2) AS dv], where=[(v > 10)])', '  Scan(table=[orders], fields=[k, v])'].join('\n'),
    );
  });

  it('expands * and t.* and resolves aliases and qualified columns', () => {
    expect(schema(bind('SELECT * FROM orders'))).toEqual(['id BIGINT', 'k STRING', 'v INT', 'price DECIMAL(10, 2)', 'ts TIMESTAMP(3)']);
    expect(schema(bind('SELECT o.*, o.v AS w FROM orders AS o')).map((s) => s.split(' ')[0])).toEqual(['id', 'k', 'v', 'price', 'ts', 'w']);
    expect(schema(bind('SELECT orders.k FROM orders'))).toEqual(['k STRING']);
    const e = errorOf(() => bind('SELECT orders.k FROM orders o'));
    expect(e.message).toBe("table or alias 'orders' not found in FROM; available: o");
  });

  it('names unnamed items EXPR$i and de-duplicates names like Calcite', () => {
    expect(schema(bind('SELECT v + 1, v, v, k AS v FROM orders')).map((s) => s.split(' ')[0])).toEqual(['EXPR$0', 'v', 'v0', 'v1']);
  });

  it('inlines subqueries and views, with view column names', () => {
    expect(tree('SELECT k FROM (SELECT k, v FROM orders WHERE v > 1) AS s WHERE s.v < 5')).toBe(
      ['Calc(select=[k], where=[((v > 1) AND (v < 5))])', '  Scan(table=[orders], fields=[k, v])'].join('\n'),
    );
    expect(tree('SELECT k FROM big')).toBe(['Calc(select=[k], where=[(v > 100)])', '  Scan(table=[orders], fields=[k, v])'].join('\n'));
    expect(schema(bind('SELECT * FROM renamed'))).toEqual(['kk STRING', 'vv INT']);
    expect(errorOf(() => bind('SELECT k FROM renamed')).message).toBe("column 'k' not found in table 'renamed'; available: kk, vv");
  });

  it('evaluates computed columns after the scan and reads only what they need', () => {
    expect(tree('SELECT doubled FROM events')).toBe(['Calc(select=[(n * 2) AS doubled])', '  Scan(table=[events], fields=[n])'].join('\n'));
  });

  it('plans SELECT without FROM as one row of Values', () => {
    expect(tree("SELECT 1 AS x, 'a' AS s")).toBe(["Calc(select=[1 AS x, 'a' AS s])", '  Values(rows=1)'].join('\n'));
  });

  it('reports unknown and case-mismatched columns with their position', () => {
    const e = errorOf(() => bind('SELECT k,\n  nope FROM orders'));
    expect(e.code).toBe('UNKNOWN_COLUMN');
    expect(e.message).toBe("column 'nope' not found in table 'orders'; available: id, k, v, price, ts");
    expect(e.position).toEqual({ line: 2, column: 3 });
    const c = errorOf(() => bind('SELECT K FROM orders'));
    expect(c.message).toContain("(column names are case-sensitive: did you mean 'k'?)");
    const t = errorOf(() => bind('SELECT k FROM nope'));
    expect(t.code).toBe('UNKNOWN_TABLE');
    expect(t.position).toEqual({ line: 1, column: 15 });
  });

  it('rejects ORDER BY, LIMIT and joins without an equality on streams with positions', () => {
    const o = errorOf(() => bind('SELECT k FROM orders ORDER BY v'));
    expect(o.message).toBe('ORDER BY is not supported on unbounded streams yet');
    expect(o.position).toEqual({ line: 1, column: 31 });
    expect(errorOf(() => bind('SELECT k FROM orders LIMIT 3')).message).toBe('LIMIT is not supported on unbounded streams yet');
    const j = errorOf(() => bind('SELECT o.k FROM orders o JOIN users u ON o.id > u.uid'));
    expect(j.code).toBe('JOIN_WITHOUT_EQUALITY');
    expect(j.message).toBe(
      'this INNER JOIN has no equality condition between its two sides; a streaming join needs one (ON a.k = b.k) to keep its state by key',
    );
    expect(j.position).toEqual({ line: 1, column: 26 });
  });

  it('requires a boolean WHERE', () => {
    const e = errorOf(() => bind('SELECT k FROM orders WHERE v + 1'));
    expect(e.message).toBe('WHERE must be a boolean condition, but it has type INT');
  });
});

describe('binding aggregates', () => {
  it('plans GROUP BY as calc -> aggregate -> calc, with the final names on the aggregate', () => {
    expect(tree('SELECT k, COUNT(*) AS cnt, SUM(v) AS total FROM orders WHERE v > 0 GROUP BY k')).toBe(
      ['Aggregate(groupBy=[k], aggs=[COUNT(*), SUM(v)]) [updating]', '  Calc(select=[k, v], where=[(v > 0)])', '    Scan(table=[orders], fields=[k, v])'].join(
        '\n',
      ),
    );
  });

  it('de-duplicates aggregate calls and supports HAVING, FILTER and DISTINCT aggregates', () => {
    expect(tree('SELECT k, SUM(v) AS s, COUNT(DISTINCT id) FILTER (WHERE v > 5) AS c FROM orders GROUP BY k HAVING SUM(v) > 10')).toBe(
      [
        'Calc(select=[k, EXPR$1 AS s, EXPR$2 AS c], where=[(EXPR$1 > 10)]) [updating]',
        '  Aggregate(groupBy=[k], aggs=[SUM(v), COUNT(DISTINCT id) FILTER (WHERE $f3)]) [updating]',
        '    Calc(select=[k, v, id, (v > 5) AS $f3])',
        '      Scan(table=[orders], fields=[id, k, v])',
      ].join('\n'),
    );
  });

  it('matches grouped expressions structurally', () => {
    const n = bind('SELECT v + 1 AS w, (v + 1) * 2 AS w2, COUNT(*) FROM orders GROUP BY v + 1');
    expect(schema(n)).toEqual(['w INT', 'w2 INT', 'EXPR$2 BIGINT NOT NULL']);
    expect(schema(bind('SELECT v + 1 AS w FROM orders GROUP BY v'))).toEqual(['w INT']);
    const e = errorOf(() => bind('SELECT v FROM orders GROUP BY v + 1'));
    expect(e.code).toBe('NOT_GROUPED');
    expect(e.message).toBe("expression 'v' is not being grouped; add it to GROUP BY or use it in an aggregate");
    expect(e.position).toEqual({ line: 1, column: 8 });
  });

  it('rejects non-grouped columns, aggregates in WHERE / GROUP BY and nested aggregates with positions', () => {
    const ng = errorOf(() => bind('SELECT k, v, COUNT(*) FROM orders GROUP BY k'));
    expect(ng.message).toContain("expression 'v' is not being grouped");
    expect(ng.position).toEqual({ line: 1, column: 11 });
    const global = errorOf(() => bind('SELECT k, COUNT(*) FROM orders'));
    expect(global.code).toBe('NOT_GROUPED');
    const w = errorOf(() => bind('SELECT k FROM orders WHERE COUNT(*) > 1'));
    expect(w.message).toBe('aggregate function COUNT is not allowed in WHERE');
    expect(w.position).toEqual({ line: 1, column: 28 });
    const gb = errorOf(() => bind('SELECT COUNT(*) FROM orders GROUP BY SUM(v)'));
    expect(gb.message).toBe('aggregate function SUM is not allowed in GROUP BY');
    const nested = errorOf(() => bind('SELECT SUM(COUNT(*)) FROM orders'));
    expect(nested.code).toBe('NESTED_AGGREGATE');
    expect(nested.position).toEqual({ line: 1, column: 12 });
    const having = errorOf(() => bind('SELECT k FROM orders GROUP BY k HAVING v > 1'));
    expect(having.message).toContain("expression 'v' is not being grouped");
  });

  it('plans a global aggregate and SELECT DISTINCT', () => {
    expect(tree('SELECT COUNT(*) AS n FROM orders')).toBe(['Aggregate(aggs=[COUNT(*)]) [updating]', '  Scan(table=[orders], fields=[id])'].join('\n'));
    expect(tree('SELECT DISTINCT k, v FROM orders')).toBe(['Aggregate(groupBy=[k, v]) [updating]', '  Scan(table=[orders], fields=[k, v])'].join('\n'));
  });
});

describe('UNION', () => {
  it('flattens UNION ALL and unifies column types with implicit casts', () => {
    const n = optimize(bind('SELECT id, v FROM orders UNION ALL SELECT uid, 1 FROM users UNION ALL SELECT id, n FROM events'));
    expect(n.kind).toBe('union');
    expect(n.kind === 'union' && n.inputs.length).toBe(3);
    expect(schema(n)).toEqual(['id BIGINT', 'v INT']);
    const widened = bind('SELECT v FROM orders UNION ALL SELECT id FROM orders');
    expect(schema(widened)).toEqual(['v BIGINT']);
  });

  it('plans UNION (distinct) as a union followed by a distinct aggregate', () => {
    const n = bind('SELECT k FROM orders UNION SELECT name FROM users');
    expect(n.kind).toBe('aggregate');
    expect(n.kind === 'aggregate' && n.origin).toBe('UNION');
    expect(n.changelogMode).toBe('updating');
  });

  it('rejects different column counts and incompatible types', () => {
    const c = errorOf(() => bind('SELECT k, v FROM orders UNION ALL SELECT k FROM orders'));
    expect(c.message).toBe('the inputs of UNION have 2 and 1 columns; every input must have the same number of columns');
    const t = errorOf(() => bind('SELECT v FROM orders UNION ALL SELECT ts FROM orders'));
    expect(t.message).toBe("column 1 ('v') of UNION has incompatible types INT and TIMESTAMP(3)");
  });
});

describe('changelog mode and unique keys', () => {
  it('derives modes bottom-up', () => {
    expect(bind('SELECT k FROM orders WHERE v > 1').changelogMode).toBe('insert-only');
    expect(bind('SELECT k, COUNT(*) FROM orders GROUP BY k').changelogMode).toBe('updating');
    expect(bind('SELECT name FROM users').changelogMode).toBe('updating');
    expect(bind('SELECT k FROM orders UNION ALL SELECT k FROM orders').changelogMode).toBe('insert-only');
    expect(bind('SELECT k FROM orders UNION ALL SELECT name FROM users').changelogMode).toBe('updating');
    expect(bind('SELECT 1').changelogMode).toBe('insert-only');
  });

  it('keeps unique keys through projections that keep the key columns', () => {
    expect(bind('SELECT COUNT(*) AS c, k FROM orders GROUP BY k').uniqueKey).toEqual([1]);
    expect(bind('SELECT COUNT(*) AS c FROM orders GROUP BY k').uniqueKey).toBeUndefined();
    expect(bind('SELECT name, uid FROM users').uniqueKey).toEqual([1]);
    expect(bind('SELECT COUNT(*) FROM orders').uniqueKey).toEqual([]);
  });
});
