import { spawn, type ChildProcess } from 'node:child_process';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { WEIR_BIN, tempDir } from '../../support/weir-process.js';

/**
 * `weir sql` driven through piped standard input: statements are written as the test goes and
 * answers are awaited on stdout/stderr by pattern (polling with a deadline, no fixed sleeps).
 */
export interface ShellProcess {
  child: ChildProcess;
  send(text: string): void;
  /** Closes standard input (end of the script). */
  end(): void;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout, after what earlier waits consumed, matches `re`; returns the match. */
  waitOut(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startShell(args: readonly string[] = [], opts: { cwd?: string; env?: Record<string, string> } = {}): ShellProcess {
  const home = tempDir('sql-home');
  const child = spawn(process.execPath, [WEIR_BIN, 'sql', ...args], {
    cwd: opts.cwd,
    env: { ...process.env, WEIR_HOME: home, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let consumed = 0;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child,
    send: (text) => void child.stdin!.write(text.endsWith('\n') ? text : `${text}\n`),
    end: () => void child.stdin!.end(),
    stdout: () => out,
    stderr: () => err,
    exit,
    async waitOut(re, timeoutMs = HANG_GUARD_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rest = out.slice(consumed);
        const flags = re.flags.includes('g') ? re.flags : `${re.flags}g`;
        const g = new RegExp(re.source, flags);
        const m = g.exec(rest);
        if (m) {
          consumed += m.index + m[0].length;
          return m;
        }
        if (child.exitCode !== null) throw new Error(`weir sql exited (${child.exitCode}) while waiting for ${re}; stdout:\n${out}\nstderr:\n${err}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; stdout:\n${out}\nstderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Runs `weir sql` with `input` piped in whole; resolves with its output when it exits. */
export async function runShell(input: string, args: readonly string[] = [], opts: { cwd?: string } = {}) {
  const s = startShell(args, opts);
  s.send(input);
  s.end();
  const { code } = await s.exit;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

/** A datagen sequence table `src` (ids 1..end) and a DuckDB table `out_rows` in `db`. */
export function sequenceDdl(db: string, end: number, rowsPerSecond: number): string {
  return `CREATE TABLE src (id BIGINT, v INT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '${rowsPerSecond}',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${end}',
  'fields.v.min' = '1', 'fields.v.max' = '9'
);
CREATE TABLE out_rows (id BIGINT, v INT) WITH ('connector' = 'duckdb', 'path' = '${db}', 'table-name' = 'out_rows');
`;
}
