/**
 * String functions. Lengths and positions count characters (code points), as Flink does; strings
 * without surrogate pairs take the fast UTF-16 path. Java regular expressions are run as JS
 * RegExps (the common syntax is the same); an invalid regex yields NULL, as in Flink.
 */
import { type SqlType, withNullable } from '../../model/types.js';
import { MAX_LENGTH, stringLength, varcharType } from '../type-rules.js';
import { userError } from '../../errors.js';
import { LikePatternError, likeDynamic, likeMatcher } from '../like.js';
import {
  type ScalarFunction,
  type InferContext,
  BOOLEAN,
  INT,
  STRING,
  anyNullable,
  callImpl,
  constString,
  intArg,
  js,
  register,
  alias,
  simple,
  strArg,
} from './registry.js';

const SURROGATE = /[\uD800-\uDFFF]/;

export function charLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
  }
  return n;
}

const chars = (s: string): string[] => Array.from(s);

/** Flink's substringSQL: 1-based, 0 acts as 1, negative counts from the end. */
export function substring(s: string, pos: number, len?: number): string | null {
  if (len !== undefined && len < 0) return null;
  const cs = SURROGATE.test(s) ? chars(s) : null;
  const n = cs ? cs.length : s.length;
  let start = pos > 0 ? pos - 1 : pos < 0 ? n + pos : 0;
  const end = len === undefined ? n : start + len;
  start = Math.max(start, 0);
  if (start >= end) return '';
  return cs ? cs.slice(start, end).join('') : s.slice(start, end);
}

/** Trims the characters of `set` (default a space, as Flink) from either end. */
export function trimChars(s: string, set: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.includes(s[a])) a++;
  if (right) while (b > a && set.includes(s[b - 1])) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function codeUnitToCharIndex(s: string, i: number): number {
  return SURROGATE.test(s) ? charLength(s.slice(0, i)) : i;
}

/** LOCATE(sub, s[, start]): 1-based position of sub in s at or after start, 0 when absent. */
export function locate(sub: string, s: string, start = 1): number {
  if (start < 1) return 0;
  let from = start - 1;
  if (SURROGATE.test(s)) from = chars(s).slice(0, from).join('').length;
  const i = s.indexOf(sub, from);
  return i < 0 ? 0 : codeUnitToCharIndex(s, i) + 1;
}

/** INITCAP: words are runs of letters/digits; first character upper-cased, the rest lower-cased. */
export function initcap(s: string): string {
  let out = '';
  let inWord = false;
  for (const ch of s) {
    const alnum = /[\p{L}\p{N}]/u.test(ch);
    out += alnum ? (inWord ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    inWord = alnum;
  }
  return out;
}

function pad(s: string, len: number, p: string, left: boolean): string | null {
  if (len < 0 || p === '') return null;
  const cs = chars(s);
  if (cs.length >= len) return cs.slice(0, len).join('');
  const pc = chars(p);
  let fill = '';
  for (let i = 0; i < len - cs.length; i++) fill += pc[i % pc.length];
  return left ? fill + s : s + fill;
}

export function reverse(s: string): string {
  return chars(s).reverse().join('');
}

export function repeat(s: string, n: number): string {
  return n <= 0 ? '' : s.repeat(n);
}

/** SPLIT_INDEX(s, sep, i): the i-th (0-based) piece, NULL when out of range. */
export function splitIndex(s: string, sep: string, i: number): string | null {
  if (i < 0) return null;
  const parts = sep === '' ? s.split(/\s+/).filter((x) => x !== '') : s.split(sep);
  return i < parts.length ? parts[i] : null;
}

const regexCache = new Map<string, RegExp | null>();

/** A cached global RegExp for a Java regex, or null when it does not compile. */
export function regex(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'g');
    } catch {
      re = null;
    }
    if (regexCache.size > 1024) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

export function regexpExtract(s: string, pattern: string, index = 0): string | null {
  const re = regex(pattern);
  if (!re || index < 0) return null;
  re.lastIndex = 0;
  const m = re.exec(s);
  if (!m || index >= m.length) return null;
  return m[index] ?? null;
}

/** Java replacement syntax (`$1`, `\$`) to JS (`$1`, `$$`). */
function jsReplacement(r: string): string {
  return r.replace(/\\(.)/g, (_m, ch: string) => (ch === '$' ? '$$' : ch));
}

