import { escapeControlChars, isWeirError } from '../errors.js';

/**
 * Prints an error the way a user should see it: user errors as one line (with the file and SQL
 * position when known), external errors with what failed, internal errors with the stack.
 * Returns the process exit code.
 */
export function reportError(err: unknown, file?: string): number {
  if (isWeirError(err)) {
    const shownFile = file === undefined ? undefined : escapeControlChars(file);
    const where = err.position
      ? `${shownFile ? `${shownFile}:` : ''}${err.position.line}:${err.position.column}: `
      : shownFile && err.code.startsWith('SQL')
        ? `${shownFile}: `
        : '';
    if (err.domain === 'internal') {
      process.stderr.write(`internal error (a bug in weir): ${err.message}\n${err.stack ?? ''}\n`);
      if (err.cause instanceof Error) process.stderr.write(`caused by: ${err.cause.stack ?? err.cause.message}\n`);
      return 70;
    }
    process.stderr.write(`error: ${where}${err.message}\n`);
    if (err.domain === 'external' && err.cause instanceof Error && process.env.WEIR_DEBUG) {
      process.stderr.write(`caused by: ${err.cause.stack ?? err.cause.message}\n`);
    }
    return 1;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`internal error (a bug in weir): ${e.stack ?? e.message}\n`);
  return 70;
}
