import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../src/sql/split.js';
import { errorLine } from './helpers.js';

const texts = (sql: string): string[] => splitStatements(sql).map((c) => c.text);

describe('splitStatements', () => {
  it('splits on semicolons and drops empty chunks', () => {
    expect(texts('SELECT 1; SELECT 2;;  ;\n')).toEqual(['SELECT 1', 'SELECT 2']);
    expect(texts('SELECT 1')).toEqual(['SELECT 1']);
    expect(texts('')).toEqual([]);
    expect(texts('  -- only a comment\n /* and another */ ; ')).toEqual([]);
  });

  it('ignores semicolons inside quotes and comments', () => {
    const sql = ['SELECT \'a;b\', `c;d`, "e;f" FROM t;', '-- a comment; with a semicolon', 'SELECT /* ; */ 2;', "SELECT 'it''s; ok'"].join('\n');
    expect(texts(sql)).toEqual(['SELECT \'a;b\', `c;d`, "e;f" FROM t', 'SELECT /* ; */ 2', "SELECT 'it''s; ok'"]);
  });

  it('reports offset, line and column of each chunk start (after leading comments)', () => {
    const sql = 'SET a = b;\n  -- comment\n   SELECT 1\n  FROM t;\r\n\tINSERT INTO x SELECT 2';
    const chunks = splitStatements(sql);
    expect(chunks.map((c) => [c.line, c.column])).toEqual([
      [1, 1],
      [3, 4],
      [5, 2],
    ]);
    for (const c of chunks) expect(sql.slice(c.offset, c.offset + c.text.length)).toBe(c.text);
    expect(chunks[1]!.text).toBe('SELECT 1\n  FROM t');
  });

  it('keeps EXECUTE STATEMENT SET BEGIN ... END together', () => {
    const sql = `SET x = y;
EXECUTE STATEMENT SET BEGIN
  INSERT INTO a SELECT * FROM t;
  INSERT INTO b SELECT CASE WHEN x THEN 1 END;
  INSERT INTO c SELECT * FROM t WHERE CASE WHEN y THEN true ELSE false END;
END;
SELECT 1`;
    const chunks = splitStatements(sql);
    expect(chunks).toHaveLength(3);
    expect(chunks[1]!.text.startsWith('EXECUTE STATEMENT SET BEGIN')).toBe(true);
    expect(chunks[1]!.text.endsWith('END')).toBe(true);
    expect(chunks[1]!.line).toBe(2);
    expect(chunks[2]).toMatchObject({ text: 'SELECT 1', line: 7, column: 1 });
  });

  it('keeps BEGIN STATEMENT SET; ... END; together, also under EXPLAIN', () => {
    const sql =
      'BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;\nEXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; END;SELECT 3;';
    expect(texts(sql)).toEqual([
      'BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND',
      'EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; END',
      'SELECT 3',
    ]);
  });

  it('an unclosed statement set runs to the end of the file', () => {
    expect(texts('BEGIN STATEMENT SET; INSERT INTO a SELECT 1;')).toEqual(['BEGIN STATEMENT SET; INSERT INTO a SELECT 1;']);
  });

  it('treats -- inside strings as text and handles comments at the end of the file', () => {
    expect(texts("SELECT '--x' FROM t -- trailing")).toEqual(["SELECT '--x' FROM t"]);
    expect(texts('SELECT 1 /* c */')).toEqual(['SELECT 1']);
  });

  it('reports unterminated strings, identifiers and comments with their position', () => {
    expect(errorLine(() => splitStatements("SELECT 1;\nSELECT 'abc;\n"))).toBe("2:8: unterminated string literal: ' is never closed");
    expect(errorLine(() => splitStatements('SELECT 1;\n\n  SELECT `a'))).toBe('3:10: unterminated quoted identifier: ` is never closed');
    expect(errorLine(() => splitStatements('SELECT 1 /* never'))).toBe('1:10: unterminated comment: /* is never closed by */');
  });

  it('returns frozen chunks', () => {
    const [c] = splitStatements('SELECT 1');
    expect(Object.isFrozen(c)).toBe(true);
  });
});
