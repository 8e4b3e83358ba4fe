import { describe, expect, it } from 'vitest';
import type { JobGraph } from '../../src/runtime/job-graph.js';
import { KeyedAggregate } from '../../src/runtime/operators/keyed-aggregate-select.js';
import { ORDERS_DDL, plan } from '../plan/helpers.js';

/** Per aggregate vertex (in plan order): whether each of its aggregate functions is retractable. */
function retractability(g: JobGraph): boolean[][] {
  const out: boolean[][] = [];
  for (const v of g.vertices) {
    if (v.kind !== 'operator' || !/Aggregate$/.test(v.name)) continue;
    const op = v.createOperator();
    expect(op).toBeInstanceOf(KeyedAggregate);
    out.push((op as KeyedAggregate).config.aggs.map((a) => a.fn.retractable));
  }
  return out;
}

const DDL = `${ORDERS_DDL}
CREATE TABLE changes (id BIGINT, k STRING, v INT, price DECIMAL(10, 2), ts TIMESTAMP(3)) WITH ('connector' = 'test-source', 'changelog' = 'updating');
CREATE TABLE hist (cnt BIGINT, n BIGINT, top INT, PRIMARY KEY (cnt) NOT ENFORCED) WITH ('connector' = 'test-sink');
CREATE TABLE overall (n BIGINT, top INT, PRIMARY KEY (n) NOT ENFORCED) WITH ('connector' = 'test-sink');
`;

describe('planner: insert-only or retracting aggregates', () => {
  it('resolves insert-only aggregates over insert-only input', () => {
    expect(retractability(plan(`${DDL} INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM orders WHERE v > 0 GROUP BY k;`))).toEqual([[false, false]]);
    expect(retractability(plan(`${DDL} INSERT INTO overall SELECT COUNT(DISTINCT k), MAX(v) FROM orders;`))).toEqual([[false, false]]);
    const union = `${DDL} INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM (SELECT k, v FROM orders UNION ALL SELECT k, v + 1 FROM orders) GROUP BY k;`;
    expect(retractability(plan(union))).toEqual([[false, false]]);
  });

  it('resolves retracting aggregates over updating input', () => {
    expect(retractability(plan(`${DDL} INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM changes GROUP BY k;`))).toEqual([[true, true]]);
    // An aggregate over an aggregate: the inner one sees inserts only, the outer one its updates.
    const nested = `${DDL} INSERT INTO hist SELECT cnt, COUNT(*), MAX(top) FROM (SELECT k, COUNT(*) AS cnt, MAX(v) AS top FROM orders GROUP BY k) GROUP BY cnt;`;
    expect(retractability(plan(nested))).toEqual([
      [false, false],
      [true, true],
    ]);
    // A UNION with one updating branch is updating.
    const union = `${DDL} INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM (SELECT k, v FROM orders UNION ALL SELECT k, v FROM changes) GROUP BY k;`;
    expect(retractability(plan(union))).toEqual([[true, true]]);
  });
});
