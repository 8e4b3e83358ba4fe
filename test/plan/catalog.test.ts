import { describe, expect, it } from 'vitest';
import { userError } from '../../src/errors.js';
import { registerConnector } from '../../src/connector/registry.js';
import { formatType, type } from '../../src/model/types.js';
import { Catalog } from '../../src/plan/catalog.js';
import { parseStatement } from '../../src/sql/parse.js';
import type { CreateTableStatement, CreateViewStatement, DropStatement } from '../../src/sql/ir.js';
import { errorOf, load, plan, registerTestConnectors } from './helpers.js';

function ddl(catalog: Catalog, sql: string): void {
  catalog.apply(parseStatement(sql) as CreateTableStatement | CreateViewStatement | DropStatement);
}

describe('Catalog', () => {
  registerTestConnectors();

  it('stores tables with typed columns; primary key columns become NOT NULL', () => {
    const c = new Catalog();
    ddl(c, `CREATE TABLE t (id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'test-both', 'changelog' = 'x')`);
    const t = c.getTable('t')!;
    expect(t.schema.fields.map((f) => `${f.name} ${formatType(f.type)}`)).toEqual(['id BIGINT NOT NULL', 'name STRING']);
    expect(t.primaryKey).toEqual(['id']);
    expect(t.options).toEqual({ connector: 'test-both', changelog: 'x' });
    expect(c.listTables().map((x) => x.name)).toEqual(['t']);
  });

  it('types computed columns by binding them against the physical columns', () => {
    const c = new Catalog();
    ddl(c, `CREATE TABLE t (a INT, b INT, s AS a + b, u AS UPPER(CAST(a AS STRING))) WITH ('connector' = 'test-source')`);
    const t = c.getTable('t')!;
    expect(t.columns.map((x) => x.kind)).toEqual(['physical', 'physical', 'computed', 'computed']);
    expect(formatType(t.schema.fields[2].type)).toBe('INT');
    expect(t.schema.fields[3].type.kind).toMatch(/STRING|VARCHAR/);
  });

  it('rejects duplicate columns, bad primary keys and bad watermarks with positions', () => {
    // Built by hand: the parser already rejects some of these, the catalog must too.
    const c = new Catalog();
    const at = (line: number, column: number) => ({ line, column });
    const table = (over: Partial<CreateTableStatement>): CreateTableStatement => ({
      kind: 'create-table',
      name: ['t'],
      ifNotExists: false,
      temporary: false,
      columns: [
        { kind: 'physical', name: 'a', type: type('INT'), pos: at(1, 17) },
        { kind: 'physical', name: 'ts', type: type('TIMESTAMP', true, 3), pos: at(1, 24) },
        { kind: 'computed', name: 'c', expr: { kind: 'column', name: 'a', pos: at(1, 40) }, pos: at(1, 35) },
      ],
      options: [{ key: 'connector', value: 'test-source', pos: at(2, 8) }],
      pos: at(1, 1),
      ...over,
    });
    const dup = errorOf(() => c.apply(table({ columns: [...table({}).columns, { kind: 'physical', name: 'a', type: type('STRING'), pos: at(2, 3) }] })));
    expect(dup.message).toBe("column 'a' is declared twice in table 't'");
    expect(dup.position).toEqual(at(2, 3));

    const pk = errorOf(() => c.apply(table({ primaryKey: ['b'] })));
    expect(pk.code).toBe('UNKNOWN_PRIMARY_KEY_COLUMN');
    expect(pk.message).toBe("PRIMARY KEY column 'b' is not a column of table 't'; columns: a, ts, c");
    const pkComputed = errorOf(() => c.apply(table({ primaryKey: ['c'] })));
    expect(pkComputed.message).toBe("PRIMARY KEY column 'c' of table 't' must be a physical or metadata column, not a computed column");
    expect(pkComputed.position).toEqual(at(1, 35));

    const col = (name: string) => ({ kind: 'column' as const, name, pos: at(3, 30) });
    const wm = errorOf(() => c.apply(table({ watermark: { column: 'nope', expr: col('ts'), pos: at(3, 5) } })));
    expect(wm.code).toBe('UNKNOWN_WATERMARK_COLUMN');
    expect(wm.position).toEqual(at(3, 5));
    const wmType = errorOf(() => c.apply(table({ watermark: { column: 'a', expr: col('a'), pos: at(3, 5) } })));
    expect(wmType.message).toBe("WATERMARK FOR 'a' needs a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column, but it is INT");
    const wmExpr = errorOf(() => c.apply(table({ watermark: { column: 'ts', expr: col('a'), pos: at(3, 5) } })));
    expect(wmExpr.message).toBe('the WATERMARK expression must return a TIMESTAMP, but it returns INT');
    expect(wmExpr.position).toEqual(at(3, 30));
    const dupOption = errorOf(() => c.apply(table({ options: [...table({}).options, { key: 'connector', value: 'x', pos: at(2, 30) }] })));
    expect(dupOption.message).toBe("option 'connector' is given twice for table 't'");

    ddl(c, `CREATE TABLE ok (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'test-source')`);
    expect(c.getTable('ok')!.watermark?.column).toBe('ts');
  });

  it('needs a known connector at CREATE, but validates connector options only when a query uses the table', () => {
    const c = new Catalog();
    const missing = errorOf(() => ddl(c, `CREATE TABLE t (a INT) WITH ('format' = 'csv')`));
    expect(missing.code).toBe('MISSING_CONNECTOR');
    const unknown = errorOf(() => ddl(c, `CREATE TABLE t (a INT) WITH ('connector' = 'nope')`));
    expect(unknown.code).toBe('UNKNOWN_CONNECTOR');

    registerConnector({
      name: 'test-strict',
      optionKeys: ['path'],
      createSource: (t) => {
        throw userError('MISSING_OPTION', `table '${t.name}': option 'path' is required`);
      },
    });
    const { catalog, inserts } = load(`
      CREATE TABLE s (a INT) WITH ('connector' = 'test-strict');
      CREATE TABLE o (a INT) WITH ('connector' = 'test-sink');
      INSERT INTO o SELECT a FROM s;`);
    expect(catalog.getTable('s')).toBeDefined();
    expect(inserts).toHaveLength(1);
    expect(() =>
      plan(`CREATE TABLE s (a INT) WITH ('connector' = 'test-strict');
            CREATE TABLE o (a INT) WITH ('connector' = 'test-sink');
            INSERT INTO o SELECT a FROM s;`),
    ).toThrow("option 'path' is required");
  });

  it('handles duplicate names, IF NOT EXISTS and DROP', () => {
    const c = new Catalog();
    ddl(c, `CREATE TABLE t (a INT) WITH ('connector' = 'test-source')`);
    expect(errorOf(() => ddl(c, `CREATE TABLE t (b INT) WITH ('connector' = 'test-source')`)).message).toBe("table 't' already exists");
    ddl(c, `CREATE TABLE IF NOT EXISTS t (b INT) WITH ('connector' = 'test-source')`);
    expect(c.getTable('t')!.schema.fields[0].name).toBe('a');
    ddl(c, `CREATE VIEW v AS SELECT a FROM t`);
    expect(errorOf(() => ddl(c, `DROP TABLE v`)).message).toBe("'v' is a view; use DROP VIEW v");
    ddl(c, `DROP VIEW v`);
    ddl(c, `DROP TABLE t`);
    expect(c.getTable('t')).toBeUndefined();
    expect(errorOf(() => ddl(c, `DROP TABLE t`)).code).toBe('UNKNOWN_TABLE');
    ddl(c, `DROP TABLE IF EXISTS t`);
  });

  it('resolves qualified names by their last part and lists known tables when not found', () => {
    const c = new Catalog();
    ddl(c, `CREATE TABLE Orders (a INT) WITH ('connector' = 'test-source')`);
    ddl(c, `CREATE TABLE users (a INT) WITH ('connector' = 'test-source')`);
    expect(c.resolve(['default_catalog', 'default_database', 'Orders'], undefined).name).toBe('Orders');
    const e = errorOf(() => c.resolve(['orders'], { line: 3, column: 7 }));
    expect(e.code).toBe('UNKNOWN_TABLE');
    expect(e.message).toBe("table 'orders' not found; known tables: Orders, users (names are case-sensitive: did you mean 'Orders'?)");
    expect(e.position).toEqual({ line: 3, column: 7 });
  });

  it('validates a view query at CREATE VIEW and checks its column names', () => {
    const c = new Catalog();
    ddl(c, `CREATE TABLE t (a INT, b STRING) WITH ('connector' = 'test-source')`);
    const bad = errorOf(() => ddl(c, `CREATE VIEW v AS SELECT nope FROM t`));
    expect(bad.code).toBe('UNKNOWN_COLUMN');
    const count = errorOf(() => ddl(c, `CREATE VIEW v (x) AS SELECT a, b FROM t`));
    expect(count.code).toBe('VIEW_COLUMN_COUNT');
    ddl(c, `CREATE VIEW v (x, y) AS SELECT a, b FROM t`);
    expect(c.getView('v')!.columnNames).toEqual(['x', 'y']);
    expect(c.listViews().map((v) => v.name)).toEqual(['v']);
  });
});
