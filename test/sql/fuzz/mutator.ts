/**
 * A small seeded SQL mutator for the fuzz test: a corpus of real statements (sql/ and the SQL in
 * the tests), token-level mutations, and the construction of `weir sql` input that can only plan
 * (every query becomes an EXPLAIN), so no mutated statement starts a job that could run forever.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { splitStatements } from '../../../src/sql/split.js';
import { SourceText, tokenize, type Token } from '../../../src/sql/tokenizer.js';

/** mulberry32: a tiny deterministic PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

function walk(dir: string, ext: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, ext, out);
    else if (p.endsWith(ext)) out.push(p);
  }
}

const SQL_START = /^\s*(SELECT|INSERT|CREATE|EXPLAIN|SET|RESET|WITH|DROP|SHOW|DESCRIBE|EXECUTE)\b/i;

/** Splits `text` into statements, or none when it does not even split (unterminated quotes). */
function statementsOf(text: string): string[] {
  try {
    return splitStatements(text)
      .map((c) => c.text.trim())
      .filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** The SQL of one source file: its CREATE statements and the rest, in file order. */
export interface Scene {
  readonly file: string;
  readonly ddl: readonly string[];
  readonly statements: readonly string[];
}

/**
 * Statements of sql/**\/*.sql and SQL string literals of test/**\/*.ts (`${...}` replaced by a
 * number), grouped by file so that mutated queries meet the tables their file defines.
 */
export function collectCorpus(root: string, exclude: readonly string[] = []): Scene[] {
  const scenes: Scene[] = [];
  const addScene = (file: string, statements: string[]): void => {
    const unique = [...new Set(statements.filter((s) => s.length <= 4000).map(withRealConnectors))];
    const ddl = unique.filter((s) => /^\s*CREATE\b/i.test(s));
    const rest = unique.filter((s) => !/^\s*CREATE\b/i.test(s));
    if (unique.length > 0) scenes.push({ file, ddl, statements: rest.length > 0 ? rest : ddl });
  };
  const sqlFiles: string[] = [];
  walk(join(root, 'sql'), '.sql', sqlFiles);
  // Nexmark queries run over the tables of sql/nexmark/ddl.sql.
  const nexmarkDdl = statementsOf(readFileSync(join(root, 'sql/nexmark/ddl.sql'), 'utf8').replace(/\$\{[^}]*\}/g, '1000'));
  for (const f of sqlFiles.sort()) {
    const own = statementsOf(readFileSync(f, 'utf8').replace(/\$\{[^}]*\}/g, '1000'));
    addScene(relative(root, f), f.includes('/nexmark/') && !f.endsWith('ddl.sql') ? [...nexmarkDdl, ...own] : own);
  }
  const testFiles: string[] = [];
  walk(join(root, 'test'), '.ts', testFiles);
  for (const f of testFiles.sort()) {
    if (exclude.some((x) => relative(root, f).startsWith(x))) continue;
    const src = readFileSync(f, 'utf8');
    const found: string[] = [];
    for (const m of src.matchAll(/`((?:[^`\\]|\\.)*)`|'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"/g)) {
      const raw = m[1] ?? m[2] ?? m[3] ?? '';
      if (!SQL_START.test(raw)) continue;
      const text = raw
        .replace(/\$\{[^}]*\}/g, '1')
        .replace(/\\n/g, '\n')
        .replace(/\\(['"`\\])/g, '$1');
      for (const s of statementsOf(text)) if (SQL_START.test(s)) found.push(s);
    }
    addScene(relative(root, f), found);
  }
  return scenes;
}

/**
 * The planner tests' in-memory connectors exist only in their test process: `weir sql` gets
 * real ones of the same kind (a source that plans like any other, sinks that take anything).
 */