export function regexpReplace(s: string, pattern: string, replacement: string): string | null {
  const re = regex(pattern);
  if (!re) return null;
  re.lastIndex = 0;
  return s.replace(re, jsReplacement(replacement));
}

export function regexpTest(s: string, pattern: string): boolean | null {
  const re = regex(pattern);
  if (!re) return null;
  re.lastIndex = 0;
  return re.test(s);
}

const sameString = (ctx: InferContext): SqlType => {
  const t = strArg(ctx, 0);
  return withNullable(t.kind === 'NULL' ? STRING(true) : t, t.nullable);
};

function concatType(types: readonly SqlType[], nullable: boolean): SqlType {
  const len = types.reduce((n, t) => n + (t.kind === 'NULL' ? 0 : stringLength(t)), 0);
  return varcharType(Math.min(len, MAX_LENGTH), nullable);
}

const CONCAT = (name: string): ScalarFunction => ({
  name,
  minArgs: name === '||' ? 2 : 1,
  maxArgs: Infinity,
  nulls: 'strict',
  infer(ctx) {
    const args = ctx.types.map((_, i) => strArg(ctx, i));
    return { args, result: concatType(ctx.types, anyNullable(ctx.types)) };
  },
  gen: (g) => `(${g.a.join(' + ')})`,
});

/** CONCAT_WS(sep, s...): NULL separator gives NULL; NULL strings are skipped. */
const CONCAT_WS: ScalarFunction = {
  name: 'CONCAT_WS',
  minArgs: 2,
  maxArgs: Infinity,
  nulls: 'custom',
  infer(ctx) {
    const args = ctx.types.map((_, i) => strArg(ctx, i));
    return { args, result: STRING(ctx.types[0].nullable) };
  },
  gen(g) {
    const r = g.temp();
    const sep = g.arg(0);
    const body = g.block(() => {
      const first = g.temp();
      g.emit(`${r} = ""; ${first} = true;`);
      for (let i = 1; i < g.call.args.length; i++) {
        const v = g.arg(i);
        g.emit(`if (${v} !== null) { ${r} += ${first} ? ${v} : ${sep} + ${v}; ${first} = false; }`);
      }
    });
    g.emit(`if (${sep} === null) ${r} = null;\nelse {\n${body}\n}`);
    return r;
  },
};

/** LIKE(s, pattern[, escape]); a constant pattern is compiled once. */
const LIKE: ScalarFunction = {
  name: 'LIKE',
  minArgs: 2,
  maxArgs: 3,
  nulls: 'strict',
  infer(ctx) {
    const args = ctx.types.map((_, i) => strArg(ctx, i));
    const pattern = constString(ctx, 1);
    const esc = ctx.types.length > 2 ? constString(ctx, 2) : undefined;
    if (ctx.types.length > 2 && esc === undefined && ctx.args[2].kind !== 'literal') ctx.fail('the ESCAPE of LIKE must be a string literal');
    if (pattern !== undefined) {
      try {
        likeMatcher(pattern, esc);
      } catch (e) {
        if (e instanceof LikePatternError) ctx.fail(e.message);
        throw e;
      }
    }
    return { args, result: BOOLEAN(anyNullable(ctx.types)) };
  },
  gen(g) {
    const pattern = constString(g, 1);
    const esc = g.call.args.length > 2 ? g.a[2] : 'undefined';
    if (pattern !== undefined && (g.call.args.length < 3 || constString(g, 2) !== undefined)) {
      return `${g.konst(likeMatcher(pattern, g.call.args.length > 2 ? constString(g, 2) : undefined))}(${g.a[0]})`;
    }
    const dyn = (s: string, p: string, e?: string): boolean => {
      try {
        return likeDynamic(s, p, e);
      } catch (err) {
        if (err instanceof LikePatternError) throw userError('EXPR_EVAL', `LIKE failed: ${err.message}`, { position: g.call.pos });
        throw err;
      }
    };
    return `${g.konst(dyn)}(${g.a[0]}, ${g.a[1]}, ${esc})`;
  },
};

const strRes = (nullable: boolean): SqlType => STRING(nullable);
const intRes = (nullable: boolean): SqlType => INT(nullable);
/** For functions that can return NULL for non-NULL input (no match, out of range). */
const maybeStr = (): SqlType => STRING(true);

/** UPPER/LOWER keep the argument's type (CHAR(3) stays CHAR(3)). */
const sameStringFn = (name: string, method: string): ScalarFunction => ({
  ...simple(name, [strArg], strRes, (g) => `${g.a[0]}.${method}()`),
  infer: (ctx) => ({ args: [strArg(ctx, 0)], result: sameString(ctx) }),
});

