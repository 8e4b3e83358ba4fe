import { beforeEach, describe, expect, it } from 'vitest';
import { formatType } from '../../src/model/types.js';
import { explainLogical } from '../../src/plan/explain.js';
import { bindInsert } from '../../src/plan/bind-insert.js';
import { createdSources, errorOf, load, ORDERS_DDL, plan } from './helpers.js';

const DDL = `${ORDERS_DDL}
CREATE TABLE wide (a INT, b STRING, c BIGINT) WITH ('connector' = 'test-sink');
CREATE TABLE keyed (a INT, b STRING, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'test-sink');
CREATE TABLE appendonly (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'test-append');
CREATE TABLE src_only (a INT) WITH ('connector' = 'test-source');
CREATE TABLE sink_only (a INT) WITH ('connector' = 'test-sink');
CREATE TABLE cdc (k STRING, v INT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'test-both', 'changelog' = 'updating');
CREATE TABLE with_meta (a INT, m BIGINT METADATA, vm BIGINT METADATA VIRTUAL, c AS a + 1) WITH ('connector' = 'test-both');
CREATE VIEW v1 AS SELECT k FROM orders;
`;

function logical(sql: string): string {
  const { catalog, inserts } = load(DDL + sql);
  return explainLogical(bindInsert(inserts[0], catalog).node);
}