function withRealConnectors(statement: string): string {
  return statement
    .replace(/'connector'\s*=\s*'test-(source|both)'/g, "'connector' = 'datagen'")
    .replace(/'connector'\s*=\s*'test-(sink|append)'/g, "'connector' = 'blackhole'")
    .replace(/'connector'\s*=\s*'test-print'/g, "'connector' = 'print'")
    .replace(/,\s*'changelog'\s*=\s*'[a-z-]+'/g, '');
}

/** The table or view a CREATE statement defines, if it can be read. */
function createdName(ddl: string): string | undefined {
  const m = /^\s*CREATE\s+(?:TEMPORARY\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(`[^`]+`|[A-Za-z_][A-Za-z0-9_.]*)/i.exec(ddl);
  return m?.[1];
}

/**
 * A scene's setup: each of its tables and views dropped and created again (so the definitions
 * of the scene win over earlier ones of the same name).
 */
export function sceneSetup(scene: Scene): string[] {
  const out: string[] = [];
  for (const d of scene.ddl) {
    const name = createdName(d);
    if (name !== undefined) out.push(`DROP ${/\bVIEW\b/i.test(d.slice(0, 40)) ? 'VIEW' : 'TABLE'} IF EXISTS ${name}`);
    out.push(d);
  }
  return out;
}

/** A fuzz batch: scenes picked at random, each set up and followed by a few mutated statements. */
export function fuzzBatch(r: Random, scenes: readonly Scene[], statements: number): string[] {
  // Many tests hold PostgreSQL and DuckDB SQL (their checks); weir's own SQL gets more turns.
  const weighted = scenes.flatMap((s) => (/^(sql|test\/(plan|sql|expr|cli|runtime|crash|operators|checkpoint))\//.test(s.file) ? [s, s, s] : [s]));
  const out: string[] = [];
  for (let n = 0; n < statements; ) {
    const scene = pick(r, weighted);
    out.push(...sceneSetup(scene));
    for (let k = int(r, 1, 6); k > 0 && n < statements; k--, n++) out.push(mutate(r, pick(r, scene.statements)));
  }
  return out;
}

const KEYWORDS = [
  'SELECT',
  'FROM',
  'WHERE',
  'GROUP',
  'BY',
  'HAVING',
  'ORDER',
  'LIMIT',
  'JOIN',
  'LEFT',
  'ON',
  'AND',
  'OR',
  'NOT',
  'IN',
  'IS',
  'NULL',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'AS',
  'CAST',
  'INTERVAL',
  'TABLE',
  'TUMBLE',
  'HOP',
  'CUMULATE',
  'SESSION',
  'DESCRIPTOR',
  'OVER',
  'PARTITION',
  'UNION',
  'ALL',
  'DISTINCT',
  'WITH',
  'VALUES',
  'INSERT',
  'INTO',
  'CREATE',
  'WATERMARK',
  'FOR',
  'PRIMARY',
  'KEY',
  'ENFORCED',
  'EXPLAIN',
  'SET',
  'BETWEEN',
  'LIKE',
  'ESCAPE',
  'FILTER',
  'ROW',
  'ARRAY',
  'MAP',
  'TIMESTAMP',
  'DECIMAL',
  'SECOND',
  'DAY',
  'COUNT',
  'SUM',
  'ROW_NUMBER',
  'LATERAL',
  'EXISTS',
  'TRUE',
];
const PUNCTUATION = [
  '(',
  ')',
  ',',
  '.',
  '*',
  '+',
  '-',
  '/',
  '%',
  '=',
  '<',
  '>',
  '<>',
  '<=',
  '>=',
  '||',
  '[',
  ']',
  '!',
  '~',
  '::',
  '?',
  '@',
  '$',
  '#',
  '{',
  '}',
  '&',
  '^',
];
/** Text a terminal would act on, and text that is not valid UTF-16 (lone surrogates). */
const ODD = [
  '\u0000',
  '\u001b[31m',
  '\u001b]0;title\u0007',
  '\r',
  '\f',
  '\u0008',
  '\u007f',
  '\u0085',
  '\u202e',
  '\u200b',
  '\ufeff',
  '🚀',
  '\ud800',
  '\udfff',
  '\u{10ffff}',
  'é',
  '\u0301',
  '\t',
];
const HUGE = [
  '99999999999999999999999999999999999999999',
  '9223372036854775808',
  '-9223372036854775809',
  '2147483648',
  '1e400',
  '-1e400',
  '1e-400',
  '0.000000000000000000000000000000000000001',
  '123456789012345678901234567890.123456789',
  '0',
  '-0',
  '00000000000000000001',
];
const HUGE_INTERVALS = ["'99999999999'", "'9999999999'", "'100000000'", "'0'", "'-1'", "'0.0001'", "'1e20'", "''", "'x'", "'-99999999999'"];

function tokens(text: string): Token[] | undefined {
  try {
    return tokenize(new SourceText(text));
  } catch {
    return undefined;
  }
}

const splice = (text: string, from: number, to: number, by: string): string => text.slice(0, from) + by + text.slice(to);

/** One mutation of `text` (never unbalancing quotes or comments). */
function mutateOnce(r: Random, text: string, kinds: readonly number[]): string {
  const toks = tokens(text);
  if (!toks || toks.length === 0) return text;
  const t = pick(r, toks);
  const i = toks.indexOf(t);
  // Operands: identifiers that are not keywords of the statement's structure, numbers, strings.
  const operands = toks.filter(
    (x, k) =>
      x.kind === 'number' ||
      x.kind === 'string' ||
      x.kind === 'quoted' ||
      (x.kind === 'word' && !KEYWORDS.includes(x.upper) && toks[k + 1]?.text !== '(' && toks[k - 1]?.text !== '.' && toks[k + 1]?.text !== '.'),
  );
  const operand = operands.length > 0 ? pick(r, operands) : t;
  switch (pick(r, kinds)) {
    case 0:
      return splice(text, t.start, t.end, '');
    case 1:
      return splice(text, t.start, t.start, `${t.text} `);
    case 2: {
      const u = pick(r, toks);
      if (u === t) return text;
      const [a, b] = t.start < u.start ? [t, u] : [u, t];
      return text.slice(0, a.start) + b.text + text.slice(a.end, b.start) + a.text + text.slice(b.end);
    }
    case 3:
      return splice(text, t.start, t.start, ` ${pick(r, KEYWORDS)} `);
    case 4:
      return splice(text, t.start, t.start, pick(r, PUNCTUATION));
    case 5:
      // Truncation at a token boundary.
      return text.slice(0, t.start);
    case 6: {
      // Deep nesting: parentheses, prefix operators, calls or CASE around an operand.
      const n = int(r, 1, 3) === 1 ? int(r, 240, 300) : int(r, 2, 40);
      const wrap = pick(r, [
        (x: string) => `${'('.repeat(n)}${x}${')'.repeat(n)}`,
        (x: string) => `${'NOT '.repeat(n)}${x}`,
        (x: string) => `${'- '.repeat(n)}${x}`,
        (x: string) => `${'ABS('.repeat(n)}${x}${')'.repeat(n)}`,
        (x: string) => `${'COALESCE(NULL, '.repeat(n)}${x}${')'.repeat(n)}`,
        (x: string) => `${'CAST('.repeat(n)}${x}${' AS STRING)'.repeat(n)}`,
        (x: string) => `${'CASE WHEN TRUE THEN '.repeat(Math.min(n, 30))}${x}${' END'.repeat(Math.min(n, 30))}`,
      ]);
      return splice(text, operand.start, operand.end, wrap(operand.text));
    }
    case 7: {
      // A long flat chain.
      // Up to beyond the 3,000 terms that used to overflow the stack.
      const n = int(r, 1, 4) === 1 ? int(r, 2500, 6000) : int(r, 10, 300);
      const op = pick(r, [' + ', ' OR ', ' AND ', ' || ', ' * ', ' - ', ' = ']);
      return splice(text, operand.start, operand.end, `(${Array.from({ length: n }, () => operand.text).join(op)})`);
    }
    case 8: {
      const numbers = toks.filter((x) => x.kind === 'number');
      const n = numbers.length > 0 ? pick(r, numbers) : operand;
      return splice(text, n.start, n.end, pick(r, HUGE));
    }
    case 9: {
      // Interval values: window sizes, watermark delays, datetime arithmetic.
      const intervals = toks.filter((x, k) => x.kind === 'string' && toks[k - 1]?.kind === 'word' && toks[k - 1]!.upper === 'INTERVAL');
      if (intervals.length === 0)
        return splice(text, operand.start, operand.end, `INTERVAL ${pick(r, HUGE_INTERVALS)} ${pick(r, ['SECOND', 'DAY', 'MILLISECOND', 'YEAR', 'HOUR'])}`);
      const iv = pick(r, intervals);
      return splice(text, iv.start, iv.end, pick(r, HUGE_INTERVALS));
    }
    case 10: {
      // Odd characters between tokens, inside identifiers and inside strings.
      const at = int(r, 0, 2) === 0 ? t.start : int(r, t.start, Math.max(t.start, t.end - 1));
      return splice(text, at, at, pick(r, ODD));
    }
    case 11:
      // A statement repeated into itself (long statements, duplicated clauses).
      return splice(text, t.start, t.start, ` ${text.slice(t.start, Math.min(text.length, t.start + int(r, 1, 200)))} `);
    case 12: {
      // Replace an identifier by a keyword or a quoted identifier with odd content.
      const words = toks.filter((x) => x.kind === 'word');
      if (words.length === 0) return text;
      const w = pick(r, words);
      return splice(text, w.start, w.end, pick(r, [pick(r, KEYWORDS), `\`${pick(r, ODD)}x\``, `\`${w.text}${pick(r, ODD)}\``]));
    }
    default:
      return i > 0 ? splice(text, toks[i - 1]!.end, t.start, pick(r, [' ', '\n', '/* c */', '\n-- c\n', ''])) : text;
  }
}

