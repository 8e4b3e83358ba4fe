import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HANG_GUARD_MS } from '../../support/hang-guard.js';
import { WEIR_BIN, tempDir } from '../../support/weir-process.js';

/**
 * `weir sql` in a real pseudo-terminal: tmux (a private server socket) runs the shell at 120x40;
 * keys go in with send-keys and the screen is read with capture-pane, polled with a deadline.
 */
const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((p) => existsSync(p));
const SOCKET = `weir-test-${process.pid}`;

if (!TMUX && process.env.CI === 'true') {
  throw new Error('tmux is required for the terminal tests on CI (apt-get install tmux)');
}

function tmux(...args: string[]): string {
  return execFileSync(TMUX!, ['-L', SOCKET, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function screen(session: string): string {
  return tmux('capture-pane', '-p', '-t', session);
}

function alive(session: string): boolean {
  try {
    tmux('has-session', '-t', session);
    return true;
  } catch {
    return false;
  }
}

/** Polls the screen until `probe` returns something; fails with the last screen at the deadline. */
async function waitScreen<T>(session: string, what: string, probe: (s: string) => T | undefined | null | false, timeoutMs = HANG_GUARD_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      last = screen(session);
    } catch {
      last = '(the tmux session ended)';
    }
    const v = probe(last);
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function type(session: string, text: string): void {
  // tmux reads an argument's trailing ';' as a command separator unless escaped.
  tmux('send-keys', '-t', session, '-l', text.endsWith(';') ? `${text.slice(0, -1)}\\;` : text);
}

function key(session: string, ...keys: string[]): void {
  tmux('send-keys', '-t', session, ...keys);
}

function startShell(session: string, home: string, cwd: string): void {
  const cmd = `cd '${cwd}' && WEIR_HOME='${home}' exec '${process.execPath}' '${WEIR_BIN}' sql`;
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', cmd);
}

const lastLine = (s: string): string =>
  (
    s
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? ''
  ).trim();

afterAll(() => {
  if (!TMUX) return;
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

describe.skipIf(!TMUX)('weir sql in a terminal', () => {
  it('table mode updates an aggregate in place; Ctrl-C returns to the prompt; Up recalls history, also in a new session', async () => {
    const dir = tempDir('sql-tty');
    const home = tempDir('sql-tty-home');
    startShell('one', home, dir);
    await waitScreen('one', 'the prompt', (s) => lastLine(s) === 'weir>');

    // a statement over several lines
    type('one', "CREATE TABLE ticks (id BIGINT) WITH ('connector' = 'datagen',");
    key('one', 'Enter');
    await waitScreen('one', 'the continuation prompt', (s) => lastLine(s) === '>');
    type('one', "'rows-per-second' = '20', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000');");
    key('one', 'Enter');
    await waitScreen('one', 'the table', (s) => s.includes('[INFO] Table has been created.') && lastLine(s) === 'weir>');

    // tab completion of a table name
    type('one', 'DESCRIBE tic');
    key('one', 'Tab');
    await waitScreen('one', 'the completed name', (s) => lastLine(s) === 'weir> DESCRIBE ticks');
    key('one', 'C-u');
    key('one', 'C-c');
    await waitScreen('one', 'a fresh prompt', (s) => lastLine(s) === 'weir>');

    type('one', 'SELECT COUNT(*) AS n FROM ticks;');
    key('one', 'Enter');
    const countOf = (s: string): number | undefined => {
      const m = /^\| +n \|\n\+-+\+\n\| +(\d+) \|$/m.exec(s);
      return m && s.includes('RUNNING | 1 row |') ? Number(m[1]) : undefined;
    };
    const first = await waitScreen('one', 'a first count', (s) => {
      const n = countOf(s);
      return n !== undefined && n > 0 ? n : undefined;
    });
    const screenNow = screen('one');
    expect(screenNow).toContain('q quit, + / - refresh');
    expect(screenNow).toMatch(/refresh \d+ ms/);
    // the same single row, its value growing: the aggregate's -U/+U are applied in place
    const later = await waitScreen('one', 'a larger count', (s) => {
      const n = countOf(s);
      return n !== undefined && n > first ? n : undefined;
    });
    expect(later).toBeGreaterThan(first);

    key('one', 'C-c');
    await waitScreen('one', 'the prompt after Ctrl-C', (s) => /Query terminated, 1 row in the result/.test(s) && lastLine(s) === 'weir>');

    key('one', 'Up');
    await waitScreen('one', 'the recalled statement', (s) => lastLine(s) === 'weir> SELECT COUNT(*) AS n FROM ticks;');
    key('one', 'Up');
    await waitScreen('one', 'the multi-line statement recalled whole', (s) =>
      // 120 columns wrap the long line: join the last two screen lines
      s.trimEnd().split('\n').slice(-2).join('').startsWith("weir> CREATE TABLE ticks (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20'"),
    );
    key('one', 'C-c');
    await waitScreen('one', 'a fresh prompt', (s) => lastLine(s) === 'weir>');
    key('one', 'C-d');
    await waitScreen('one', 'the shell to end', () => !alive('one'));

    // the history persists into a new session
    startShell('two', home, dir);
    await waitScreen('two', 'the prompt', (s) => lastLine(s) === 'weir>');
    key('two', 'Up');
    await waitScreen('two', 'the statement of the last session', (s) => lastLine(s) === 'weir> SELECT COUNT(*) AS n FROM ticks;');
    key('two', 'C-c');
    await waitScreen('two', 'a fresh prompt', (s) => lastLine(s) === 'weir>');

    // Ctrl-D with a running job asks first; 'y' stops the job with a final checkpoint
    type('two', "CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50');");
    key('two', 'Enter');
    type('two', "CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole');");
    key('two', 'Enter');
    type('two', 'INSERT INTO sink SELECT id FROM gen;');
    key('two', 'Enter');
    await waitScreen('two', 'the job id', (s) => /Job ID: [0-9a-f]{32}\n/.test(s) && lastLine(s) === 'weir>');
    key('two', 'C-d');
    await waitScreen('two', 'the question', (s) =>
      /1 job is running: insert-into_sink \([0-9a-f]{32}\)\.\s*Stop it \(with a final checkpoint\) and quit\? \[y\/N\]$/.test(s.trimEnd()),
    );
    type('two', 'n');
    key('two', 'Enter');
    await waitScreen('two', 'the prompt again', (s) => lastLine(s) === 'weir>');
    type('two', 'QUIT;');
    key('two', 'Enter');
    await waitScreen('two', 'the question again', (s) => lastLine(s).endsWith('[y/N]'));
    type('two', 'y');
    key('two', 'Enter');
    await waitScreen('two', 'the shell to end', () => !alive('two'));
    // the stop took a final checkpoint of the job in ./.weir/checkpoints
    const jobDir = join(dir, '.weir', 'checkpoints', 'insert-into_sink');
    expect(readdirSync(jobDir).some((n) => /^chk-\d+$/.test(n) && existsSync(join(jobDir, n, '_metadata')))).toBe(true);
  }, 600_000);
});
