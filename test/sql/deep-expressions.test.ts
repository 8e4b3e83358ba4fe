import { describe, expect, it } from 'vitest';
import type { Expr } from '../../src/sql/ir.js';
import { MAX_NESTING, withStackGuard } from '../../src/sql/nesting.js';
import { parseStatement } from '../../src/sql/parse.js';
import { expr, query, userErrorOf } from './helpers.js';
import { showExpr } from './show.js';

const show = (text: string): string => showExpr(expr(text));
const terms = (n: number, f: (i: number) => string, sep: string): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);

/** The operands of a left-deep chain of `op`, in order, and the chain's depth (loops: it is deep). */
function leftChain(e: Expr, op: string): { operands: Expr[]; depth: number } {
  const rights: Expr[] = [];
  let cur = e;
  while (cur.kind === 'binary' && cur.op === op) {
    rights.push(cur.right);
    cur = cur.left;
  }
  return { operands: [cur, ...rights.reverse()], depth: rights.length };
}

describe('AND / OR precedence (node-sql-parser gets it wrong; weir rebuilds the chain)', () => {
  it('AND binds tighter than OR, in SELECT items, WHERE, ON, HAVING, CASE and call arguments', () => {
    expect(show('a OR b AND c')).toBe('(OR a (AND b c))');
    expect(show('a AND b OR c AND d OR e')).toBe('(OR (OR (AND a b) (AND c d)) e)');
    expect(show('(a OR b) AND c')).toBe('(AND (OR a b) c)');
    expect(show('NOT a AND b OR c')).toBe('(OR (AND (NOT a) b) c)');
    expect(show('CASE WHEN a OR b AND c THEN 1 END')).toBe('(case [(OR a (AND b c)) integer:1])');
    expect(show('f(a OR b AND c)')).toBe('(F (OR a (AND b c)))');
    const q = query('SELECT x FROM t JOIN u ON p OR q AND r WHERE a OR b AND c GROUP BY x HAVING d OR e AND f');
    if (q.kind !== 'select') throw new Error('expected a select');
    expect(showExpr(q.where!)).toBe('(OR a (AND b c))');
    expect(showExpr(q.having!)).toBe('(OR d (AND e f))');
    expect(q.from?.kind === 'join' ? showExpr(q.from.on!) : '').toBe('(OR p (AND q r))');
  });

  it('keeps the positions of the operands', () => {
    expect(showExpr(expr('a OR b AND c'), true)).toBe('(OR@1:8 a@1:8 (AND@1:13 b@1:13 c@1:19))');
  });
});

describe('long flat chains', () => {
  it('10,000 terms of +, OR, AND and || are left-deep chains with every operand in order', () => {
    const n = 10_000;
    const plus = leftChain(expr(terms(n, (i) => `c${i}`, ' + ')), '+');
    expect(plus.depth).toBe(n - 1);
    expect(plus.operands.map((o) => (o.kind === 'column' ? o.name : '?'))).toEqual(Array.from({ length: n }, (_, i) => `c${i}`));

    const q = query(`SELECT k FROM t WHERE ${terms(n, (i) => `k = ${i}`, ' OR ')}`);
    if (q.kind !== 'select') throw new Error('expected a select');
    const or = leftChain(q.where!, 'OR');
    expect(or.depth).toBe(n - 1);
    expect(showExpr(or.operands[n - 1]!)).toBe(`(= k integer:${n - 1})`);
    // The last operand's position: `k = 9999` starts at its own column on line 1.
    const text = `SELECT k FROM t WHERE ${terms(n, (i) => `k = ${i}`, ' OR ')}`;
    expect(or.operands[n - 1]!.pos).toEqual({ line: 1, column: text.lastIndexOf('k = ') + 1 });

    // In a SELECT item node-sql-parser nests AND / OR to the right: still one left-deep chain.
    const and = leftChain(expr(terms(n, (i) => `k <> ${i}`, ' AND ')), 'AND');
    expect(and.depth).toBe(n - 1);
    expect(leftChain(expr(terms(n, () => "'x'", ' || ')), '||').depth).toBe(n - 1);
  });

  it('CASE with 5,000 WHENs and IN with 10,000 items', () => {
    const c = expr(`CASE ${terms(5000, (i) => `WHEN k = ${i} THEN ${i}`, ' ')} END`);
    expect(c.kind === 'case' ? c.whens.length : 0).toBe(5000);
    const inList = expr(`k IN (${terms(10_000, (i) => `${i}`, ', ')})`);
    expect(inList.kind === 'in' ? inList.list.length : 0).toBe(10_000);
  });
});