/** 1 to 3 mutations of `text`. */
/** Mutations that keep a statement parseable more often than not: nesting, chains, values. */
const KEEP_SHAPE = [6, 7, 8, 9];
const ALL_KINDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

/**
 * Half the time one mutation that mostly keeps the statement valid (so deep nesting, long chains
 * and huge values reach the planner); otherwise 1 to 3 of any kind.
 */
export function mutate(r: Random, text: string): string {
  if (r() < 0.5) return mutateOnce(r, text, KEEP_SHAPE);
  let out = text;
  const x = r();
  const n = x < 0.7 ? 1 : x < 0.9 ? 2 : 3;
  for (let k = 0; k < n; k++) out = mutateOnce(r, out, ALL_KINDS);
  return out;
}

/** An unterminated quote or comment somewhere in `text` (it swallows the rest of the input). */
export function unterminate(r: Random, text: string): string {
  const toks = tokens(text) ?? [];
  const at = toks.length > 0 ? pick(r, toks).start : 0;
  return splice(text, at, at, pick(r, ["'", '`', '"', '/*', "'abc\\'", "X'"]));
}

/** Words a statement may start with in `weir sql` without starting a job. */
const PLAN_ONLY = new Set(['EXPLAIN', 'CREATE', 'DROP', 'SET', 'RESET', 'SHOW', 'DESCRIBE', 'DESC', 'HELP']);

