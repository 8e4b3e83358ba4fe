import { describe, expect, it } from 'vitest';
import { expr, errorLine, userErrorOf } from './helpers.js';
import { showExpr } from './show.js';

const show = (text: string): string => showExpr(expr(text));

describe('expression conversion', () => {
  it('columns keep their case and qualifier; backticks are removed', () => {
    expect(expr('a')).toEqual({ kind: 'column', name: 'a', pos: { line: 1, column: 8 } });
    expect(expr('t.Amount')).toEqual({ kind: 'column', table: 't', name: 'Amount', pos: { line: 1, column: 8 } });
    expect(show('`My Col`')).toBe('My Col');
    expect(show('`t`.`user`')).toBe('t.user');
  });

  it('numeric literals keep their text and kind', () => {
    expect(expr('1')).toEqual({ kind: 'literal', literalType: 'integer', text: '1', pos: { line: 1, column: 8 } });
    expect(show('1.50')).toBe('decimal:1.50');
    expect(show('1.0')).toBe('decimal:1.0');
    expect(show('1e3')).toBe('double:1e3');
    expect(show('1.5E-2')).toBe('double:1.5E-2');
    expect(show('12345678901234567890')).toBe('integer:12345678901234567890');
    expect(show('-5')).toBe('integer:-5');
    expect(show('-1.25')).toBe('decimal:-1.25');
  });

  it('string, boolean and null literals', () => {
    expect(expr("'it''s'")).toEqual({ kind: 'literal', literalType: 'string', text: "it's", pos: { line: 1, column: 8 } });
    expect(show("''")).toBe('string:');
    expect(show("'C:\\dir\\'")).toBe('string:C:\\dir\\');
    expect(show('TRUE')).toBe('boolean:TRUE');
    expect(show('false')).toBe('boolean:FALSE');
    expect(show('NULL')).toBe('null:NULL');
  });

  it('typed date/time literals', () => {
    expect(expr("DATE '2024-01-31'")).toEqual({ kind: 'literal', literalType: 'date', text: '2024-01-31', pos: { line: 1, column: 8 } });
    expect(show("TIME '10:11:12'")).toBe('time:10:11:12');
    expect(show("TIMESTAMP '2024-01-01 00:00:00.123'")).toBe('timestamp:2024-01-01 00:00:00.123');
  });

  it('intervals, with plural units', () => {
    expect(expr("INTERVAL '5' SECOND")).toEqual({ kind: 'interval', value: '5', unit: 'SECOND', pos: { line: 1, column: 8 } });
    expect(show("INTERVAL '10' MINUTES")).toBe('interval:10:MINUTE');
    expect(show("INTERVAL '1' DAY")).toBe('interval:1:DAY');
    expect(show("ts - INTERVAL '2' HOUR")).toBe('(- ts interval:2:HOUR)');
  });

  it('unary and binary operators', () => {
    expect(show('-x')).toBe('(- x)');
    expect(show('+x')).toBe('(+ x)');
    expect(show('- 5')).toBe('(- integer:5)');
    expect(show('NOT a')).toBe('(NOT a)');
    expect(show('NOT (a AND b)')).toBe('(NOT (AND a b))');
    expect(show('a + b * c - d / e % f')).toBe('(- (+ a (* b c)) (% (/ d e) f))');
    expect(show('a = 1 OR b <> 2 AND c != 3')).toBe('(OR (= a integer:1) (AND (<> b integer:2) (<> c integer:3)))');
    // AND and OR chains are rebuilt left-associative, AND binding tighter than OR (node-sql-parser
    // gets both wrong).
    expect(show('a < 1 AND b <= 2 AND c > 3 AND d >= 4')).toBe('(AND (AND (AND (< a integer:1) (<= b integer:2)) (> c integer:3)) (>= d integer:4))');
    expect(show("a || 'x' || b")).toBe('(|| (|| a string:x) b)');
  });

  it('IS [NOT] NULL / TRUE / FALSE', () => {
    expect(show('a IS NULL')).toBe('(is-null a)');
    expect(show('a IS NOT NULL')).toBe('(is-not-null a)');
    expect(expr('a IS TRUE')).toEqual({
      kind: 'is-bool',
      negated: false,
      value: true,
      operand: { kind: 'column', name: 'a', pos: { line: 1, column: 8 } },
      pos: { line: 1, column: 8 },
    });
    expect(show('a IS NOT FALSE')).toBe('(is-not-false a)');
  });

  it('IN, BETWEEN, LIKE', () => {
    expect(show("a IN (1, 2, 'x')")).toBe('(in a [integer:1 integer:2 string:x])');
    expect(show('a NOT IN (1)')).toBe('(not-in a [integer:1])');
    expect(show('a BETWEEN 1 AND b + 1')).toBe('(between a integer:1 (+ b integer:1))');
    expect(show('a NOT BETWEEN 1 AND 2')).toBe('(not-between a integer:1 integer:2)');
    expect(show("a LIKE 'x%'")).toBe('(like a string:x%)');
    expect(show("a NOT LIKE 'x!%' ESCAPE '!'")).toBe('(not-like a string:x!% escape string:!)');
  });

  it('CASE, searched and simple', () => {
    expect(show("CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END")).toBe(
      '(case [(> a integer:1) string:x] [(> a integer:0) string:y] else string:z)',
    );
    expect(show('CASE a WHEN 1 THEN 2 END')).toBe('(case a [integer:1 integer:2])');
  });

  it('CAST and TRY_CAST with Flink target types', () => {
    expect(show('CAST(a AS DECIMAL(10, 2))')).toBe('(cast a DECIMAL(10, 2))');
    expect(show('TRY_CAST(a AS INT)')).toBe('(try-cast a INT)');
    expect(show('CAST(a AS STRING)')).toBe('(cast a STRING)');
    expect(show('CAST(a AS TIMESTAMP(3))')).toBe('(cast a TIMESTAMP(3))');
    expect(show('CAST(a AS TIMESTAMP_LTZ(3))')).toBe('(cast a TIMESTAMP_LTZ(3))');
    expect(show('CAST(a AS TIMESTAMP(3) WITH LOCAL TIME ZONE)')).toBe('(cast a TIMESTAMP_LTZ(3))');
    expect(show('CAST(a AS BIGINT NOT NULL)')).toBe('(cast a BIGINT NOT NULL)');
    expect(show('CAST(CAST(a AS INT) AS VARCHAR(5)) || CAST(b AS BYTES)')).toBe('(|| (cast (cast a INT) VARCHAR(5)) (cast b BYTES))');
  });

  it('function calls: upper-cased names, COUNT(*), DISTINCT, FILTER', () => {
    expect(expr('count(*)')).toEqual({ kind: 'call', name: 'COUNT', args: [], distinct: false, star: true, pos: { line: 1, column: 8 } });
    expect(show('COUNT(DISTINCT user_id)')).toBe('(COUNT distinct user_id)');
    expect(show('sum(x)')).toBe('(SUM x)');
    expect(show('coalesce(a, 0)')).toBe('(COALESCE a integer:0)');
    expect(show('NULLIF(a, b)')).toBe('(NULLIF a b)');
    expect(show('my_udf(a, 1)')).toBe('(MY_UDF a integer:1)');
    expect(show('PROCTIME()')).toBe('(PROCTIME)');
    expect(show('CURRENT_TIMESTAMP')).toBe('(CURRENT_TIMESTAMP)');
    expect(show('IF(a > 1, b, c)')).toBe('(IF (> a integer:1) b c)');
    expect(show('SUM(x) FILTER (WHERE x > 1)')).toBe('(SUM x filter (> x integer:1))');
    expect(show('COUNT(*) FILTER (WHERE CAST(y AS INT) = 2) + 1')).toBe('(+ (COUNT * filter (= (cast y INT) integer:2)) integer:1)');
  });

  it('normalizes the special call syntaxes', () => {
    expect(show('SUBSTRING(s FROM 2 FOR 3)')).toBe('(SUBSTRING s integer:2 integer:3)');
    expect(show('SUBSTRING(s, 2)')).toBe('(SUBSTRING s integer:2)');
    expect(show("POSITION('a' IN s)")).toBe('(POSITION string:a s)');
    expect(show('TRIM(s)')).toBe('(TRIM s)');
    expect(show("TRIM(LEADING 'x' FROM s)")).toBe('(TRIM string:LEADING string:x s)');
    expect(show('TRIM(BOTH FROM s)')).toBe('(TRIM string:BOTH string:  s)');
    expect(show('EXTRACT(YEAR FROM ts)')).toBe('(EXTRACT string:YEAR ts)');
    expect(show('TIMESTAMPADD(HOUR, 1, ts)')).toBe('(TIMESTAMPADD string:HOUR integer:1 ts)');
    expect(show('TIMESTAMPDIFF(DAY, a, b)')).toBe('(TIMESTAMPDIFF string:DAY a b)');
    expect(show('FLOOR(ts TO HOUR)')).toBe('(FLOOR ts string:HOUR)');
    expect(show('CEIL(x)')).toBe('(CEIL x)');
  });

  it('fills positions of nested nodes with file line and column', () => {
    const e = expr('CASE WHEN a > 1\n  THEN CAST(b AS INT)\n  ELSE -c END');
    expect(showExpr(e, true)).toBe('(case@1:8 [(>@1:18 a@1:18 integer:1@1:22) (cast@2:8 b@2:13 INT)] else (-@3:8 c@3:9))');
  });

  it('returns deeply frozen nodes', () => {
    const e = expr('f(a, 1) + 2');
    expect(Object.isFrozen(e)).toBe(true);
    if (e.kind !== 'binary' || e.left.kind !== 'call') throw new Error('shape');
    expect(Object.isFrozen(e.left.args)).toBe(true);
    expect(Object.isFrozen(e.left.args[0])).toBe(true);
    expect(Object.isFrozen(e.pos)).toBe(true);
  });

  it('rejects constructs without an IR counterpart as SQL_UNSUPPORTED with a position', () => {
    const sub = userErrorOf(() => expr('a IN (SELECT b FROM u)'));
    expect(sub.code).toBe('SQL_UNSUPPORTED');
    expect(sub.toUserLine()).toBe('1:8: IN (subquery) is not supported');
    expect(errorLine(() => expr('a IS DISTINCT FROM b'))).toBe('1:8: operator IS DISTINCT FROM is not supported');
    expect(errorLine(() => expr("a SIMILAR TO 'x'"))).toBe('1:8: operator SIMILAR TO is not supported');
    expect(errorLine(() => expr('(a, b)'))).toMatch(/^1:\d+: a row value \(a, b, \.\.\.\) is not supported$/);
    expect(errorLine(() => expr('SUM(x) OVER (PARTITION BY y)'))).toBe('1:15: OVER (window aggregation) is not supported yet');
    expect(errorLine(() => expr('a::INT'))).toMatch(/^1:\d+: '::' casts is not supported: use CAST\(x AS type\)$/);
    expect(errorLine(() => expr('"abc"'))).toBe(
      '1:8: double-quoted text "abc" is not supported: use \'single quotes\' for strings and `backticks` for identifiers',
    );
    expect(errorLine(() => expr("INTERVAL '1' WEEK"))).toMatch(/^1:8: interval unit WEEK is not supported: use one of YEAR, MONTH, DAY/);
    expect(errorLine(() => expr('CAST(a AS ARRAY<INT>)'))).toBe('1:18: data type ARRAY is not supported yet');
  });

  it('rejects a FILTER that does not follow a call', () => {
    expect(errorLine(() => expr('(a) FILTER (WHERE a > 1)'))).toBe('1:12: FILTER (WHERE ...) must directly follow an aggregate call');
  });
});
