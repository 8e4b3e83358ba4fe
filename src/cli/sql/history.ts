/**
 * The shell's statement history, kept across sessions in `$WEIR_HOME/sql_history` (WEIR_HOME
 * defaults to ~/.weir): one statement per line, oldest first. A statement typed over several
 * lines is kept as one entry (its lines joined by spaces), so Up recalls it whole.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const HISTORY_SIZE = 1000;

/** `$WEIR_HOME`, or ~/.weir. */
export function weirHome(): string {
  return process.env.WEIR_HOME ?? join(homedir(), '.weir');
}

export class History {
  /** Newest first, as node:readline wants it. */
  private readonly items: string[] = [];

  constructor(
    private readonly path: string | undefined,
    private readonly max = HISTORY_SIZE,
  ) {
    if (path === undefined) return;
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return; // no history yet
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    this.items = lines.slice(-max).reverse();
    // Keep the file from growing without bound.
    if (lines.length > 2 * max) this.rewrite();
  }

  /** Newest first. */
  entries(): string[] {
    return [...this.items];
  }

  add(statement: string): void {
    const entry = statement
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(' ');
    if (entry === '' || this.items[0] === entry) return;
    this.items.unshift(entry);
    if (this.items.length > this.max) this.items.length = this.max;
    if (this.path === undefined) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, `${entry}\n`, { mode: 0o600 });
    } catch {
      // History is a convenience: an unwritable home must not break the shell.
    }
  }

  private rewrite(): void {
    try {
      writeFileSync(this.path!, `${[...this.items].reverse().join('\n')}\n`, { mode: 0o600 });
    } catch {
      // as above
    }
  }
}
