import { describe, expect, it } from 'vitest';
import { explainGraph } from '../../src/plan/explain.js';
import type { JobGraph } from '../../src/runtime/job-graph.js';
import { maskUids, ORDERS_DDL, plan } from './helpers.js';

const DDL = `${ORDERS_DDL}
CREATE TABLE refunds (id BIGINT, k STRING, v INT) WITH ('connector' = 'test-source');
CREATE TABLE cnt_pk (id INT, n BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'test-sink');
CREATE TABLE cdc (k STRING, v INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'test-both', 'changelog' = 'updating');
CREATE TABLE printed (k STRING, n BIGINT) WITH ('connector' = 'test-print');
`;

const explain = (sql: string, parallelism = 2): string => maskUids(explainGraph(plan(DDL + sql, parallelism)));

describe('EXPLAIN of planned jobs', () => {
  it('filter + projection: one calc fused after the source, forward to the sink', () => {
    expect(explain('INSERT INTO log SELECT UPPER(k), v + 1 FROM orders WHERE v > 10;')).toBe(`Job 'test' (fingerprint #)

[0] Source: orders
    uid: source-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-source, table=orders, fields=[k, v]

[1] Calc
    uid: calc-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    select=[UPPER(k) AS k, (v + 1) AS v], where=[(v > 10)]
    input: [0] Source: orders via FORWARD

[2] Sink: log
    uid: sink-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-sink, table=log
    input: [1] Calc via FORWARD`);
  });

  it('GROUP BY: hash exchange on the group key into the aggregate, hash on the primary key into the upsert sink', () => {
    expect(explain('INSERT INTO totals SELECT k, COUNT(*) AS cnt, SUM(v) AS total FROM orders WHERE v > 10 GROUP BY k;')).toBe(`Job 'test' (fingerprint #)

[0] Source: orders
    uid: source-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-source, table=orders, fields=[k, v]

[1] Calc
    uid: calc-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    select=[k, v], where=[(v > 10)]
    input: [0] Source: orders via FORWARD

[2] KeyedAggregate
    uid: aggregate-#
    parallelism: 2, changelog: updating
    schema: (k STRING, EXPR$1 BIGINT NOT NULL, EXPR$2 INT)
    groupBy=[k], aggs=[COUNT(*), SUM(v)]
    input: [1] Calc via HASH[k]

[3] Calc
    uid: calc-#
    parallelism: 2, changelog: updating
    schema: (k STRING, cnt BIGINT NOT NULL, total BIGINT)
    select=[k, EXPR$1 AS cnt, CAST(EXPR$2 AS BIGINT) AS total]
    input: [2] KeyedAggregate via FORWARD

[4] Sink: totals
    uid: sink-#
    parallelism: 2, changelog: updating
    schema: (k STRING NOT NULL, cnt BIGINT, total BIGINT)
    connector=test-sink, table=totals, primaryKey=[k]
    input: [3] Calc via HASH[k]`);
  });

  it('global aggregate: parallelism 1 behind a rebalance, its calc stays at 1', () => {
    expect(explain('INSERT INTO cnt_pk SELECT 1, COUNT(*) FROM orders;', 3)).toBe(`Job 'test' (fingerprint #)

[0] Source: orders
    uid: source-#
    parallelism: 3, changelog: insert-only
    schema: (id BIGINT)
    connector=test-source, table=orders, fields=[id]

[1] GlobalAggregate
    uid: aggregate-#
    parallelism: 1, changelog: updating
    schema: (EXPR$0 BIGINT NOT NULL)
    aggs=[COUNT(*)]
    input: [0] Source: orders via REBALANCE

[2] Calc
    uid: calc-#
    parallelism: 1, changelog: updating
    schema: (id INT NOT NULL, n BIGINT NOT NULL)
    select=[1 AS id, EXPR$0 AS n]
    input: [1] GlobalAggregate via FORWARD

[3] Sink: cnt_pk
    uid: sink-#
    parallelism: 3, changelog: updating
    schema: (id INT NOT NULL, n BIGINT)
    connector=test-sink, table=cnt_pk, primaryKey=[id]
    input: [2] Calc via HASH[id]`);
  });

  it('UNION ALL of two tables', () => {
    expect(explain('INSERT INTO log SELECT k, v FROM orders UNION ALL SELECT k, v FROM refunds;')).toBe(`Job 'test' (fingerprint #)

[0] Source: orders
    uid: source-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-source, table=orders, fields=[k, v]

[1] Source: refunds
    uid: source-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-source, table=refunds, fields=[k, v]

[2] Union
    uid: union-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    all=[true], union=[k, v]
    input 0: [0] Source: orders via FORWARD
    input 1: [1] Source: refunds via FORWARD

[3] Sink: log
    uid: sink-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, v INT)
    connector=test-sink, table=log
    input: [2] Union via FORWARD`);
  });

  it('SELECT without FROM reads a Values source', () => {
    const text = explain("INSERT INTO log SELECT 'x', 1;");
    expect(text).toContain(`[0] Source: Values
    uid: values-#
    parallelism: 2, changelog: insert-only
    schema: ()
    values=[1 row]`);
    expect(text).toContain("select=['x' AS k, 1 AS v]");
  });

  it('a statement set shares one graph and reads a table scanned twice with one source', () => {
    const g = plan(
      DDL +
        `EXECUTE STATEMENT SET BEGIN
           INSERT INTO log SELECT k, v FROM orders;
           INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM orders GROUP BY k;
         END;`,
    );
    expect(g.vertices.map((v) => v.name)).toEqual(['Source: orders', 'Sink: log', 'KeyedAggregate', 'Calc', 'Sink: totals']);
    expect(new Set(g.vertices.map((v) => v.uid)).size).toBe(g.vertices.length);
    const source = g.vertices.find((v) => v.name === 'Source: orders')!;
    expect(g.edges.filter((e) => e.source === source.id)).toHaveLength(2);
    for (const e of g.edges) expect(e.source).toBeLessThan(e.target);
    expect(g.vertices.filter((v) => v.kind === 'operator' && v.isSink)).toHaveLength(2);
  });

  it('scans of one table with different columns share a source reading the union of them', () => {
    const g = plan(
      DDL +
        `EXECUTE STATEMENT SET BEGIN
           INSERT INTO log SELECT k, 1 FROM orders;
           INSERT INTO log SELECT CAST(v AS STRING), v FROM orders WHERE v > 3;
         END;`,
    );
    const sources = g.vertices.filter((v) => v.kind === 'source');
    expect(sources).toHaveLength(1);
    expect(sources[0].outputSchema.fields.map((f) => f.name)).toEqual(['k', 'v']);
    expect(g.edges.filter((e) => e.source === sources[0].id)).toHaveLength(2);
  });

  it('an updating source keeps its mode; an updating stream into a keyless sink keeps its parallelism', () => {
    const g = plan(`${DDL}INSERT INTO printed SELECT CAST(NULL AS STRING), COUNT(*) FROM orders;`, 2);
    const sink = g.vertices.find((v) => v.name === 'Sink: printed')!;
    expect(sink.changelogMode).toBe('updating');
    expect(sink.parallelism).toBe(1);
    const edge = g.edges.find((e) => e.target === sink.id)!;
    expect(edge.partitioning).toEqual({ kind: 'forward' });
    const cdc = explain('INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM cdc GROUP BY k;');
    expect(cdc).toContain(`[0] Source: cdc
    uid: source-#
    parallelism: 2, changelog: updating`);
  });
});

