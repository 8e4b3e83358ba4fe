import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_WINDOWS_PER_ROW } from '../../src/plan/window-spec.js';
import { startShell } from '../cli/sql/sql-helpers.js';
import { runWeir, tempDir } from '../support/weir-process.js';

/**
 * The cases of issue 12 §5 through the real command line, `weir sql` with piped input and
 * `weir run` with a job file: window arguments that crashed the process (SIGTRAP "invalid size",
 * out of heap), expressions of thousands of terms (an internal error with a stack trace),
 * deep nesting, and control characters echoed by error messages.
 */
const rows = (n: number) =>
  `CREATE TABLE t (k INT, ts AS TO_TIMESTAMP_LTZ(k * 1000, 3), WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen', 'number-of-rows' = '${n}', 'fields.k.kind' = 'sequence', 'fields.k.start' = '0', 'fields.k.end' = '${n - 1}');\n`;
const terms = (n: number, f: (i: number) => string, sep: string): string => Array.from({ length: n }, (_, i) => f(i)).join(sep);

async function shell(input: string) {
  const sh = startShell(['--checkpoint-dir', tempDir('limits-chk')], { cwd: tempDir('limits-cwd') });
  sh.child.stdin!.on('error', () => undefined);
  sh.send(input);
  sh.end();
  const exit = await sh.exit;
  return { ...exit, stdout: sh.stdout(), stderr: sh.stderr() };
}

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('weir sql and weir run at the limits', () => {
  it('window arguments that would put a row into too many windows are refused before anything runs', async () => {
    const cumulate = "SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '99999999999' SECOND));";
    const hop =
      "SELECT window_start, COUNT(*) AS n FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '100000000' SECOND)) GROUP BY window_start, window_end;";
    const r = await shell(`${rows(1)}${cumulate}\n${hop}\nSELECT COUNT(*) AS n FROM t;\n`);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `[ERROR] 2:${cumulate.indexOf("INTERVAL '9") + 1}: INTERVAL '99999999999' SECOND is out of range: an interval has at most 10 digits before the fraction`,
    );
    expect(r.stderr).toContain(
      `[ERROR] 3:${hop.indexOf("INTERVAL '1000") + 1}: HOP with size 100000000000 ms and slide 1000 ms puts every row into 100000000 windows; weir allows at most ${MAX_WINDOWS_PER_ROW} windows per row`,
    );
    expect(r.stderr).not.toMatch(/internal error|FATAL|heap/);
    // The shell went on: the last query ran.
    expect(r.stdout).toMatch(/\|\s+1 \|[\s\S]*Received a total of 1 row/);
  });

  it('weir sql: 3,000 terms of 1 + 1, a WHERE of 10,000 ORs written one per line, 5,000 nested parentheses', async () => {
    const plus = `SELECT ${terms(3000, () => '1', ' + ')} AS total;`;
    // Every even k among 0..19 (the datagen has 20 rows), out of 10,000 alternatives, one per line.
    const or = `SELECT k FROM t WHERE\n${terms(10_000, (i) => `k = ${i * 2}`, '\n  OR ')};`;
    const deep = `SELECT ${'('.repeat(5000)}1${')'.repeat(5000)} AS x;`;
    const r = await shell(`${rows(20)}${plus}\n${or}\n${deep}\n`);
    expect(r.signal).toBeNull();
    expect(r.stderr).not.toMatch(/internal error|RangeError|\bat .+:\d+:\d+/);
    expect(r.stdout).toMatch(/\|\s+3000 \|/);
    const ks = [...r.stdout.matchAll(/^\|\s+(\d+) \|$/gm)].map((m) => Number(m[1]));
    expect(ks).toEqual([3000, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    // The 257th parenthesis of the last statement, on line 10,004 (the ORs took lines 3 to 10,003).
    expect(r.stderr.includes(`[ERROR] 10004:${'SELECT '.length + 257}: the statement nests too deeply here: more than 256 levels`)).toBe(true);
  });

  it('weir run: a job whose query has thousands of terms runs; a too deep one fails with file:line:column', async () => {
    const dir = tempDir('limits-run');
    const job = join(dir, 'chains.sql');
    writeFileSync(
      job,
      `${rows(6)}CREATE TABLE out_t (k INT, total INT) WITH ('connector' = 'print');
INSERT INTO out_t SELECT k, ${terms(5000, () => 'k', ' + ')} FROM t WHERE ${terms(10_000, (i) => `k = ${i * 3}`, ' OR ')};
`,
    );
    const ok = await runWeir(['run', job, '--checkpoint-dir', join(dir, 'chk')], { cwd: dir });
    expect(ok.signal).toBeNull();
    expect(ok.stderr).not.toMatch(/internal error|RangeError/);
    expect(ok.code).toBe(0);
    const printed = [...ok.stdout.matchAll(/\+I\[(\d+), (\d+)\]/g)].map((m) => [Number(m[1]), Number(m[2])]).sort((a, b) => a[0]! - b[0]!);
    expect(printed).toEqual([
      [0, 0],
      [3, 15_000],
    ]);

    const deep = join(dir, 'deep.sql');
    writeFileSync(
      deep,
      `${rows(1)}CREATE TABLE o (x INT) WITH ('connector' = 'print');\nINSERT INTO o SELECT ${'ABS('.repeat(300)}k${')'.repeat(300)} FROM t;\n`,
    );
    const bad = await runWeir(['run', deep, '--checkpoint-dir', join(dir, 'chk2')], { cwd: dir });
    expect(bad.signal).toBeNull();
    expect(bad.code).toBe(1);
    // At the `(` of the 257th ABS.
    expect(bad.stderr).toContain(`error: ${deep}:3:${'INSERT INTO o SELECT '.length + 4 * 256 + 4}: the statement nests too deeply here`);
  });

  it('AND binds tighter than OR (node-sql-parser had it the other way: wrong rows, no error)', async () => {
    const r = await shell(`${rows(3)}SELECT k FROM t WHERE k = 0 OR k = 1 AND k = 2;\nSELECT FALSE AND FALSE OR TRUE AS x;\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\|\s+0 \|\n[^\n]*\nReceived a total of 1 row/);
    expect(r.stdout).toMatch(/\| TRUE\s*\|/);
  });

  it('errors escape control characters from the input instead of echoing them', async () => {
    const r = await shell(`${rows(1)}SELECT \`a\u001b[31mb\u0000c\` FROM t;\nSELECT 'x' \u0007 FROM t;\n`);
    expect(r.signal).toBeNull();
    const errors = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(errors.some((l) => RAW_CONTROL.test(l))).toBe(false);
    expect(r.stderr).toContain("[ERROR] 2:8: column 'a\\x1b[31mb\\x00c' not found in table 't'");
    expect(r.stderr).toContain('SELECT `a\\x1b[31mb\\x00c` FROM t;');
    expect(r.stderr).toMatch(/\[ERROR\] 3:\d+: unexpected '\\x07'/);
  });
});
