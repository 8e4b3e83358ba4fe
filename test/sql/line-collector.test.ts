import { describe, expect, it } from 'vitest';
import { LineCollector } from '../../src/sql/shell-statements.js';

/** Feeds `lines` and returns the texts the collector hands over, in order. */
function collect(lines: readonly string[]): string[] {
  const c = new LineCollector();
  const out: string[] = [];
  for (const line of lines) if (c.push(line)) out.push(c.take());
  if (!c.empty) out.push(`(left) ${c.take()}`);
  return out;
}

describe('LineCollector (piped weir sql)', () => {
  it('hands over a statement at its `;`, whatever is on the lines before', () => {
    expect(collect(['SELECT 1', '  + 2', ';', 'SELECT 3;'])).toEqual(['SELECT 1\n  + 2\n;', 'SELECT 3;']);
    expect(collect(["SELECT 'a;", "b';", 'SELECT 2;'])).toEqual(["SELECT 'a;\nb';", 'SELECT 2;']);
    expect(collect(['SELECT 1; /* a', 'comment */', 'SELECT 2;'])).toEqual(['SELECT 1; /* a\ncomment */', 'SELECT 2;']);
    expect(collect(['SELECT 1 -- not the end;', ';'])).toEqual(['SELECT 1 -- not the end;\n;']);
    expect(collect(['SELECT `a', 'b`;'])).toEqual(['SELECT `a\nb`;']);
  });

  it('keeps a statement set until its END', () => {
    const set = ['EXECUTE STATEMENT SET BEGIN', 'INSERT INTO a SELECT CASE WHEN x THEN 1 END FROM t;', 'INSERT INTO b SELECT 2;', 'END;', 'SELECT 3;'];
    expect(collect(set)).toEqual([set.slice(0, 4).join('\n'), 'SELECT 3;']);
    expect(collect(['BEGIN STATEMENT SET;', 'INSERT INTO a SELECT 1;', 'END', ';'])).toEqual(['BEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND\n;']);
  });

  it('examines the whole text only on lines that can end it (it did on every line: quadratic)', () => {
    const c = new LineCollector();
    const lines = ['SELECT k FROM t WHERE k = 0', ...Array.from({ length: 100_000 }, (_, i) => `  OR k = ${i + 1}`), ';'];
    const done = lines.map((l) => c.push(l));
    expect(done.indexOf(true)).toBe(lines.length - 1);
    expect(c.take().split('\n')).toHaveLength(100_002);
    // The first line (nothing known yet) and the `;` line.
    expect(c.fullChecks).toBe(2);
    // An open statement set waits for END: the `;` lines of its INSERTs are not worth a check.
    const set = new LineCollector();
    set.push('EXECUTE STATEMENT SET BEGIN');
    for (let i = 0; i < 1000; i++) set.push(`INSERT INTO a SELECT ${i};`);
    expect(set.push('END;')).toBe(true);
    expect(set.fullChecks).toBeLessThanOrEqual(3);
  });
});