function firstWord(text: string): string | undefined {
  const toks = tokens(text);
  const w = toks?.find((x) => x.kind !== 'op' || x.text !== '(');
  return w?.kind === 'word' ? w.upper : undefined;
}

/** `text` as a plan-only statement: anything that is not DDL / SET / SHOW becomes an EXPLAIN. */
export function planOnly(text: string): string {
  const w = firstWord(text);
  return w !== undefined && PLAN_ONLY.has(w) && w !== 'EXPLAIN' ? text : w === 'EXPLAIN' ? text : `EXPLAIN ${text}`;
}

/**
 * The `weir sql` input for `statements`: each made plan-only and ended with `;` and a newline.
 * Whatever a mutation did to quotes, comments and `;`, the script is split the way the shell
 * splits it, and a statement that would make a chunk start with anything but a plan-only word
 * (which could start a job) is left out. `last` (unterminated) goes at the very end.
 */
export function buildInput(statements: readonly string[], last?: string): string {
  let kept = statements.map((s) => `${planOnly(s)};\n`).filter((s) => unsafeChunk(s) === undefined);
  // Together, statements can split differently (a `--` comment hiding the `;`, an open statement
  // set): drop the statement where an unsafe chunk starts until none is left.
  for (;;) {
    const text = kept.join('');
    const bad = unsafeChunk(text);
    if (bad === undefined) break;
    let offset = 0;
    const k = kept.findIndex((s) => (offset += s.length) > bad);
    kept = kept.filter((_, j) => j !== (k < 0 ? kept.length - 1 : k));
  }
  const body = kept.join('');
  if (last !== undefined) {
    const tail = `${planOnly(last)};\n`;
    const bad = unsafeChunk(body + tail, true);
    if (bad === undefined) return body + tail;
  }
  return body;
}

