/**
 * `source.tables` patterns follow Flink CDC's selectors (split at every unescaped ',' and '.',
 * `\.` is a regex "any character", parts ignore case), plus weir's `schema.*`.
 */
import { describe, expect, it } from 'vitest';
import { selectsTable, tablePatterns } from '../../../src/cli/cdc/table-patterns.js';
import { isWeirError } from '../../../src/errors.js';

const TABLES: readonly (readonly [string, string])[] = [
  ['public', 'orders'],
  ['public', 'customer_1'],
  ['public', 'customer_22'],
  ['public', 'a.b'],
  ['sales', 'orders'],
  ['sales_2', 'orders'],
  ['Mixed', 'Orders'],
];

/** The `schema.table` names `spec` selects out of TABLES. */
function selected(spec: string, database?: string): string[] {
  const patterns = tablePatterns(spec, { database });
  return TABLES.filter(([s, t]) => selectsTable(patterns, s, t)).map(([s, t]) => `${s}.${t}`);
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isWeirError(e) && e.domain, String(e)).toBe('user');
    return (e as Error).message;
  }
  throw new Error('no error');
}

const ALL_PUBLIC = ['public.orders', 'public.customer_1', 'public.customer_22', 'public.a.b'];

describe('table patterns (source.tables)', () => {
  it("'public.*' is every table of schema public (weir: a lone * is any name)", () => {
    expect(selected('public.*')).toEqual(ALL_PUBLIC);
  });

  it("Flink CDC's escaped dot: 'public.\\.*' is every table of public; '\\.' inside a name is any character", () => {
    expect(selected('public.\\.*')).toEqual(ALL_PUBLIC);
    expect(selected('public.customer_\\.+')).toEqual(['public.customer_1', 'public.customer_22']);
    expect(selected('public.a\\.b')).toEqual(['public.a.b']);
    expect(selected('sales\\.*.orders')).toEqual(['sales.orders', 'sales_2.orders']);
  });

  it('regular expressions per part, matched whole and ignoring case (Flink CDC compiles them CASE_INSENSITIVE)', () => {
    expect(selected('public.customer_\\d')).toEqual(['public.customer_1']);
    expect(selected('public.customer_\\d+')).toEqual(['public.customer_1', 'public.customer_22']);
    expect(selected('public.order')).toEqual([]);
    expect(selected('mixed.orders')).toEqual(['Mixed.Orders']);
    expect(selected('PUBLIC.ORDERS')).toEqual(['public.orders']);
  });

  it('comma-separated patterns (trimmed), a union; an escaped comma is part of the regex', () => {
    expect(selected(' public.orders , sales.orders ')).toEqual(['public.orders', 'sales.orders']);
    expect(selected('public.customer_\\d{1\\,2}')).toEqual(['public.customer_1', 'public.customer_22']);
  });

  it('empty parts are dropped as in Flink CDC: public..* is public.*', () => {
    expect(selected('public..*')).toEqual(ALL_PUBLIC);
  });

  it('one part is a table of schema public (weir; Flink CDC would match only schema-less tables)', () => {
    expect(selected('orders')).toEqual(['public.orders']);
  });

  it("three parts are database.schema.table (Flink CDC's Postgres pipeline form); the database must be the pipeline's", () => {
    expect(selected('shop.public.orders', 'shop')).toEqual(['public.orders']);
    expect(selected('sh\\.p.sales.\\.*', 'shop')).toEqual(['sales.orders']);
    expect(errorOf(() => tablePatterns('public.customer_.1', { database: 'shop' }))).toBe(
      "'source.tables': 'public.customer_.1' reads as database 'public', schema 'customer_', table '1', but the pipeline reads database 'shop' (every unescaped '.' separates schema from table (or database.schema.table); write '\\.' for a dot that matches any character)",
    );
  });

  it('errors name the option, the pattern and what is wrong', () => {
    expect(errorOf(() => tablePatterns('public.+x'))).toBe(
      "'source.tables': 'public.+x': '+x' is not a valid regular expression (every unescaped '.' separates schema from table (or database.schema.table); write '\\.' for a dot that matches any character)",
    );
    expect(errorOf(() => tablePatterns('a.b.c.d'))).toBe(
      "'source.tables': 'a.b.c.d' has 4 dot-separated parts; expected schema.table or database.schema.table (every unescaped '.' separates schema from table (or database.schema.table); write '\\.' for a dot that matches any character)",
    );
    expect(errorOf(() => tablePatterns('public.x\\'))).toBe("'source.tables': 'public.x\\' ends with an unfinished escape '\\'");
    expect(errorOf(() => tablePatterns(' , '))).toBe("'source.tables': no table pattern in ' , '");
    expect(errorOf(() => tablePatterns('(', { what: 'route[0].source-table' }))).toBe("'route[0].source-table': '(': '(' is not a valid regular expression");
  });
});
