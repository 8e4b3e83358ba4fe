import { describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { parseShellInput } from '../../../src/sql/parse.js';
import { isCompleteInput } from '../../../src/sql/shell-statements.js';

/** The shell's own statements (src/sql/shell-statements.ts) and when typed input is a whole statement. */

function errorOf(text: string): string {
  try {
    parseShellInput(text);
  } catch (e) {
    if (isWeirError(e)) return e.toUserLine();
    throw e;
  }
  throw new Error(`'${text}' parsed`);
}

describe('shell statements', () => {
  it('parses SHOW, DESCRIBE, STOP JOB, HELP and QUIT, and hands everything else to the statement parser', () => {
    expect(parseShellInput('show tables;')).toEqual({ kind: 'show', what: 'tables', pos: { line: 1, column: 1 } });
    expect(parseShellInput('SHOW JOBS')).toMatchObject({ kind: 'show', what: 'jobs' });
    expect(parseShellInput('SHOW FUNCTIONS')).toMatchObject({ kind: 'show', what: 'functions' });
    expect(parseShellInput('SHOW VIEWS')).toMatchObject({ kind: 'show', what: 'views' });
    expect(parseShellInput('SHOW CREATE TABLE db.t')).toMatchObject({ kind: 'show-create', object: 'table', name: ['db', 't'] });
    expect(parseShellInput('SHOW CREATE VIEW `v 1`')).toMatchObject({ kind: 'show-create', object: 'view', name: ['v 1'] });
    expect(parseShellInput("SHOW CHECKPOINTS 'abc123'")).toMatchObject({ kind: 'show-checkpoints', job: 'abc123' });
    expect(parseShellInput('DESC t')).toMatchObject({ kind: 'describe', name: ['t'] });
    expect(parseShellInput("STOP JOB 'ab12' WITH SAVEPOINT;")).toMatchObject({ kind: 'stop-job', job: 'ab12', savepoint: true });
    expect(parseShellInput("stop job 'ab12'")).toMatchObject({ kind: 'stop-job', job: 'ab12', savepoint: false });
    expect(parseShellInput('HELP')).toMatchObject({ kind: 'help' });
    expect(parseShellInput('exit;')).toMatchObject({ kind: 'quit' });
    expect(parseShellInput('SELECT 1')).toMatchObject({ kind: 'query' });
    expect(parseShellInput("SET 'a.b' = 'c'")).toMatchObject({ kind: 'set', key: 'a.b', value: 'c' });
    expect(Object.isFrozen(parseShellInput('SHOW TABLES'))).toBe(true);
  });

  it('reports what was expected, at the position', () => {
    expect(errorOf('SHOW TABLS')).toBe("1:6: expected TABLES, VIEWS, FUNCTIONS, JOBS, CREATE TABLE, CREATE VIEW or CHECKPOINTS after SHOW, found 'TABLS'");
    expect(errorOf("STOP JOB 'x' WITH")).toBe('1:18: expected SAVEPOINT after STOP JOB ... WITH, found end of statement');
    expect(errorOf('DESCRIBE')).toBe('1:9: expected an identifier after DESCRIBE, found end of statement');
    expect(errorOf('SHOW TABLES x')).toBe("1:13: expected end of statement after SHOW TABLES, found 'x'");
  });

  it('tells a whole statement from one still being typed', () => {
    expect(isCompleteInput('SELECT 1;')).toBe(true);
    expect(isCompleteInput('SELECT 1')).toBe(false);
    expect(isCompleteInput("SELECT ';")).toBe(false);
    expect(isCompleteInput("SELECT ';';")).toBe(true);
    expect(isCompleteInput('SELECT 1; -- done')).toBe(true);
    expect(isCompleteInput('SELECT 1 /* ; */')).toBe(false);
    expect(isCompleteInput('EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;')).toBe(false);
    expect(isCompleteInput('EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nEND;')).toBe(true);
    expect(isCompleteInput('BEGIN STATEMENT SET;')).toBe(false);
    expect(isCompleteInput('SET a = b; SELECT 2;')).toBe(true);
  });
});
