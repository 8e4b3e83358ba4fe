import { describe, expect, it } from 'vitest';
import { bindQuery } from '../../src/plan/bind-query.js';
import { explainLogical } from '../../src/plan/explain.js';
import type { LogicalNode } from '../../src/plan/logical.js';
import { optimize } from '../../src/plan/optimize.js';
import { parseStatement } from '../../src/sql/parse.js';
import type { QueryStatement } from '../../src/sql/ir.js';
import { explainGraph } from '../../src/plan/explain.js';
import { errorOf, load, maskUids, plan } from './helpers.js';

const DDL = `
CREATE TABLE orders (id BIGINT, uid INT, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'test-source');
CREATE TABLE users (uid BIGINT, name STRING, PRIMARY KEY (uid) NOT ENFORCED) WITH ('connector' = 'test-source', 'changelog' = 'updating');
CREATE TABLE pays (oid BIGINT, amount INT, pts TIMESTAMP(3), WATERMARK FOR pts AS pts - INTERVAL '1' SECOND) WITH ('connector' = 'test-source');
`;

function bind(sql: string): LogicalNode {
  const { catalog } = load(DDL);
  const st = parseStatement(sql) as QueryStatement;
  return bindQuery(st.query, catalog, { scanMode: (t) => (t.options.changelog === 'updating' ? 'updating' : 'insert-only') });
}
const tree = (sql: string): string => explainLogical(optimize(bind(sql)));

describe('binding joins', () => {
  it('an inner join: equi keys (an INT = BIGINT cast dropped), one-side conditions pushed below, the rest residual', () => {
    expect(tree('SELECT o.id, u.name FROM orders o JOIN users u ON o.uid = u.uid AND o.v > 10 AND u.name <> CAST(o.v AS STRING)')).toBe(
      [
        'Calc(select=[id, name]) [updating]',
        '  Join(joinType=[InnerJoin], where=[(uid = uid) AND (name <> CAST(v AS STRING))], select=[id, uid, v, uid, name]) [updating]',
        '    Calc(select=[id, uid, v], where=[(v > 10)])',
        // The WATERMARK's column is always read.
        '      Scan(table=[orders], fields=[id, uid, v, ts])',
        '    Scan(table=[users], fields=[uid, name]) [updating]',
      ].join('\n'),
    );
  });

  it('a comma join takes its keys from WHERE; conditions on one side filter that side', () => {
    expect(tree('SELECT o.id, p.amount FROM orders o, pays p WHERE o.id = p.oid AND p.amount > 5 AND o.v < p.amount')).toBe(
      [
        'Calc(select=[id, amount])',
        '  Join(joinType=[InnerJoin], where=[(id = oid) AND (v < amount)], select=[id, v, oid, amount])',
        '    Calc(select=[id, v])',
        '      Scan(table=[orders], fields=[id, v, ts])',
        '    Calc(select=[oid, amount], where=[(amount > 5)])',
        '      Scan(table=[pays], fields=[oid, amount, pts])',
      ].join('\n'),
    );
  });

  it('outer joins pad nullable columns and are updating; WHERE stays above them', () => {
    const n = optimize(bind('SELECT o.id, p.amount FROM orders o LEFT JOIN pays p ON o.id = p.oid WHERE p.amount IS NULL'));
    expect(n.changelogMode).toBe('updating');
    expect(explainLogical(n).split('\n')[0]).toBe('Calc(select=[id, amount], where=[(amount IS NULL)]) [updating]');
    const j = optimize(bind('SELECT * FROM orders o FULL JOIN pays p ON o.id = p.oid'));
    expect(j.schema.fields.every((f) => f.type.nullable)).toBe(true);
  });

  it('rowtime bounds on both sides make an interval join (insert-only, time attributes kept)', () => {
    const n = optimize(
      bind(
        "SELECT o.id, p.amount, o.ts FROM orders o JOIN pays p ON o.id = p.oid AND o.ts BETWEEN p.pts - INTERVAL '5' SECOND AND p.pts + INTERVAL '10' SECOND",
      ),
    );
    expect(explainLogical(n).split('\n')[1]).toBe(
      '  IntervalJoin(joinType=[InnerJoin], where=[(id = oid)], interval=[ts - pts BETWEEN -5000 ms AND 10000 ms], select=[id, ts, oid, amount, pts])',
    );
    expect(n.changelogMode).toBe('insert-only');
    expect(n.schema.fields[2]!.type.timeAttribute).toBe('rowtime');
    // One bound only: a regular join with the condition as residual.
    const r = optimize(bind('SELECT o.id FROM orders o JOIN pays p ON o.id = p.oid AND o.ts >= p.pts'));
    expect(explainLogical(r).split('\n')[1]).toBe('  Join(joinType=[InnerJoin], where=[(id = oid) AND (ts >= pts)], select=[id, ts, oid, pts])');
  });

  it('a comma join without an equality is an error with its position', () => {
    const e = errorOf(() => bind('SELECT * FROM orders o, pays p WHERE o.v < p.amount'));
    expect(e.code).toBe('JOIN_WITHOUT_EQUALITY');
    expect(e.message).toContain('or WHERE a.k = b.k');
    expect(e.position).toEqual({ line: 1, column: 23 });
  });

  it('plans a join with a hash exchange on each input and the TTL from table.exec.state.ttl', () => {
    const { catalog, inserts } = load(`${DDL}
      CREATE TABLE out (id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'test-sink');
      INSERT INTO out SELECT o.id, u.name FROM orders o LEFT JOIN users u ON o.uid = u.uid;`);
    void plan;
    return import('../../src/plan/physical.js').then(({ planJob }) => {
      const g = planJob(inserts, catalog, { jobName: 'j', parallelism: 2, tableConfig: new Map([['table.exec.state.ttl', '1 h']]) });
      const text = maskUids(explainGraph(g));
      expect(text).toContain('joinType=[LeftOuterJoin], where=[(uid = uid)], select=[id, uid, uid, name], stateTtl=[3600000 ms]');
      expect(text).toContain('input 0: [1] Calc via HASH[uid]');
      expect(text).toContain('input 1: [2] Source: users via HASH[uid]');
    });
  });
});
