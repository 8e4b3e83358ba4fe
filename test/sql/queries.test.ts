import { describe, expect, it } from 'vitest';
import { errorLine, query } from './helpers.js';
import { showQuery } from './show.js';

const show = (sql: string, withPos = false): string => showQuery(query(sql), withPos);

describe('query conversion', () => {
  it('converts every SELECT clause', () => {
    expect(show('SELECT DISTINCT a, b AS x FROM t WHERE a > 1 GROUP BY a, b HAVING COUNT(*) > 2 ORDER BY a DESC, x LIMIT 10')).toBe(
      'SELECT DISTINCT a, b AS x FROM t WHERE (> a integer:1) GROUP BY a, b HAVING (> (COUNT *) integer:2) ORDER BY a DESC, x LIMIT 10',
    );
  });

  it('produces the full IR shape of a simple query', () => {
    expect(query('SELECT a FROM db.t AS x')).toEqual({
      kind: 'select',
      distinct: false,
      items: [{ kind: 'expr', expr: { kind: 'column', name: 'a', pos: { line: 1, column: 8 } }, pos: { line: 1, column: 8 } }],
      from: { kind: 'table', name: ['db', 't'], alias: 'x', pos: { line: 1, column: 15 } },
      groupBy: [],
      orderBy: [],
      pos: { line: 1, column: 1 },
    });
  });

  it('SELECT without FROM, * and t.*', () => {
    expect(query('SELECT 1')).toMatchObject({ kind: 'select', items: [{ kind: 'expr' }] });
    expect(query('SELECT 1')).not.toHaveProperty('from');
    expect(show('SELECT *, t.*, `u`.* FROM t, u')).toBe('SELECT *, t.*, u.* FROM [t cross u]');
  });

  it('qualified table names, aliases with and without AS, backticks', () => {
    expect(show('SELECT * FROM cat.db.`my table` m')).toBe('SELECT * FROM cat.db.my table m');
    expect(show('SELECT a AS `the a` FROM t')).toBe('SELECT a AS the a FROM t');
  });

  it('aliases that node-sql-parser reserves but Flink does not (one, ...)', () => {
    expect(show('SELECT 1 AS one, a AS One, b AS two FROM t')).toBe('SELECT integer:1 AS one, a AS One, b AS two FROM t');
  });

  it('joins of every type, left-deep', () => {
    const sql = `SELECT * FROM a
      JOIN b ON a.id = b.id
      INNER JOIN c ON c.k = b.k
      LEFT JOIN d ON TRUE
      LEFT OUTER JOIN e ON e.x = 1
      RIGHT JOIN f ON f.x = 1
      FULL OUTER JOIN g ON g.x = 1
      CROSS JOIN h, i`;
    expect(show(sql)).toBe(
      'SELECT * FROM [[[[[[[[a inner b ON (= a.id b.id)] inner c ON (= c.k b.k)] left d ON boolean:TRUE] left e ON (= e.x integer:1)] right f ON (= f.x integer:1)] full g ON (= g.x integer:1)] cross h] cross i]',
    );
  });

  it('subqueries in FROM, with alias, nested', () => {
    expect(show('SELECT s.a FROM (SELECT a FROM (SELECT a, b FROM t) AS u WHERE b > 0) AS s')).toBe(
      'SELECT s.a FROM (SELECT a FROM (SELECT a, b FROM t) u WHERE (> b integer:0)) s',
    );
    expect(show('SELECT * FROM t LEFT JOIN (SELECT k FROM u) v ON t.k = v.k')).toBe('SELECT * FROM [t left (SELECT k FROM u) v ON (= t.k v.k)]');
  });

  it('UNION and UNION ALL are left-associative', () => {
    expect(show('SELECT a FROM t UNION ALL SELECT a FROM u UNION SELECT b FROM v')).toBe('{{SELECT a FROM t UNION ALL SELECT a FROM u} UNION SELECT b FROM v}');
    expect(show('(SELECT a FROM t) UNION ALL (SELECT a FROM u ORDER BY a LIMIT 1)')).toBe('{SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a LIMIT 1}');
    expect(show('SELECT * FROM (SELECT a FROM t UNION ALL SELECT b FROM u) x ORDER BY a')).toBe(
      'SELECT * FROM ({SELECT a FROM t UNION ALL SELECT b FROM u}) x ORDER BY a',
    );
  });

  it('inlines WITH queries as subqueries where they are used', () => {
    expect(show('WITH c AS (SELECT a FROM t), d AS (SELECT * FROM c WHERE a > 1) SELECT * FROM d JOIN c x ON d.a = x.a')).toBe(
      'SELECT * FROM [(SELECT * FROM (SELECT a FROM t) c WHERE (> a integer:1)) d inner (SELECT a FROM t) x ON (= d.a x.a)]',
    );
    // A qualified name is a catalog table, never a WITH query.
    expect(show('WITH t AS (SELECT 1) SELECT * FROM db.t')).toBe('SELECT * FROM db.t');
  });

  it('a parenthesized query', () => {
    expect(show('(SELECT a FROM t)')).toBe('SELECT a FROM t');
  });

  it('positions of clauses, joins and unions are file positions', () => {
    const sql = 'SELECT a,\n  b\nFROM t\n  JOIN u ON t.k = u.k\nUNION ALL\nSELECT x, y FROM v';
    expect(show(sql, true)).toBe(
      '{SELECT@1:1 a@1:8, b@2:3 FROM [t@3:6 inner@4:3 u@4:8 ON (=@4:13 t.k@4:13 u.k@4:19)] UNION ALL@5:1 SELECT@6:1 x@6:8, y@6:11 FROM v@6:18}',
    );
  });

  it('aliases are skipped when locating later columns', () => {
    expect(show('SELECT a AS b, b FROM t', true)).toBe('SELECT@1:1 a@1:8 AS b, b@1:16 FROM t@1:23');
  });

  it('rejects what the IR cannot express, with positions', () => {
    expect(errorLine(() => query('SELECT a FROM t\nUNION ALL SELECT a FROM u ORDER BY a'))).toBe(
      '2:27: ORDER BY or LIMIT after UNION is not supported: wrap the UNION in a subquery: SELECT * FROM (... UNION ALL ...) ORDER BY ...',
    );
    expect(errorLine(() => query('SELECT a FROM t INTERSECT SELECT a FROM u'))).toBe('1:17: INTERSECT is not supported');
    expect(errorLine(() => query('SELECT a FROM t EXCEPT SELECT a FROM u'))).toBe('1:17: EXCEPT is not supported');
    expect(errorLine(() => query('SELECT a FROM t LIMIT 5 OFFSET 2'))).toBe('1:17: OFFSET is not supported');
    expect(errorLine(() => query('SELECT * FROM a JOIN b USING (id)'))).toBe('1:17: JOIN ... USING is not supported: write ON a.x = b.x');
    expect(errorLine(() => query('SELECT * FROM a NATURAL JOIN b'))).toBe('1:17: NATURAL JOIN is not supported');
    expect(errorLine(() => query('SELECT * FROM a JOIN b'))).toBe('1:17: JOIN requires an ON condition (or use CROSS JOIN)');
    expect(errorLine(() => query('SELECT * FROM a LEFT JOIN b ON a.x = b.x, c'))).toBe(
      "1:29: a ',' table list after JOIN ... ON is not supported: write CROSS JOIN instead of ','",
    );
    expect(errorLine(() => query('WITH c (x) AS (SELECT 1) SELECT * FROM c'))).toMatch(/^1:6: a column list on a WITH query is not supported/);
    expect(errorLine(() => query('SELECT * FROM t FOR SYSTEM_TIME AS OF t.ts'))).toBe('1:17: FOR SYSTEM_TIME AS OF (temporal join) is not supported yet');
    expect(errorLine(() => query('SELECT * FROM TABLE(my_tvf(TABLE t))'))).toBe(
      '1:15: TABLE(...) other than the window table-valued functions TUMBLE, HOP, CUMULATE and SESSION is not supported yet',
    );
    expect(errorLine(() => query('SELECT * FROM t, LATERAL TABLE(f(t.a))'))).toBe('1:18: LATERAL TABLE (table function join) is not supported yet');
  });

  it('rejects a string literal used as an alias', () => {
    expect(errorLine(() => query("SELECT X'AB' FROM t"))).toBe("1:9: unexpected string 'AB': an alias must be an identifier");
  });
});