describe('INSERT into a sink', () => {
  beforeEach(() => {
    createdSources.length = 0;
  });

  it('fills columns left out of the column list with NULL and reorders the listed ones', () => {
    expect(logical('INSERT INTO wide (c, a) SELECT id, v FROM orders;')).toBe(
      ['Calc(select=[v AS a, null AS b, id AS c])', '  Scan(table=[orders], fields=[id, v])'].join('\n'),
    );
  });

  it('names both counts when the query does not fit the table', () => {
    const e = errorOf(() => plan(`${DDL}INSERT INTO wide SELECT k, v FROM orders;`));
    expect(e.code).toBe('INSERT_COLUMN_COUNT');
    expect(e.message).toBe("table 'wide' has 3 columns (a, b, c) but the query produces 2 columns");
    expect(e.position?.line).toBeGreaterThan(1);
    const l = errorOf(() => plan(`${DDL}INSERT INTO wide (a, b) SELECT v FROM orders;`));
    expect(l.message).toBe('INSERT INTO wide lists 2 columns but the query produces 1 columns');
    const u = errorOf(() => plan(`${DDL}INSERT INTO wide (a, zz) SELECT v, k FROM orders;`));
    expect(u.message).toBe("column 'zz' is not a column of table 'wide'; columns: a, b, c");
    const nn = errorOf(() => plan(`${DDL}INSERT INTO keyed (b) SELECT k FROM orders;`));
    expect(nn.code).toBe('MISSING_NOT_NULL_COLUMN');
  });

  it('casts implicitly per column and names the sink column when it cannot', () => {
    expect(logical('INSERT INTO wide SELECT v, k, v FROM orders;')).toBe(
      ['Calc(select=[v AS a, k AS b, CAST(v AS BIGINT) AS c])', '  Scan(table=[orders], fields=[k, v])'].join('\n'),
    );
    const e = errorOf(() => plan(`${DDL}INSERT INTO wide SELECT k, k, v FROM orders;`));
    expect(e.code).toBe('INSERT_TYPE_MISMATCH');
    expect(e.message).toBe(
      "column 'a' of table 'wide' has type INT, but the query gives it column 1 ('k') of type STRING, which does not convert implicitly; use CAST",
    );
  });

  it('rejects updates into an append-only sink, suggesting the key', () => {
    const e = errorOf(() => plan(`${DDL}INSERT INTO log\nSELECT k, CAST(COUNT(*) AS INT) FROM orders GROUP BY k;`));
    expect(e.code).toBe('UPDATING_INTO_APPEND_ONLY');
    expect(e.message).toBe(
      "table 'log' (connector 'test-sink' without PRIMARY KEY) cannot take the updates that GROUP BY produces; declare PRIMARY KEY (k) NOT ENFORCED on it, or write an insert-only query",
    );
    expect(e.position).toBeDefined();
    const d = errorOf(() => plan(`${DDL}INSERT INTO log SELECT DISTINCT k, v FROM orders;`));
    expect(d.message).toContain('cannot take the updates that SELECT DISTINCT produces; declare PRIMARY KEY (k, v) NOT ENFORCED');
    const c = errorOf(() => plan(`${DDL}INSERT INTO log SELECT k, v FROM cdc;`));
    expect(c.message).toContain("cannot take the updates that the changelog source 'cdc' produces; declare PRIMARY KEY (k) NOT ENFORCED");
    const a = errorOf(() => plan(`${DDL}INSERT INTO appendonly SELECT k, COUNT(*) FROM orders GROUP BY k;`));
    expect(a.message).toBe(
      "table 'appendonly' (connector 'test-append', which is append-only) cannot take the updates that GROUP BY produces; write to a connector that accepts updates, or write an insert-only query",
    );
    // Insert-only queries are fine for every sink.
    expect(() => plan(`${DDL}INSERT INTO log SELECT k, v FROM orders;`)).not.toThrow();
  });

  it('rejects reading a sink-only table, writing a source-only table, views and OVERWRITE', () => {
    const r = errorOf(() => plan(`${DDL}INSERT INTO log SELECT CAST(a AS STRING), a FROM sink_only;`));
    expect(r.code).toBe('NOT_A_SOURCE');
    expect(r.message).toBe("table 'sink_only' cannot be read: connector 'test-sink' is a sink only (it has no source)");
    const w = errorOf(() => plan(`${DDL}INSERT INTO src_only SELECT v FROM orders;`));
    expect(w.code).toBe('NOT_A_SINK');
    expect(w.message).toBe("table 'src_only' cannot be written: connector 'test-source' is a source only (it has no sink)");
    expect(errorOf(() => plan(`${DDL}INSERT INTO v1 SELECT k FROM orders;`)).code).toBe('INSERT_INTO_VIEW');
    expect(errorOf(() => plan(`${DDL}INSERT OVERWRITE log SELECT k, v FROM orders;`)).code).toBe('UNSUPPORTED_OVERWRITE');
    expect(errorOf(() => plan(`${DDL}INSERT INTO nope SELECT k, v FROM orders;`)).code).toBe('UNKNOWN_TABLE');
  });

  it('creates sources with only the columns the query needs, in table order', () => {
    plan(`${DDL}INSERT INTO log SELECT k, CAST(id AS INT) FROM orders WHERE ts IS NOT NULL;`);
    expect(createdSources.at(-1)).toEqual({ table: 'orders', fields: ['id', 'k', 'ts'] });
    createdSources.length = 0;
    plan(`${DDL}INSERT INTO log SELECT CAST(c AS STRING), CAST(vm AS INT) FROM with_meta;`);
    // Computed column c is evaluated after the source; metadata columns are read from it.
    expect(createdSources.at(-1)).toEqual({ table: 'with_meta', fields: ['a', 'vm'] });
  });

  it('writes physical and persisted metadata columns, not computed or virtual ones', () => {
    const { catalog, inserts } = load(`${DDL}INSERT INTO with_meta SELECT v, id FROM orders;`);
    const b = bindInsert(inserts[0], catalog);
    expect(b.sinkSchema.fields.map((f) => `${f.name} ${formatType(f.type)}`)).toEqual(['a INT', 'm BIGINT']);
    const e = errorOf(() => plan(`${DDL}INSERT INTO with_meta (a, c) SELECT v, v FROM orders;`));
    expect(e.message).toBe("column 'c' of table 'with_meta' is computed or virtual and cannot be written");
  });

  it('hashes an updating stream on the sink primary key', () => {
    const g = plan(`${DDL}INSERT INTO keyed SELECT v, MAX(k) FROM orders GROUP BY v;`);
    const sink = g.vertices.at(-1)!;
    const edge = g.edges.find((x) => x.target === sink.id)!;
    expect(edge.partitioning).toEqual({ kind: 'hash', keys: [0] });
    expect(sink.kind === 'operator' && sink.isSink).toBe(true);
  });
});