/** Offset of the first chunk of `text` that does not start with a plan-only word, if any. */
function unsafeChunk(text: string, unterminatedOk = false): number | undefined {
  let chunks;
  try {
    chunks = splitStatements(text);
  } catch {
    return unterminatedOk ? undefined : 0;
  }
  for (const c of chunks) {
    const toks = tokens(c.text);
    if (!toks) {
      if (!unterminatedOk) return c.offset;
      continue;
    }
    const first = toks[0];
    if (first !== undefined && !(first.kind === 'word' && PLAN_ONLY.has(first.upper))) return c.offset;
  }
  return undefined;
}

/**
 * Mutations of values only (numbers, INTERVAL values, string contents, operands made into long
 * chains): the statement keeps its shape, so a query over bounded tables stays a bounded job.
 */
export function mutateValues(r: Random, text: string): string {
  const toks = tokens(text);
  if (!toks || toks.length === 0) return text;
  const numbers = toks.filter((x) => x.kind === 'number');
  const strings = toks.filter((x) => x.kind === 'string');
  const intervals = strings.filter((x) => toks[toks.indexOf(x) - 1]?.upper === 'INTERVAL');
  const operands = toks.filter((x) => x.kind === 'number' || (x.kind === 'word' && /^(k|v|id)$/i.test(x.text)));
  switch (int(r, 0, 3)) {
    case 0:
      if (intervals.length > 0) {
        const iv = pick(r, intervals);
        return splice(text, iv.start, iv.end, pick(r, [...HUGE_INTERVALS, "'1'", "'3600'", "'86400'", "'10000'", "'10001'"]));
      }
      return text;
    case 1:
      if (numbers.length > 0) {
        const n = pick(r, numbers);
        return splice(text, n.start, n.end, pick(r, HUGE));
      }
      return text;
    case 2:
      if (strings.length > 0) {
        const s = pick(r, strings);
        return splice(text, s.start + 1, s.start + 1, pick(r, ODD).replace(/'/g, ''));
      }
      return text;
    default: {
      if (operands.length === 0) return text;
      const o = pick(r, operands);
      const n = int(r, 1, 3) === 1 ? int(r, 2500, 4000) : int(r, 2, 200);
      return splice(text, o.start, o.end, `(${Array.from({ length: n }, () => o.text).join(pick(r, [' + ', ' * ', ' - ']))})`);
    }
  }
}
