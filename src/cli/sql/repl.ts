/**
 * The interactive loop of `weir sql` on a terminal (node:readline): statements span lines until
 * `;`, Up/Down recall whole statements from the persistent history, Tab completes. Lines typed or
 * pasted while a statement runs are queued and run next. Ctrl-C at the prompt drops the
 * statement being typed; while a result is shown it ends the query (the views grab the keys),
 * never the shell. Ctrl-D or QUIT leaves, after asking when jobs are running, and stops those
 * jobs with a final checkpoint.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isCompleteInput } from '../../sql/shell-statements.js';
import { complete } from './completion.js';
import { HISTORY_SIZE, type History } from './history.js';
import type { SqlSession } from './session.js';

export const PROMPT = 'weir> ';
export const CONTINUATION = '    > ';

/** Words that run without a `;` when they are all that was typed. */
const BARE_COMMANDS = new Set(['quit', 'exit', 'help']);

type Next = { kind: 'line'; line: string } | { kind: 'interrupt' } | { kind: 'eof' };

export class Repl {
  private rl!: Interface;
  /** readline's history array, newest first; owned here so a statement is one entry. */
  private readonly historyLines: string[];
  private readonly queue: Next[] = [];
  private wake: (() => void) | undefined;
  /** A statement runs: Ctrl-C cancels a query, lines are queued, announcements wait. */
  private busy = false;
  private held: string[] = [];
  private session: SqlSession | undefined;
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: NodeJS.WriteStream,
    private readonly history: History,
  ) {
    this.historyLines = history.entries();
  }

  attach(session: SqlSession): void {
    this.session = session;
  }

  /** Prints a line about a background job without breaking the prompt or a result view. */
  announce(line: string): void {
    if (this.busy) {
      this.held.push(line);
      return;
    }
    this.output.write(`\r\x1b[2K${line}\n`);
    this.rl?.prompt(true);
  }

  private push(n: Next): void {
    this.queue.push(n);
    this.wake?.();
  }

  private next(): Promise<Next> {
    const n = this.queue.shift();
    if (n) return Promise.resolve(n);
    return new Promise<Next>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve(this.queue.shift()!);
      };
    });
  }

  private open(): void {
    const rl = createInterface({
      input: this.input,
      output: this.output,
      terminal: true,
      history: this.historyLines,
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      completer: (line: string) => complete(this.session!.catalog, line),
      prompt: PROMPT,
      tabSize: 4,
    });
    rl.on('line', (line: string) => this.push({ kind: 'line', line }));
    rl.on('SIGINT', () => {
      if (this.busy) {
        this.session!.cancelRunningQuery();
        return;
      }
      // Drop what is typed on this line; the loop drops the earlier lines of the statement.
      rl.write('', { ctrl: true, name: 'e' });
      rl.write('', { ctrl: true, name: 'u' });
      this.output.write('^C\n');
      this.push({ kind: 'interrupt' });
    });
    rl.on('close', () => {
      if (this.rl !== rl) return;
      this.closed = true;
      this.push({ kind: 'eof' });
    });
    this.rl = rl;
    this.closed = false;
  }

  async run(): Promise<number> {
    const session = this.session!;
    // Ctrl-C is a key in raw mode; a SIGINT from elsewhere (kill -INT) ends the query shown too.
    const onSigint = (): void => void session.cancelRunningQuery();
    process.on('SIGINT', onSigint);
    this.output.write(`weir SQL shell. Statements end with ';'. Type HELP; for help, QUIT; or Ctrl-D to leave.\n\n`);
    this.open();
    let lines: string[] = [];
    try {
      for (;;) {
        for (const l of this.held.splice(0)) this.output.write(`${l}\n`);
        this.rl.setPrompt(lines.length === 0 ? PROMPT : CONTINUATION);
        this.rl.prompt(true);
        const n = await this.next();
        if (n.kind === 'interrupt') {
          lines = [];
          continue;
        }
        if (n.kind === 'eof') {
          this.output.write('\n');
          lines = [];
          if (await this.confirmQuit()) return 0;
          if (this.closed) this.open();
          continue;
        }
        lines.push(n.line);
        const text = lines.join('\n');
        if (text.trim() === '') {
          lines = [];
          continue;
        }
        const bare = text.trim().toLowerCase();
        const isBare = lines.length === 1 && BARE_COMMANDS.has(bare);
        if (!isBare && !isCompleteInput(text)) continue;
        lines = [];
        this.remember(text);
        this.busy = true;
        let result;
        try {
          result = await session.run(isBare ? `${bare};` : text);
        } finally {
          this.busy = false;
        }
        if (result === 'quit' && (await this.confirmQuit())) return 0;
      }
    } finally {
      process.off('SIGINT', onSigint);
      const rl = this.rl;
      this.rl = undefined as unknown as Interface;
      rl.close();
    }
  }

  /** One history entry per statement (readline added each line of it on its own). */
  private remember(text: string): void {
    this.history.add(text);
    this.historyLines.splice(0, this.historyLines.length, ...this.history.entries());
  }

  private async confirmQuit(): Promise<boolean> {
    const session = this.session!;
    const running = session.jobs.running();
    if (running.length > 0) {
      const names = running.map((j) => `${j.name} (${j.id})`).join(', ');
      const them = running.length === 1 ? 'it' : 'them';
      const answer = await this.ask(
        `${running.length} job${running.length === 1 ? ' is' : 's are'} running: ${names}.\nStop ${them} (with a final checkpoint) and quit? [y/N] `,
      );
      if (!/^y(es)?$/i.test(answer.trim())) return false;
      this.output.write(`[INFO] Stopping ${running.length} job${running.length === 1 ? '' : 's'}...\n`);
      await session.jobs.stopAll();
    }
    this.output.write('Goodbye.\n');
    return true;
  }

  /** Asks on the prompt's line editor; Ctrl-C or Ctrl-D answer no. */
  private async ask(question: string): Promise<string> {
    // Ctrl-D closed the line editor: open a new one on the same input.
    if (this.closed) this.open();
    const lines = question.split('\n');
    const last = lines.pop()!;
    if (lines.length > 0) this.output.write(`${lines.join('\n')}\n`);
    this.rl.setPrompt(last);
    this.rl.prompt();
    const n = await this.next();
    return n.kind === 'line' ? n.line : '';
  }
}
