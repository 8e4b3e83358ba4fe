import { describe, expect, it } from 'vitest';
import { expandEnv } from '../../src/config/env.js';
import { Catalog } from '../../src/plan/catalog.js';
import { parseScript } from '../../src/sql/parse.js';
import type { CreateTableStatement } from '../../src/sql/ir.js';
import '../../connectors/index.js';

describe('${ENV} references in option values', () => {
  it('expands set variables and leaves other text alone', () => {
    const env = { PGPASSWORD: 's3cret', HOST: 'db.local' };
    expect(expandEnv('${PGPASSWORD}', 'x', undefined, env)).toBe('s3cret');
    expect(expandEnv('postgres://u@${HOST}:5432/app', 'x', undefined, env)).toBe('postgres://u@db.local:5432/app');
    expect(expandEnv('no refs, $HOME stays', 'x', undefined, env)).toBe('no refs, $HOME stays');
  });

  it('a missing variable is a user error naming it and the option, with the position, never a value', () => {
    const sql = `CREATE TABLE t (a INT) WITH (\n  'connector' = 'print',\n  'print-identifier' = '\${WEIR_TEST_UNSET_VARIABLE}'\n);`;
    const st = parseScript(sql)[0] as CreateTableStatement;
    delete process.env.WEIR_TEST_UNSET_VARIABLE;
    const err = (() => {
      try {
        new Catalog().apply(st);
      } catch (e) {
        return e as { message: string; code: string; position?: { line: number } };
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('MISSING_ENV');
    expect(err.message).toBe("option 'print-identifier' of table 't' refers to environment variable 'WEIR_TEST_UNSET_VARIABLE', which is not set");
    expect(err.position?.line).toBe(3);
  });

  it('the catalog keeps the expanded value', () => {
    process.env.WEIR_TEST_IDENT = 'from-env';
    const st = parseScript(`CREATE TABLE t (a INT) WITH ('connector' = 'print', 'print-identifier' = '\${WEIR_TEST_IDENT}');`)[0] as CreateTableStatement;
    const c = new Catalog();
    c.apply(st);
    expect(c.getTable('t')!.options['print-identifier']).toBe('from-env');
  });
});
