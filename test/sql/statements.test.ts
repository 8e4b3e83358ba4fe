import { describe, expect, it } from 'vitest';
import { parseScript, parseStatement } from '../../src/sql/parse.js';
import { errorLine, statement } from './helpers.js';
import { showExpr, showQuery } from './show.js';

describe('SET and RESET', () => {
  it('parses quoted, unquoted and bare forms', () => {
    expect(parseStatement("SET 'parallelism.default' = '4'")).toEqual({
      kind: 'set',
      key: 'parallelism.default',
      value: '4',
      pos: { line: 1, column: 1 },
    });
    expect(statement('SET table.exec.mini-batch.enabled = true', 'set')).toMatchObject({ key: 'table.exec.mini-batch.enabled', value: 'true' });
    expect(statement("SET 'k' = 'it''s'", 'set')).toMatchObject({ key: 'k', value: "it's" });
    expect(statement('SET', 'set')).toEqual({ kind: 'set', pos: { line: 1, column: 1 } });
    expect(statement('set;', 'set')).toEqual({ kind: 'set', pos: { line: 1, column: 1 } });
    expect(statement("RESET 'k'", 'reset')).toEqual({ kind: 'reset', key: 'k', pos: { line: 1, column: 1 } });
    expect(statement('RESET a.b', 'reset')).toMatchObject({ key: 'a.b' });
    expect(statement('RESET', 'reset')).toEqual({ kind: 'reset', pos: { line: 1, column: 1 } });
  });

  it('reports a missing = or value', () => {
    expect(errorLine(() => parseStatement("SET 'k' 'v'"))).toBe("1:9: expected '=' after the SET key 'k', found string 'v'");
    expect(errorLine(() => parseStatement("SET 'k' ="))).toBe("1:10: expected a value after '=' in SET 'k', found end of statement");
  });
});

