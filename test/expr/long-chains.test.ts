import { describe, expect, it } from 'vitest';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { compileCalc } from '../../src/expr/compile.js';
import { formatExpr } from '../../src/expr/format.js';
import type { Expr } from '../../src/sql/ir.js';
import { T, bin, bind, call, col, evaluate, int, kase, nul, str } from './helpers.js';

/** `ops` joined left-deep over `operands`: ((o0 op o1) op o2) ... */
const chain = (op: '+' | '-' | '*' | 'AND' | 'OR' | '||', operands: Expr[]): Expr => operands.slice(1).reduce((l, r) => bin(op, l, r), operands[0]!);
const batch = (rows: unknown[][]): ChangeBatch => ({
  size: rows.length,
  kinds: new Uint8Array(rows.length),
  columns: rows[0]!.map((_, c) => rows.map((r) => r[c])),
});

/**
 * Chains of thousands of terms bind, print, compile and evaluate (issue 12: 3,000 terms were an
 * internal error, "Maximum call stack size exceeded"). AND / OR chains compile to one flat block.
 */
describe('long chains', () => {
  const N = 10_000;

  it(`${N} columns added up, subtracted and concatenated`, () => {
    const K = { k: T('INT') };
    expect(
      evaluate(
        chain(
          '+',
          Array.from({ length: N }, () => col('k')),
        ),
        K,
        [3],
      ),
    ).toBe(3 * N);
    expect(
      evaluate(
        chain(
          '-',
          Array.from({ length: N }, () => col('k')),
        ),
        K,
        [2],
      ),
    ).toBe(2 - 2 * (N - 1));
    expect(
      evaluate(
        chain(
          '+',
          Array.from({ length: N }, () => col('k')),
        ),
        K,
        [null],
      ),
    ).toBe(null);
    const s = evaluate(
      chain(
        '||',
        Array.from({ length: 3000 }, () => col('s')),
      ),
      { s: T('STRING') },
      ['ab'],
    ) as string;
    expect(s).toBe('ab'.repeat(3000));
    // Constant chains fold to one literal.
    const folded = bind(
      chain(
        '+',
        Array.from({ length: N }, () => int(1)),
      ),
    );
    expect(folded).toMatchObject({ kind: 'literal', value: N });
  });

  it(`a WHERE of ${N} ORs and of ${N} ANDs filters in one generated loop`, () => {
    const K = { k: T('INT') };
    const or = bind(
      chain(
        'OR',
        Array.from({ length: N }, (_, i) => bin('=', col('k'), int(i * 2))),
      ),
      K,
    );
    const calc = compileCalc([{ kind: 'input', index: 0, type: T('INT') }], or);
    const out = calc(batch([[0], [1], [2], [N * 2 - 2], [N * 2], [null]]));
    expect(out?.columns[0]).toEqual([0, 2, N * 2 - 2]);
    const and = bind(
      chain(
        'AND',
        Array.from({ length: N }, (_, i) => bin('<>', col('k'), int(i * 2 + 1))),
      ),
      K,
    );
    const out2 = compileCalc([{ kind: 'input', index: 0, type: T('INT') }], and)(batch([[0], [1], [3], [N * 2 + 1], [null]]));
    expect(out2?.columns[0]).toEqual([0, N * 2 + 1]);
  });

  it('the flat AND / OR keep three-valued logic and short-circuit', () => {
    const B = { a: T('BOOLEAN'), b: T('BOOLEAN'), c: T('BOOLEAN') };
    const values = [true, false, null] as const;
    for (const a of values) {
      for (const b of values) {
        for (const c of values) {
          const xs = [a, b, c];
          const and = xs.includes(false) ? false : xs.includes(null) ? null : true;
          const or = xs.includes(true) ? true : xs.includes(null) ? null : false;
          expect(evaluate(chain('AND', [col('a'), col('b'), col('c')]), B, xs)).toBe(and);
          expect(evaluate(chain('OR', [col('a'), col('b'), col('c')]), B, xs)).toBe(or);
          // Right-nested and mixed nesting of the same operator: the same answers.
          expect(evaluate(bin('AND', col('a'), bin('AND', col('b'), col('c'))), B, xs)).toBe(and);
        }
      }
    }
    // Short-circuit: the division is not evaluated once an operand decided.
    const K = { k: T('INT') };
    const guard = chain('AND', [bin('<>', col('k'), int(0)), bin('>', bin('/', int(10), col('k')), int(1)), bin('<', col('k'), int(100))]);
    expect(evaluate(guard, K, [0])).toBe(false);
    expect(evaluate(chain('OR', [bin('=', col('k'), int(0)), bin('>', bin('/', int(10), col('k')), int(1))]), K, [0])).toBe(true);
  });

  it('CASE with 5,000 WHENs and COALESCE with 2,000 arguments compile flat and pick the right branch', () => {
    const K = { k: T('INT') };
    const c = kase(
      Array.from({ length: 5000 }, (_, i) => [bin('=', col('k'), int(i)), str(`w${i}`)] as [Expr, Expr]),
      str('none'),
    );
    expect(evaluate(c, K, [4321])).toBe('w4321');
    expect(evaluate(c, K, [-1])).toBe('none');
    expect(evaluate(c, K, [null])).toBe('none');
    const co = call('COALESCE', [...Array.from({ length: 2000 }, () => col('k')), int(7)]);
    expect(evaluate(co, K, [null])).toBe(7);
    expect(evaluate(co, K, [5])).toBe(5);
    expect(evaluate(call('COALESCE', [nul(), col('k'), int(1)]), K, [null])).toBe(1);
  });

  it('the EXPLAIN text of a long chain', () => {
    const K = { k: T('INT') };
    const text = formatExpr(
      bind(
        chain(
          '+',
          Array.from({ length: N }, () => col('k')),
        ),
        K,
      ),
      ['k'],
    );
    // `((k + k) + k)`: each of the N - 1 operators adds '(', ' + ' and ')'.
    expect(text.length).toBe(N + 5 * (N - 1));
    expect(text.startsWith('('.repeat(N - 1))).toBe(true);
    expect(text.endsWith(' + k)')).toBe(true);
  });
});
