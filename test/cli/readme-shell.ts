/**
 * Helpers of readme-commands.test.ts: the commands of the README's ```sh blocks, a copy of the
 * project to run them in, and a shell session that runs them as a user would type them (bash,
 * one command after another, `export` carrying over to the next command; long-running commands
 * in their own process group, so Ctrl-C or `pkill -9` can be played exactly as the README says).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReadmeCommand {
  /** The line as written (continuations joined), comment included: what is run. */
  readonly line: string;
  /** The command without its trailing comment and without a final `&`. */
  readonly command: string;
  /** Ends with `&`: the README runs it in the background. */
  readonly background: boolean;
  /** 1-based README line. */
  readonly lineNo: number;
}

/** The text before an unquoted ` #` comment. */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Every command of every ```sh block (```text, ```sql, ... blocks are not commands), in order. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines = markdown.split('\n');
  const out: ReadmeCommand[] = [];
  let inSh = false;
  let inOther = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const fence = /^\s*```(\S*)\s*$/.exec(l);
    if (fence) {
      if (inSh || inOther) {
        inSh = inOther = false;
      } else if (['sh', 'bash', 'shell', 'console'].includes(fence[1])) inSh = true;
      else inOther = true;
      continue;
    }
    if (!inSh) continue;
    let text = l;
    const lineNo = i + 1;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i].trim()}`;
    const command = withoutComment(text.trim());
    if (command === '') continue;
    const background = /(^|[^&])&$/.test(command);
    out.push({ line: text.trim(), command: background ? command.slice(0, -1).trimEnd() : command, background, lineNo });
  }
  return out;
}

/** The top-level entries of the project a user's clone has and the commands use. */
const PROJECT_ENTRIES = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'src', 'connectors', 'sql', 'scripts'];

/**
 * A copy of the project (its node_modules linked, as `npm ci` made them) in a temp folder, so the
 * commands' files (.weir/, warehouse.duckdb) and their broker state stay out of the checkout.
 */
export function projectCopy(projectDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-readme-'));
  for (const e of PROJECT_ENTRIES) cpSync(join(projectDir, e), join(dir, e), { recursive: true });
  symlinkSync(join(projectDir, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  readonly command: ReadmeCommand;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process and everything in its group closed their output. */
  readonly closed: Promise<Outcome>;
  isClosed(): boolean;
  /** Sends `signal` to the whole process group (Ctrl-C: SIGINT; `pkill -9`: SIGKILL). */
  signal(signal: NodeJS.Signals): void;
}

const SHELL_VARS = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD']);

export class ShellSession {
  readonly env: Record<string, string>;
  private readonly started: Started[] = [];

  constructor(
    readonly cwd: string,
    env: Record<string, string | undefined>,
  ) {
    this.env = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) this.env[k] = v;
  }

  /** Starts `command` as bash would run it, in a process group of its own. */
  start(command: ReadmeCommand): Started {
    const child = spawn('bash', ['-c', command.background ? command.command : command.line], {
      cwd: this.cwd,
      env: this.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    let done = false;
    const closed = new Promise<Outcome>((res) =>
      child.on('close', (code, signal) => {
        done = true;
        res({ code, signal, stdout: out, stderr: err });
      }),
    );
    const started: Started = {
      command,
      child,
      stdout: () => out,
      stderr: () => err,
      closed,
      isClosed: () => done,
      signal: (sig) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          // the group is gone already
        }
      },
    };
    this.started.push(started);
    return started;
  }

  /**
   * Runs `command` to its end; what it exports stays in the session's environment (bash prints
   * its environment into a file after the command, keeping the command's exit status).
   */
  async run(command: ReadmeCommand): Promise<Outcome> {
    const envFile = join(this.cwd, `.readme-env-${process.pid}`);
    const script = `${command.line}\n__rc=$?; env -0 > ${JSON.stringify(envFile)}; exit $__rc`;
    const s = this.start({ ...command, line: script, background: false });
    const outcome = await s.closed;
    if (!existsSync(envFile)) return outcome; // the command ended the shell itself (exit)
    try {
      const vars = readFileSync(envFile, 'utf8')
        .split('\0')
        .filter((v) => v.includes('='));
      for (const k of Object.keys(this.env)) delete this.env[k];
      for (const v of vars) {
        const eq = v.indexOf('=');
        const k = v.slice(0, eq);
        if (!SHELL_VARS.has(k)) this.env[k] = v.slice(eq + 1);
      }
    } finally {
      rmSync(envFile, { force: true });
    }
    return outcome;
  }

  /** A process started earlier whose command starts with `prefix`. */
  find(prefix: string): Started | undefined {
    return this.started.find((s) => s.command.command.startsWith(prefix));
  }

  /** Kills whatever is still running (SIGKILL to each group) and waits for it. */
  async killAll(): Promise<void> {
    for (const s of this.started) {
      if (!s.isClosed()) s.signal('SIGKILL');
      await s.closed;
    }
  }
}