describe('CREATE TABLE', () => {
  const ddl = `CREATE TEMPORARY TABLE IF NOT EXISTS cat.db.orders (
  id BIGINT NOT NULL,
  customer STRING COMMENT 'who',
  amount DECIMAL(10, 2),
  ts TIMESTAMP(3),
  ingested TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  \`partition\` INT METADATA,
  doubled AS amount * 2 COMMENT 'computed',
  CONSTRAINT pk PRIMARY KEY (id, customer) NOT ENFORCED,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) COMMENT 'orders' PARTITIONED BY (customer) WITH (
  'connector' = 'kafka',
  'topic' = 'orders',
  'properties.bootstrap.servers' = 'localhost:9092'
)`;

  it('parses columns of every kind, the key, the watermark and the options', () => {
    const s = statement(ddl, 'create-table');
    expect(s.name).toEqual(['cat', 'db', 'orders']);
    expect(s.temporary).toBe(true);
    expect(s.ifNotExists).toBe(true);
    expect(s.columns.map((c) => `${c.kind}:${c.name}`)).toEqual([
      'physical:id',
      'physical:customer',
      'physical:amount',
      'physical:ts',
      'metadata:ingested',
      'metadata:partition',
      'computed:doubled',
    ]);
    expect(s.columns[0]).toEqual({ kind: 'physical', name: 'id', type: { kind: 'BIGINT', nullable: false }, pos: { line: 2, column: 3 } });
    // Primary key columns become NOT NULL.
    expect(s.columns[1]).toMatchObject({ type: { kind: 'STRING', nullable: false } });
    expect(s.columns[2]).toMatchObject({ type: { kind: 'DECIMAL', nullable: true, precision: 10, scale: 2 } });
    expect(s.columns[4]).toEqual({
      kind: 'metadata',
      name: 'ingested',
      type: { kind: 'TIMESTAMP_LTZ', nullable: true, precision: 3 },
      key: 'timestamp',
      virtual: true,
      pos: { line: 6, column: 3 },
    });
    expect(s.columns[5]).toEqual({ kind: 'metadata', name: 'partition', type: { kind: 'INT', nullable: true }, virtual: false, pos: { line: 7, column: 3 } });
    const computed = s.columns[6]!;
    if (computed.kind !== 'computed') throw new Error('shape');
    expect(showExpr(computed.expr, true)).toBe('(*@8:14 amount@8:14 integer:2@8:23)');
    expect(s.primaryKey).toEqual(['id', 'customer']);
    expect(s.watermark?.column).toBe('ts');
    expect(s.watermark?.pos).toEqual({ line: 10, column: 3 });
    expect(showExpr(s.watermark!.expr, true)).toBe('(-@10:23 ts@10:23 interval:5:SECOND@10:28)');
    expect(s.partitionedBy).toEqual(['customer']);
    expect(s.options).toEqual([
      { key: 'connector', value: 'kafka', pos: { line: 12, column: 3 } },
      { key: 'topic', value: 'orders', pos: { line: 13, column: 3 } },
      { key: 'properties.bootstrap.servers', value: 'localhost:9092', pos: { line: 14, column: 3 } },
    ]);
    expect(s.pos).toEqual({ line: 1, column: 1 });
  });

  it('returns a deeply frozen statement', () => {
    const s = statement(ddl, 'create-table');
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.columns)).toBe(true);
    expect(Object.isFrozen(s.columns[0])).toBe(true);
    expect(Object.isFrozen(s.options[0])).toBe(true);
    expect(Object.isFrozen(s.watermark)).toBe(true);
    expect(() => {
      (s.options as unknown as { key: string }[]).push({ key: 'x' });
    }).toThrow();
  });

  it('accepts an inline primary key, a plain table and no WITH clause', () => {
    const s = statement("CREATE TABLE t (id INT PRIMARY KEY NOT ENFORCED, v STRING) WITH ('connector' = 'print')", 'create-table');
    expect(s.primaryKey).toEqual(['id']);
    expect(s.columns[0]).toMatchObject({ type: { kind: 'INT', nullable: false } });
    expect(s.temporary).toBe(false);
    expect(s.ifNotExists).toBe(false);
    const bare = statement('CREATE TABLE t (a INT)', 'create-table');
    expect(bare.options).toEqual([]);
    expect(bare).not.toHaveProperty('primaryKey');
    expect(bare).not.toHaveProperty('watermark');
    expect(statement('CREATE TABLE t (a INT CONSTRAINT k PRIMARY KEY NOT ENFORCED)', 'create-table').primaryKey).toEqual(['a']);
  });

  it('computed columns may contain commas and casts inside parentheses', () => {
    const s = statement("CREATE TABLE t (a STRING, b AS COALESCE(CAST(a AS INT), 0), c AS TO_TIMESTAMP(a, 'yyyy-MM-dd')) WITH ('x' = 'y')", 'create-table');
    const exprs = s.columns.filter((c) => c.kind === 'computed').map((c) => showExpr(c.expr));
    expect(exprs).toEqual(['(COALESCE (cast a INT) integer:0)', '(TO_TIMESTAMP a string:yyyy-MM-dd)']);
  });

  it('rejects a PRIMARY KEY without NOT ENFORCED, explaining Flink requires it', () => {
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT, PRIMARY KEY (a)) WITH ('x' = 'y')"))).toBe(
      "1:24: Flink requires PRIMARY KEY ... NOT ENFORCED (key uniqueness is not checked): add 'NOT ENFORCED'",
    );
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT PRIMARY KEY)'))).toBe(
      "1:23: Flink requires PRIMARY KEY ... NOT ENFORCED (key uniqueness is not checked): add 'NOT ENFORCED'",
    );
  });

  it('validates keys, watermarks, partitions, duplicates', () => {
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, PRIMARY KEY (b) NOT ENFORCED)'))).toBe(
      "1:24: PRIMARY KEY column 'b' is not a column of the table",
    );
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, b AS a + 1, PRIMARY KEY (b) NOT ENFORCED)'))).toBe(
      "1:36: PRIMARY KEY column 'b' must be a physical or metadata column, not a computed column",
    );
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT PRIMARY KEY NOT ENFORCED, PRIMARY KEY (a) NOT ENFORCED)'))).toBe(
      '1:49: table t declares more than one PRIMARY KEY',
    );
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, WATERMARK FOR ts AS ts)'))).toBe("1:24: WATERMARK column 'ts' is not a column of the table");
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, a STRING)'))).toBe("1:24: column 'a' is declared twice");
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT) WITH ('k' = 'a', 'k' = 'b')"))).toBe("1:41: option 'k' is given twice");
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT) PARTITIONED BY (b)'))).toBe("1:24: PARTITIONED BY column 'b' is not a column of the table");
  });

  it('reports syntax errors in the column list and options', () => {
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT WITH ('x' = 'y')"))).toBe("1:23: expected ')' after column list, found 'WITH'");
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT) WITH (connector = 'x')"))).toBe(
      "1:30: expected a quoted string as an option key (keys are quoted: 'connector' = '...'), found 'connector'",
    );
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT) WITH ('a' = 'b',)"))).toBe(
      "1:40: expected a quoted string as an option key (keys are quoted: 'connector' = '...'), found ')'",
    );
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT) WITH ('a' 'b')"))).toBe("1:34: expected '=' after option key 'a', found string 'b'");
    expect(errorLine(() => parseStatement("CREATE TABLE t (a INT) WTIH ('a' = 'b')"))).toBe(
      "1:24: expected WITH (...) or end of statement after the table definition, found 'WTIH'",
    );
    expect(errorLine(() => parseStatement('CREATE TABLE t (a)'))).toBe("1:18: expected a data type for column 'a', found ')'");
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, b AS )'))).toBe("1:29: expected an expression for computed column 'b'");
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, b AS a b)'))).toBe("1:31: unexpected 'b' after the expression");
    expect(errorLine(() => parseStatement('CREATE TABLE t (a INT, b AS a +)'))).toBe('1:32: unexpected end of expression, expected an expression');
    expect(errorLine(() => parseStatement('CREATE TABLE t AS SELECT 1'))).toBe(
      '1:16: CREATE TABLE ... AS SELECT is not supported: create the table, then INSERT INTO it',
    );
    expect(errorLine(() => parseStatement('CREATE FUNCTION f AS x'))).toBe('1:8: CREATE FUNCTION is not supported');
  });
});

