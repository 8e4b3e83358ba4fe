/**
 * `weir sql [-i init.sql] [-f script.sql] [--checkpoint-dir DIR]`: the SQL shell, engine in this
 * process. On a terminal it is interactive (repl.ts). With -f it runs the script and stops at the
 * first error (exit 1); with piped standard input it runs statements as they arrive and goes on
 * after errors (exit 1 at the end if any failed). Without a terminal, results print as plain
 * tables (no escape codes). When a script or the input ends, the shell waits for the INSERT jobs
 * it started to end by themselves; Ctrl-C (SIGINT) stops them with a final checkpoint, a second
 * Ctrl-C cancels them. QUIT stops running jobs with a final checkpoint at once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { userError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { LineCollector } from '../../sql/shell-statements.js';
import { History, weirHome } from './history.js';
import { Repl } from './repl.js';
import { SqlSession, type RunResult } from './session.js';
import { processIO } from './shell-io.js';
import { TerminalInput } from './terminal-input.js';
import './collect-sink.js';
import '../../../connectors/index.js';

export interface SqlFlags {
  init?: string;
  file?: string;
  checkpointDir?: string;
}

async function readScript(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (code ?? String(e));
    throw userError('FILE_NOT_FOUND', `cannot read SQL file '${path}': ${why}`);
  }
}

export async function sqlCommand(flags: SqlFlags): Promise<number> {
  const interactive = flags.file === undefined && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY);
  // Job logs must not draw over the prompt and the live views.
  if (interactive && process.env.WEIR_LOG_FILE === undefined) process.env.WEIR_LOG_FILE = join(weirHome(), 'log', 'sql-client.log');
  const log = createLogger();
  const keyboard = interactive ? new TerminalInput(process.stdin) : undefined;
  const io = processIO(keyboard?.terminal(process.stdout));
  const repl = keyboard ? new Repl(keyboard.stream, process.stdout, new History(join(weirHome(), 'sql_history'))) : undefined;
  const session = new SqlSession({
    io,
    log,
    ...(flags.checkpointDir !== undefined ? { checkpointDir: flags.checkpointDir } : {}),
    ...(repl ? { announce: (line: string) => repl.announce(line) } : {}),
  });
  repl?.attach(session);

  // Outside the interactive loop Ctrl-C ends the query being shown; otherwise the first stops
  // every job with a final checkpoint and the second cancels them.
  let interrupts = 0;
  let stopInput: (() => void) | undefined;
  const onSigint = (): void => {
    if (session.cancelRunningQuery()) return;
    interrupts++;
    stopInput?.();
    if (interrupts === 1) {
      io.err('[INFO] Interrupted: stopping running jobs with a final checkpoint (Ctrl-C again cancels them)\n');
      void session.jobs.stopAll();
    } else {
      void session.jobs.cancelAll();
    }
  };
  if (!interactive) process.on('SIGINT', onSigint);
  try {
    if (flags.init !== undefined) {
      const r = await session.run(await readScript(flags.init), 1, flags.init);
      if (r === 'error') {
        await session.jobs.stopAll();
        return 1;
      }
      if (r === 'quit') return await quit(session);
    }
    if (repl) return await repl.run();

    let result: RunResult;
    if (flags.file !== undefined) {
      result = await session.run(await readScript(flags.file), 1, flags.file);
      if (result === 'error') {
        await session.jobs.stopAll();
        return 1;
      }
    } else {
      result = await runPiped(session, (stop) => (stopInput = stop));
    }
    if (result === 'quit') return await quit(session);
    const running = session.jobs.running().length;
    if (running > 0 && interrupts === 0) {
      io.err(
        `[INFO] Waiting for ${running} running job${running === 1 ? '' : 's'} to finish (Ctrl-C stops ${running === 1 ? 'it' : 'them'} with a final checkpoint)\n`,
      );
    }
    await session.jobs.waitAll();
    const failed = session.jobs.list().some((j) => j.error !== undefined);
    return result === 'error' || failed ? 1 : 0;
  } finally {
    if (!interactive) process.off('SIGINT', onSigint);
    keyboard?.close();
  }
}

async function quit(session: SqlSession): Promise<number> {
  await session.jobs.stopAll();
  return session.jobs.list().some((j) => j.error !== undefined) ? 1 : 0;
}

/**
 * Statements from piped standard input, run as each one is complete (so a test or a program
 * can drive the shell and read its answers). Returns 'error' when any statement failed.
 */
async function runPiped(session: SqlSession, onStop: (stop: () => void) => void): Promise<RunResult> {
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  onStop(() => rl.close());
  const input = new LineCollector();
  let startLine = 1;
  let lineNo = 0;
  let failed = false;
  const flush = async (): Promise<RunResult> => {
    const text = input.take();
    const first = startLine;
    if (text.trim() === '') return 'ok';
    const r = await session.run(text, first);
    if (r === 'error') failed = true;
    return r;
  };
  for await (const line of rl) {
    lineNo++;
    if (input.empty) startLine = lineNo;
    if (input.push(line) && (await flush()) === 'quit') {
      rl.close();
      return 'quit';
    }
  }
  // A last statement without ';' still runs.
  if ((await flush()) === 'quit') return 'quit';
  return failed ? 'error' : 'ok';
}