/** TRIM(s) trims spaces; the parser maps `TRIM([BOTH|LEADING|TRAILING] [chars] FROM s)` to TRIM(mode, chars, s). */
const TRIM: ScalarFunction = {
  name: 'TRIM',
  minArgs: 1,
  maxArgs: 3,
  nulls: 'strict',
  infer(ctx) {
    if (ctx.types.length === 2) ctx.fail('TRIM takes TRIM(s) or TRIM([BOTH|LEADING|TRAILING] chars FROM s)');
    if (ctx.types.length === 3) {
      const mode = constString(ctx, 0)?.toUpperCase();
      if (mode !== 'BOTH' && mode !== 'LEADING' && mode !== 'TRAILING')
        ctx.fail(`invalid TRIM mode ${mode ?? '(not a literal)'}: expected BOTH, LEADING or TRAILING`);
    }
    const args = ctx.types.map((_, i) => strArg(ctx, i));
    return { args, result: strRes(anyNullable(ctx.types)) };
  },
  gen(g) {
    if (g.a.length === 1) return `${g.konst(trimChars)}(${g.a[0]}, " ", true, true)`;
    const mode = constString(g, 0)!.toUpperCase();
    return `${g.konst(trimChars)}(${g.a[2]}, ${g.a[1]}, ${mode !== 'TRAILING'}, ${mode !== 'LEADING'})`;
  },
};

const sideTrim = (name: string, left: boolean, right: boolean): ScalarFunction =>
  simple(name, [strArg, strArg], strRes, (g) => `${g.konst(trimChars)}(${g.a[0]}, ${g.a[1] ?? js(' ')}, ${left}, ${right})`, 1);

register(
  CONCAT('||'),
  CONCAT('CONCAT'),
  CONCAT_WS,
  LIKE,
  TRIM,
  sideTrim('LTRIM', true, false),
  sideTrim('RTRIM', false, true),
  sideTrim('BTRIM', true, true),
  sameStringFn('UPPER', 'toUpperCase'),
  sameStringFn('LOWER', 'toLowerCase'),
  simple('CHAR_LENGTH', [strArg], intRes, (g) => `${g.konst(charLength)}(${g.a[0]})`),
  simple('SUBSTRING', [strArg, intArg, intArg], maybeStr, callImpl(substring), 2),
  simple('REPLACE', [strArg, strArg, strArg], strRes, (g) => `${g.a[0]}.replaceAll(${g.a[1]}, ${g.a[2]})`),
  simple('POSITION', [strArg, strArg], intRes, callImpl(locate)),
  simple('LOCATE', [strArg, strArg, intArg], intRes, callImpl(locate), 2),
  simple('INSTR', [strArg, strArg], intRes, (g) => `${g.konst(locate)}(${g.a[1]}, ${g.a[0]})`),
  simple('INITCAP', [strArg], strRes, callImpl(initcap)),
  simple('LPAD', [strArg, intArg, strArg], maybeStr, (g) => `${g.konst(pad)}(${g.a.join(', ')}, true)`),
  simple('RPAD', [strArg, intArg, strArg], maybeStr, (g) => `${g.konst(pad)}(${g.a.join(', ')}, false)`),
  simple('REVERSE', [strArg], strRes, callImpl(reverse)),
  simple('REPEAT', [strArg, intArg], strRes, callImpl(repeat)),
  simple('SPLIT_INDEX', [strArg, strArg, intArg], maybeStr, callImpl(splitIndex)),
  simple('REGEXP_EXTRACT', [strArg, strArg, intArg], maybeStr, callImpl(regexpExtract), 2),
  simple('REGEXP_REPLACE', [strArg, strArg, strArg], maybeStr, callImpl(regexpReplace)),
  simple('REGEXP', [strArg, strArg], () => BOOLEAN(true), callImpl(regexpTest)),
  simple('ASCII', [strArg], intRes, (g) => `(${g.a[0]}.length === 0 ? 0 : ${g.a[0]}.codePointAt(0))`),
  simple('CHR', [intArg], maybeStr, (g) => `(${g.a[0]} < 0 ? null : String.fromCodePoint(${g.a[0]} % 256))`),
);
alias('CHARACTER_LENGTH', 'CHAR_LENGTH');
alias('SUBSTR', 'SUBSTRING');
