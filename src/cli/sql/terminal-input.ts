/**
 * The keyboard of an interactive session. Standard input stays in raw mode for the whole session
 * and every key goes either to the prompt's line editor (node:readline reads a proxy stream that
 * lives as long as the session, so type-ahead and pasted statements are never lost between
 * statements) or, while a result view shows, to that view alone.
 */
import { PassThrough } from 'node:stream';
import type { Terminal } from './shell-io.js';

export class TerminalInput {
  /** What readline reads. */
  readonly stream: PassThrough;
  private grabber: ((key: string) => void) | undefined;
  private readonly onData = (data: string): void => {
    const grab = this.grabber;
    if (grab === undefined) {
      this.stream.write(data);
      return;
    }
    // Escape sequences (arrows, page keys) arrive whole; anything else is one key per character.
    if (data.startsWith('\x1b')) grab(data);
    else for (const ch of data) grab(ch);
  };

  constructor(private readonly stdin: NodeJS.ReadStream) {
    this.stream = new PassThrough({ encoding: 'utf8' });
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', this.onData);
    stdin.resume();
  }

  terminal(output: NodeJS.WriteStream): Terminal {
    return {
      output,
      grabKeys: (onKey) => {
        this.grabber = onKey;
        return () => {
          if (this.grabber === onKey) this.grabber = undefined;
        };
      },
    };
  }

  close(): void {
    this.stdin.off('data', this.onData);
    this.stdin.setRawMode(false);
    this.stdin.pause();
    this.stream.end();
  }
}