describe('CREATE VIEW and DROP', () => {
  it('parses views with column lists and keeps the query text', () => {
    const s = statement('CREATE TEMPORARY VIEW IF NOT EXISTS v (x, y) AS\n  SELECT a, b FROM t WHERE a > 1', 'create-view');
    expect(s).toMatchObject({ name: ['v'], temporary: true, ifNotExists: true, columnNames: ['x', 'y'] });
    expect(s.queryText).toBe('SELECT a, b FROM t WHERE a > 1');
    expect(showQuery(s.query, true)).toBe('SELECT@2:3 a@2:10, b@2:13 FROM t@2:20 WHERE (>@2:28 a@2:28 integer:1@2:32)');
    const plain = statement('CREATE VIEW db.v AS SELECT 1', 'create-view');
    expect(plain).toMatchObject({ name: ['db', 'v'], temporary: false, ifNotExists: false });
    expect(plain).not.toHaveProperty('columnNames');
  });

  it('parses DROP TABLE / VIEW', () => {
    expect(parseStatement('DROP TABLE cat.db.t')).toEqual({
      kind: 'drop',
      object: 'table',
      name: ['cat', 'db', 't'],
      ifExists: false,
      temporary: false,
      pos: { line: 1, column: 1 },
    });
    expect(statement('DROP TEMPORARY VIEW IF EXISTS v', 'drop')).toMatchObject({ object: 'view', ifExists: true, temporary: true });
    expect(errorLine(() => parseStatement('DROP DATABASE d'))).toBe('1:6: DROP DATABASE is not supported');
    expect(errorLine(() => parseStatement('DROP TABLE t u'))).toBe("1:14: expected end of statement after DROP TABLE t, found 'u'");
  });
});