describe('operator uids', () => {
  const q = (where: string): JobGraph => plan(`${DDL}INSERT INTO totals SELECT k, COUNT(*), SUM(v) FROM orders WHERE ${where} GROUP BY k;`);
  const uids = (g: JobGraph): Record<string, string> => Object.fromEntries(g.vertices.map((v) => [`${v.id} ${v.name}`, v.uid]));

  it('are stable: the same SQL gives the same uids and fingerprint', () => {
    const a = q('v > 10');
    const b = q('v > 10');
    expect(uids(a)).toEqual(uids(b));
    expect(a.fingerprint).toBe(b.fingerprint);
    for (const v of a.vertices) expect(v.uid).toMatch(/^(source|calc|aggregate|union|values|sink)-[0-9a-f]{12}$/);
  });

  it('change for a changed operator and everything downstream, not upstream', () => {
    const a = q('v > 10');
    const b = q('v > 11');
    const [ua, ub] = [a.vertices.map((v) => v.uid), b.vertices.map((v) => v.uid)];
    expect(a.vertices.map((v) => v.name)).toEqual(['Source: orders', 'Calc', 'KeyedAggregate', 'Calc', 'Sink: totals']);
    expect(ub[0]).toBe(ua[0]);
    for (let i = 1; i < ua.length; i++) expect(ub[i]).not.toBe(ua[i]);
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });

  it('keep the source uid when the projection changes', () => {
    const a = plan(`${DDL}INSERT INTO log SELECT k, v FROM orders;`);
    const b = plan(`${DDL}INSERT INTO log SELECT k, CAST(id AS INT) FROM orders;`);
    expect(a.vertices[0].uid).toBe(b.vertices[0].uid);
    expect(a.vertices.at(-1)!.uid).not.toBe(b.vertices.at(-1)!.uid);
  });
});
