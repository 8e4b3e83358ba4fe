/**
 * Where the shell writes and, on a terminal, where it reads keys from. Results and [INFO] lines go
 * to `out` (stdout), [ERROR] lines to `err` (stderr).
 */
export interface ShellIO {
  out(text: string): void;
  err(text: string): void;
  /** Present when the shell runs on a terminal (interactive): live views and key handling. */
  readonly terminal?: Terminal;
}

/** The terminal of an interactive session: where views draw, and keys for them. */
export interface Terminal {
  readonly output: NodeJS.WriteStream;
  /**
   * Sends every key to `onKey` (and nowhere else, so the prompt's line editor does not see them)
   * until the returned function is called. Keys arrive raw: Ctrl-C is '\x03', arrows are escape
   * sequences.
   */
  grabKeys(onKey: (key: string) => void): () => void;
}

export function processIO(terminal?: Terminal): ShellIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    ...(terminal ? { terminal } : {}),
  };
}