describe('deep nesting', () => {
  it(`accepts ${MAX_NESTING} levels and rejects more with SQL_TOO_DEEP at the place that goes too deep`, () => {
    expect(showExpr(expr(`${'('.repeat(MAX_NESTING - 1)}k${')'.repeat(MAX_NESTING - 1)}`))).toBe('k');
    const sql = `SELECT 1 AS a,\n  ${'('.repeat(5000)}k${')'.repeat(5000)} AS b FROM t`;
    const e = userErrorOf(() => parseStatement(sql));
    expect(e.code).toBe('SQL_TOO_DEEP');
    // The (MAX_NESTING + 1)th parenthesis, on line 2 after two spaces.
    expect(e.position).toEqual({ line: 2, column: 3 + MAX_NESTING });
    expect(e.message).toMatch(/more than 256 levels of parentheses, CASE or prefix operators/);
  });

  it('counts CASE and runs of prefix operators as nesting too', () => {
    const cases = `SELECT ${'CASE WHEN a THEN '.repeat(300)}1${' END'.repeat(300)} FROM t`;
    expect(userErrorOf(() => parseStatement(cases)).code).toBe('SQL_TOO_DEEP');
    const nots = `SELECT ${'NOT '.repeat(5000)}a FROM t`;
    const e = userErrorOf(() => parseStatement(nots));
    expect(e.code).toBe('SQL_TOO_DEEP');
    expect(e.position).toEqual({ line: 1, column: 8 + 4 * MAX_NESTING });
    const minus = userErrorOf(() => parseStatement(`SELECT ${'- '.repeat(1000)}1`));
    expect(minus.code).toBe('SQL_TOO_DEEP');
    // Subtraction is not a prefix operator: a long `a - b - c ...` chain is fine.
    expect(leftChain(expr(terms(2000, () => 'a', ' - ')), '-').depth).toBe(1999);
  });

  it('nested calls and CASE parse in pieces: 60 nested REPLACE calls (minutes before) and 200 nested ABS', () => {
    const replace = expr(`${'REPLACE('.repeat(60)}s${", 'a', 'b')".repeat(60)}`);
    let depth = 0;
    for (let e: Expr = replace; e.kind === 'call'; e = e.args[0]!) depth++;
    expect(depth).toBe(60);
    const abs = expr(`${'ABS('.repeat(200)}k${')'.repeat(200)}`);
    depth = 0;
    let inner: Expr = abs;
    for (; inner.kind === 'call'; inner = inner.args[0]!) depth++;
    expect(depth).toBe(200);
    // Positions inside the pieces are file positions.
    expect(inner.pos).toEqual({ line: 1, column: 8 + 4 * 200 });
    const cases = expr(`${'CASE WHEN a > 0 THEN '.repeat(40)}k${' END'.repeat(40)}`);
    expect(showExpr(cases).match(/case/g)?.length).toBe(40);
  });

  it('deeply nested text that does not balance fails at once (it took minutes), at the open group', () => {
    // Truncated: 30 CASEs and a call never closed.
    const truncated = `SELECT DATE_FORMAT(${'CASE WHEN TRUE THEN '.repeat(30)}ts`;
    const e = userErrorOf(() => parseStatement(truncated));
    expect(e.toUserLine()).toBe(`1:${truncated.lastIndexOf('CASE') + 1}: this CASE has no END`);
    const open = `SELECT ${'ABS('.repeat(30)}k${')'.repeat(29)} FROM t`;
    // The inner 29 close: the first ABS's `(` is the one left open.
    expect(userErrorOf(() => parseStatement(open)).toUserLine()).toBe(`1:${'SELECT ABS'.length + 1}: this '(' is never closed`);
    // One `(` too few: the stray `)` is reported by the parser, quickly.
    const stray = `SELECT ${'ABS('.repeat(6)}ABS${'ABS('.repeat(20)}2${')'.repeat(27)}`;
    expect(userErrorOf(() => parseStatement(stray)).code).toBe('SQL_PARSE');
  });

  it('a stack overflow that gets past the nesting check is still a user error at the statement', () => {
    const recurse = (n: number): number => (n > 1e9 ? n : recurse(n + 1) + 1);
    const e = userErrorOf(() => withStackGuard({ line: 3, column: 1 }, () => recurse(0)));
    expect(e.code).toBe('SQL_TOO_DEEP');
    expect(e.toUserLine()).toBe('3:1: the statement is nested too deeply; write it flatter (long AND / OR / + chains are fine)');
    // Other errors pass through.
    expect(() =>
      withStackGuard(undefined, () => {
        throw new TypeError('x');
      }),
    ).toThrow(TypeError);
  });

  it('a syntax error deep inside a nested piece is reported at its own line and column', () => {
    const sql = `SELECT ${'ABS('.repeat(30)}\n  k + ${')'.repeat(30)} FROM t`;
    const e = userErrorOf(() => parseStatement(sql));
    expect(e.code).toBe('SQL_PARSE');
    expect(e.position).toEqual({ line: 2, column: 7 });
  });
});
