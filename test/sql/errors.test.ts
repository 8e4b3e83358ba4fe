import { describe, expect, it } from 'vitest';
import { parseScript } from '../../src/sql/parse.js';
import { errorLine, userErrorOf } from './helpers.js';

/** Two good statements, then `third` starting on line 3. */
const script = (third: string): string => `SET 'parallelism.default' = '1';\nCREATE TABLE a (x INT) WITH ('connector' = 'datagen');\n${third}\nSELECT 1;`;

describe('error positions in a multi-statement script', () => {
  it('a syntax error in a SELECT on line 3', () => {
    const e = userErrorOf(() => parseScript(script('SELECT x y z FROM a;')));
    expect(e.code).toBe('SQL_PARSE');
    expect(e.position).toEqual({ line: 3, column: 12 });
    expect(e.toUserLine()).toBe("3:12: unexpected 'z', expected one of: FROM, WHERE, GROUP, HAVING, ORDER, LIMIT, UNION, INTERSECT, EXCEPT, ',', ...");
  });

  it('a misspelled keyword on line 3 is named', () => {
    expect(errorLine(() => parseScript(script('SELECT x FORM a;')))).toBe("3:10: unexpected 'FORM', did you mean FROM?");
    expect(errorLine(() => parseScript(script('SELECT x FROM a ORDER BY x DSC;')))).toBe("3:28: unexpected 'DSC', did you mean DESC?");
    expect(errorLine(() => parseScript(script('SELECT x FROM a WHERE x = 1 AN x = 2;')))).toBe("3:29: unexpected 'AN', did you mean AND?");
  });

  it('an incomplete WHERE on line 3, after leading spaces', () => {
    expect(errorLine(() => parseScript(script('   SELECT x FROM a WHERE;')))).toBe('3:25: unexpected end of statement, expected an expression');
  });

  it('a syntax error on the second line of a statement that starts on line 3', () => {
    expect(errorLine(() => parseScript(script('SELECT x\n  FROM a WHERE x = = 1;')))).toBe("4:20: unexpected '=', expected an expression");
  });

  it('a DDL error on line 3', () => {
    expect(errorLine(() => parseScript(script("CREATE TABLE b (y INT WITH ('connector' = 'print');")))).toBe(
      "3:23: expected ')' after column list, found 'WITH'",
    );
    expect(errorLine(() => parseScript(script("CREATE TABLE b (y INTEGR) WITH ('connector' = 'print');")))).toBe("3:19: unknown data type 'INTEGR'");
    expect(errorLine(() => parseScript(script("CREATE TABLE b (\n  y INT,\n  PRIMARY KEY (y)\n) WITH ('connector' = 'print');")))).toBe(
      "5:3: Flink requires PRIMARY KEY ... NOT ENFORCED (key uniqueness is not checked): add 'NOT ENFORCED'",
    );
  });

  it('an error inside a computed column and a watermark expression on line 3', () => {
    expect(errorLine(() => parseScript(script("CREATE TABLE b (y INT, z AS y = = 2) WITH ('k' = 'v');")))).toBe("3:33: unexpected '=', expected an expression");
    expect(errorLine(() => parseScript(script("CREATE TABLE b (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' WEEK) WITH ('k' = 'v');")))).toMatch(
      /^3:59: interval unit WEEK is not supported/,
    );
  });

  it('an unsupported construct in an INSERT query on line 3', () => {
    const e = userErrorOf(() => parseScript(script('INSERT INTO a SELECT SUM(x) OVER (ORDER BY x) FROM a;')));
    expect(e.code).toBe('SQL_UNSUPPORTED');
    expect(e.toUserLine()).toBe('3:29: OVER (window aggregation) is not supported yet');
  });

  it('a bad CAST type inside a query on line 3', () => {
    expect(errorLine(() => parseScript(script('SELECT CAST(x AS DECIMAL(40, 2)) FROM a;')))).toBe('3:18: DECIMAL precision must be between 1 and 38, got 40');
    expect(errorLine(() => parseScript(script('SELECT CAST(x AS INT NOT) FROM a;')))).toBe("3:22: expected ')' after the CAST target type, found 'NOT'");
  });

  it('an unterminated string on line 3 is reported where it starts', () => {
    expect(errorLine(() => parseScript(script("SELECT 'abc FROM a;")))).toBe("3:8: unterminated string literal: ' is never closed");
  });

  it('an error in the second INSERT of a statement set', () => {
    const sql = `SET 'a' = 'b';
EXECUTE STATEMENT SET BEGIN
  INSERT INTO a SELECT x FROM a;
  INSERT INTO a SELECT x FROM a WHERE x IN ();
END;`;
    expect(errorLine(() => parseScript(sql))).toBe("4:45: unexpected ')', expected an expression");
  });

  it('messages never expose parser internals', () => {
    for (const bad of [
      'SELECT a, FROM t',
      'SELECT (a FROM t',
      'SELECT * FROM t WHERE a <=> b',
      'SELECT COUNT(DISTINCT a, b) FROM t',
      'SELECT a FROM t GROUP a',
    ]) {
      const e = userErrorOf(() => parseScript(bad));
      expect(e.code).toBe('SQL_PARSE');
      expect(e.position).toBeDefined();
      expect(e.message).not.toMatch(/\[|\\|class|undefined|Expected|--|\/\*/);
    }
    expect(errorLine(() => parseScript('SELECT a FROM t GROUP a'))).toBe("1:23: unexpected 'a', expected BY");
  });
});