describe('INSERT, statement sets, EXPLAIN, queries', () => {
  it('parses INSERT INTO / OVERWRITE with and without a column list', () => {
    const s = statement('INSERT INTO cat.db.sink (a, `b`)\nSELECT x, y FROM src', 'insert');
    expect(s).toMatchObject({ target: ['cat', 'db', 'sink'], columns: ['a', 'b'], overwrite: false, queryText: 'SELECT x, y FROM src' });
    expect(showQuery(s.query, true)).toBe('SELECT@2:1 x@2:8, y@2:11 FROM src@2:18');
    const o = statement('INSERT OVERWRITE sink SELECT * FROM src', 'insert');
    expect(o.overwrite).toBe(true);
    expect(o).not.toHaveProperty('columns');
    const p = statement('INSERT INTO sink (SELECT * FROM src)', 'insert');
    expect(p.queryText).toBe('(SELECT * FROM src)');
    expect(errorLine(() => parseStatement('INSERT INTO sink VALUES (1, 2)'))).toBe('1:18: VALUES is not supported: use SELECT ... FROM a table');
    expect(errorLine(() => parseStatement('INSERT sink SELECT 1'))).toBe("1:8: expected INTO after INSERT, found 'sink'");
    expect(errorLine(() => parseStatement('INSERT INTO sink'))).toBe('1:17: expected a query after INSERT INTO sink, found end of statement');
  });

  it('parses EXECUTE STATEMENT SET and BEGIN STATEMENT SET', () => {
    const a = statement('EXECUTE STATEMENT SET BEGIN\n  INSERT INTO a SELECT * FROM t;\n  INSERT INTO b SELECT * FROM t;\nEND', 'statement-set');
    expect(a.inserts.map((i) => i.target[0])).toEqual(['a', 'b']);
    expect(a.inserts[1]!.pos).toEqual({ line: 3, column: 3 });
    const b = statement('BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND;', 'statement-set');
    expect(b.inserts).toHaveLength(1);
    expect(errorLine(() => parseStatement('EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; SELECT 2; END'))).toBe(
      "1:53: expected INSERT inside a statement set, found 'SELECT'",
    );
    expect(errorLine(() => parseStatement('BEGIN STATEMENT SET; INSERT INTO a SELECT 1;'))).toBe('1:44: expected END to close the statement set');
    expect(errorLine(() => parseStatement('EXECUTE STATEMENT SET BEGIN END'))).toBe('1:1: a statement set needs at least one INSERT');
  });

  it('parses EXPLAIN of a query, an INSERT and a statement set', () => {
    const q = statement('EXPLAIN PLAN FOR SELECT a FROM t', 'explain');
    expect(q.statement).toMatchObject({ kind: 'query', queryText: 'SELECT a FROM t', pos: { line: 1, column: 18 } });
    expect(statement('EXPLAIN INSERT INTO s SELECT a FROM t', 'explain').statement.kind).toBe('insert');
    const set = statement('EXPLAIN STATEMENT SET BEGIN INSERT INTO s SELECT a FROM t; END', 'explain');
    expect(set.statement.kind).toBe('statement-set');
    expect(statement('EXPLAIN EXECUTE STATEMENT SET BEGIN INSERT INTO s SELECT a FROM t; END', 'explain').statement.kind).toBe('statement-set');
    expect(errorLine(() => parseStatement('EXPLAIN CHANGELOG_MODE SELECT 1'))).toBe(
      '1:9: EXPLAIN CHANGELOG_MODE is not supported: use EXPLAIN or EXPLAIN PLAN FOR',
    );
    expect(errorLine(() => parseStatement('EXPLAIN DROP TABLE t'))).toBe("1:9: expected INSERT, a statement set or a query after EXPLAIN, found 'DROP'");
  });

  it('keeps the exact query text of a bare query', () => {
    const s = statement('WITH x AS (SELECT 1 AS a)\nSELECT a FROM x -- done\n;', 'query');
    expect(s.queryText).toBe('WITH x AS (SELECT 1 AS a)\nSELECT a FROM x');
  });

  it('rejects other statements and several statements in one', () => {
    expect(errorLine(() => parseStatement('SHOW TABLES'))).toBe('1:1: the SHOW statement is not supported');
    expect(errorLine(() => parseStatement('SELECT 1; SELECT 2'))).toBe("1:9: unexpected ';': expected a single statement");
    expect(errorLine(() => parseStatement('  -- nothing\n'))).toBe('1:1: expected a statement, found an empty text');
    expect(errorLine(() => parseStatement('42'))).toBe("1:1: expected a statement, found '42'");
  });
});

describe('parseScript', () => {
  it('parses a whole job file with file positions', () => {
    const script = `-- a job
SET 'pipeline.name' = 'demo';

CREATE TABLE src (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen');
CREATE TABLE dst (a INT) WITH ('connector' = 'print');

EXECUTE STATEMENT SET BEGIN
  INSERT INTO dst SELECT a FROM src;
  INSERT INTO dst SELECT a + 1 FROM src;
END;
SELECT COUNT(*) FROM src;`;
    const stmts = parseScript(script);
    expect(stmts.map((s) => s.kind)).toEqual(['set', 'create-table', 'create-table', 'statement-set', 'query']);
    expect(stmts.map((s) => s.pos)).toEqual([
      { line: 2, column: 1 },
      { line: 4, column: 1 },
      { line: 5, column: 1 },
      { line: 7, column: 1 },
      { line: 11, column: 1 },
    ]);
    const set = stmts[3]!;
    if (set.kind !== 'statement-set') throw new Error('shape');
    expect(showQuery(set.inserts[1]!.query, true)).toBe('SELECT@9:19 (+@9:26 a@9:26 integer:1@9:30) FROM src@9:37');
    expect(Object.isFrozen(stmts[0])).toBe(true);
  });
});
