import { describe, expect, it } from 'vitest';
import { T, bin, bind, call, col, evaluate, int, like, nul, str } from './helpers.js';
import { formatType } from '../../src/model/types.js';

const S = { s: T('STRING'), t: T('STRING'), n: T('INT') };
const f = (name: string, ...args: Parameters<typeof str>[0][]): unknown =>
  evaluate(
    call(
      name,
      args.map((a) => str(a)),
    ),
  );
const fs = (name: string, s: string | null, ...rest: (number | string)[]): unknown =>
  evaluate(call(name, [col('s'), ...rest.map((r) => (typeof r === 'number' ? int(r) : str(r)))]), { s: T('STRING') }, [s]);

describe('string functions', () => {
  it('concatenation', () => {
    expect(evaluate(bin('||', col('s'), col('t')), S, ['ab', 'cd'])).toBe('abcd');
    expect(evaluate(call('CONCAT', [col('s'), str('-'), col('t')]), S, ['a', 'b'])).toBe('a-b');
    expect(evaluate(call('CONCAT', [col('s'), col('t')]), S, ['a', null])).toBe(null);
    expect(evaluate(call('CONCAT_WS', [str(','), col('s'), col('t'), str('z')]), S, ['a', null])).toBe('a,z');
    expect(evaluate(call('CONCAT_WS', [col('s'), str('a'), str('b')]), S, [null])).toBe(null);
    expect(formatType(bind(bin('||', str('ab'), str('c'))).type)).toBe('VARCHAR(3) NOT NULL');
  });
  it('case, trim, length', () => {
    expect(fs('UPPER', 'abc')).toBe('ABC');
    expect(fs('LOWER', 'ÀBC')).toBe('àbc');
    expect(fs('TRIM', '  a b  ')).toBe('a b');
    expect(fs('LTRIM', '  a  ')).toBe('a  ');
    expect(fs('RTRIM', '  a  ')).toBe('  a');
    expect(fs('LTRIM', 'xxaxx', 'x')).toBe('axx');
    expect(evaluate(call('TRIM', [str('TRAILING'), str('x'), col('s')]), { s: T('STRING') }, ['xxaxx'])).toBe('xxa');
    expect(evaluate(call('TRIM', [str('BOTH'), str('x'), col('s')]), { s: T('STRING') }, ['xxaxx'])).toBe('a');
    expect(fs('CHAR_LENGTH', 'héllo')).toBe(5);
    expect(fs('CHARACTER_LENGTH', 'a😀b')).toBe(3);
    expect(fs('CHAR_LENGTH', null)).toBe(null);
  });
  it('SUBSTRING follows Flink positions', () => {
    expect(fs('SUBSTRING', 'hello', 2)).toBe('ello');
    expect(fs('SUBSTRING', 'hello', 2, 3)).toBe('ell');
    expect(fs('SUBSTR', 'hello', 0, 2)).toBe('he');
    expect(fs('SUBSTRING', 'hello', -3)).toBe('llo');
    expect(fs('SUBSTRING', 'hello', 10)).toBe('');
    expect(fs('SUBSTRING', 'a😀bc', 2, 2)).toBe('😀b');
  });
  it('REPLACE, POSITION, LOCATE, INITCAP, LPAD, RPAD, REVERSE, REPEAT', () => {
    expect(fs('REPLACE', 'a-b-c', '-', '+')).toBe('a+b+c');
    expect(f('POSITION', 'lo', 'hello')).toBe(4);
    expect(f('POSITION', 'x', 'hello')).toBe(0);
    expect(evaluate(call('LOCATE', [str('l'), str('hello'), int(4)]))).toBe(4);
    expect(fs('INITCAP', 'hello wORLD-foo bar1x')).toBe('Hello World-Foo Bar1x');
    expect(fs('LPAD', 'hi', 5, 'xy')).toBe('xyxhi');
    expect(fs('RPAD', 'hi', 5, 'xy')).toBe('hixyx');
    expect(fs('LPAD', 'hello', 2, 'x')).toBe('he');
    expect(fs('LPAD', 'hi', -1, 'x')).toBe(null);
    expect(fs('REVERSE', 'abc')).toBe('cba');
    expect(fs('REPEAT', 'ab', 3)).toBe('ababab');
  });
  it('SPLIT_INDEX and regular expressions', () => {
    expect(fs('SPLIT_INDEX', 'a,b,,c', ',', 1)).toBe('b');
    expect(fs('SPLIT_INDEX', 'a,b,,c', ',', 2)).toBe('');
    expect(fs('SPLIT_INDEX', 'a,b', ',', 5)).toBe(null);
    expect(fs('REGEXP_EXTRACT', 'foo123bar', '([a-z]+)(\\d+)', 2)).toBe('123');
    expect(fs('REGEXP_EXTRACT', 'foo123bar', '\\d+')).toBe('123');
    expect(fs('REGEXP_EXTRACT', 'foo', '\\d+')).toBe(null);
    expect(fs('REGEXP_REPLACE', 'a1b22c', '\\d+', '#')).toBe('a#b#c');
    expect(fs('REGEXP_REPLACE', 'john smith', '(\\w+) (\\w+)', '$2, $1')).toBe('smith, john');
    expect(fs('REGEXP_REPLACE', 'abc', '(', 'x')).toBe(null); // invalid regex -> NULL
    expect(fs('REGEXP', 'abc123', '\\d')).toBe(true);
  });
  it('functions that can return NULL from non-NULL input are typed nullable', () => {
    const b = bind(call('UPPER', [call('REGEXP_EXTRACT', [col('s'), str('x')])]), { s: T('STRING', false) });
    expect(b.type.nullable).toBe(true);
    expect(evaluate(call('UPPER', [call('REGEXP_EXTRACT', [col('s'), str('x')])]), { s: T('STRING', false) }, ['abc'])).toBe(null);
  });
});

