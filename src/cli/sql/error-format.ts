/**
 * Errors in the shell: `[ERROR] where: message`, then for an error with a SQL position the
 * statement's line and a caret under the column. Internal errors keep their stack (a bug report
 * needs it); user and external errors never show one.
 */
import { escapeControlChars, isWeirError } from '../../errors.js';

/** The text the statement came from and where its first line is in the file or session. */
export interface ErrorSource {
  readonly text: string;
  /** Line number (1-based) of `text`'s first line in positions. */
  readonly firstLine: number;
  /** A file name to prefix positions with (`-f`, `-i`). */
  readonly file?: string;
}

export function formatShellError(err: unknown, source?: ErrorSource): string {
  if (!isWeirError(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    return `[ERROR] internal error (a bug in weir): ${e.stack ?? e.message}\n`;
  }
  if (err.domain === 'internal') {
    const cause = err.cause instanceof Error ? `\ncaused by: ${err.cause.stack ?? err.cause.message}` : '';
    return `[ERROR] internal error (a bug in weir): ${err.message}\n${err.stack ?? ''}${cause}\n`;
  }
  const p = err.position;
  const where = p ? `${source?.file ? `${escapeControlChars(source.file)}:` : ''}${p.line}:${p.column}: ` : '';
  let out = `[ERROR] ${where}${err.message}\n`;
  if (p && source) {
    const line = source.text.split('\n')[p.line - source.firstLine];
    if (line !== undefined) {
      const raw = line.replace(/\r$/, '');
      // The line is shown escaped (it is the user's text: NUL, ESC, ...), and the caret is placed
      // under the escaped text; tabs stay tabs so it lines up whatever the terminal's tab width.
      const before = escapeControlChars(raw.slice(0, Math.max(0, p.column - 1)));
      const pad = before.replace(/[^\t]/g, ' ');
      out += `${before}${escapeControlChars(raw.slice(Math.max(0, p.column - 1)))}\n${pad}^\n`;
    }
  }
  return out;
}
