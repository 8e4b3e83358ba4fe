import { describe, expect, it } from 'vitest';
import { bindQuery } from '../../src/plan/bind-query.js';
import { explainLogical } from '../../src/plan/explain.js';
import type { LogicalNode } from '../../src/plan/logical.js';
import { optimize } from '../../src/plan/optimize.js';
import { parseStatement } from '../../src/sql/parse.js';
import type { QueryStatement } from '../../src/sql/ir.js';
import { errorOf, load, plan } from './helpers.js';

const DDL = `
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'test-source');
`;

function bind(sql: string): LogicalNode {
  const { catalog } = load(DDL);
  const st = parseStatement(sql) as QueryStatement;
  return bindQuery(st.query, catalog);
}
const tree = (sql: string): string => explainLogical(optimize(bind(sql)));

describe('ROW_NUMBER() OVER: Top-N and deduplication', () => {
  it('WHERE rn <= N in the outer query becomes the rank limit, rn kept when selected', () => {
    expect(tree('SELECT auction, price, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bids) WHERE rn <= 3')).toBe(
      [
        'Calc(select=[auction, price, rn]) [updating]',
        '  Rank(rankType=[ROW_NUMBER], partitionBy=[auction], orderBy=[price DESC], rankRange=[1..3]) [updating]',
        '    Scan(table=[bids], fields=[auction, bidder, price, ts])',
      ].join('\n'),
    );
  });

  it('rn = 1 without rn in the output: deduplication, row number dropped; order by an expression', () => {
    const t = tree(
      'SELECT auction, bidder FROM (SELECT auction, bidder, ts, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY ts DESC) AS rownum FROM bids WHERE price > 0) t WHERE rownum = 1',
    );
    expect(t.split('\n')[1]).toBe(
      '  Rank(rankType=[ROW_NUMBER], partitionBy=[bidder, auction], orderBy=[ts DESC], rankRange=[1..1], rankNumber=[dropped]) [updating]',
    );
    expect(tree('SELECT a FROM (SELECT auction AS a, ROW_NUMBER() OVER (ORDER BY price * 2) AS r FROM bids) WHERE r < 5').split('\n')[1]).toContain(
      'partitionBy=[], orderBy=[\u00000 ASC], rankRange=[1..4]'.replace('\u00000', '\u0000o5'),
    );
  });

  it('errors: no outer filter, no ORDER BY, other ranking functions, OVER on aggregates', () => {
    const e = errorOf(() =>
      plan(`${DDL} CREATE TABLE out (a BIGINT, r BIGINT, PRIMARY KEY (a, r) NOT ENFORCED) WITH ('connector' = 'test-sink');
        INSERT INTO out SELECT auction, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price) FROM bids;`),
    );
    expect(e.message).toBe('ROW_NUMBER() OVER (...) is only supported as Top-N or deduplication: filter it in an outer query with WHERE rn <= N (or rn = 1)');
    expect(e.position).toEqual({ line: 4, column: 54 }); // the OVER keyword
    expect(errorOf(() => bind('SELECT ROW_NUMBER() OVER (PARTITION BY auction) AS r FROM bids')).message).toBe('ROW_NUMBER() OVER (...) needs an ORDER BY');
    expect(errorOf(() => bind('SELECT RANK() OVER (ORDER BY price) AS r FROM bids')).message).toContain('RANK() OVER (...); use ROW_NUMBER()');
    expect(errorOf(() => bind('SELECT SUM(price) OVER (ORDER BY ts) FROM bids')).message).toContain('OVER (window aggregation)');
  });
});