describe('LIKE', () => {
  const L = (s: string | null, p: string, esc?: string): unknown =>
    evaluate(like(col('s'), str(p), esc === undefined ? undefined : str(esc)), { s: T('STRING') }, [s]);
  it('% and _', () => {
    expect(L('hello', 'h%')).toBe(true);
    expect(L('hello', '%llo')).toBe(true);
    expect(L('hello', '%ell%')).toBe(true);
    expect(L('hello', 'h_llo')).toBe(true);
    expect(L('hello', 'h_lo')).toBe(false);
    expect(L('hello', 'hello')).toBe(true);
    expect(L('hello', 'Hello')).toBe(false);
    expect(L('a.c', 'a.c')).toBe(true);
    expect(L('abc', 'a.c')).toBe(false);
    expect(L('a\nb', 'a_b')).toBe(true);
    expect(L('', '%')).toBe(true);
    expect(L('x(y)', 'x(%)')).toBe(true);
    expect(L(null, '%')).toBe(null);
  });
  it('ESCAPE', () => {
    expect(L('100%', '100!%', '!')).toBe(true);
    expect(L('1000', '100!%', '!')).toBe(false);
    expect(L('a_b', 'a\\_b', '\\')).toBe(true);
    expect(L('axb', 'a\\_b', '\\')).toBe(false);
    expect(L('a!b', 'a!!b', '!')).toBe(true);
    expect(L('50% off', '%!%%', '!')).toBe(true);
  });
  it('NOT LIKE and non-constant patterns', () => {
    expect(evaluate(like(col('s'), str('a%'), undefined, true), { s: T('STRING') }, ['abc'])).toBe(false);
    expect(evaluate(like(col('s'), col('t')), S, ['abc', 'a_c'])).toBe(true);
    expect(evaluate(like(col('s'), col('t')), S, ['abc', null])).toBe(null);
    expect(evaluate(like(nul(), str('a')))).toBe(null);
  });
  it('an invalid escape sequence in a constant pattern is a bind error', () => {
    expect(() => bind(like(col('s'), str('a!b'), str('!')), { s: T('STRING') })).toThrow(/invalid escape sequence in LIKE pattern/);
    expect(() => evaluate(like(col('s'), col('t'), str('!')), S, ['a', 'a!b'])).toThrow(/LIKE failed: invalid escape/);
  });
});
