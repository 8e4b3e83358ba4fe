/**
 * How the `weir` process ends without losing output. Writes to a pipe are asynchronous in Node:
 * what the reader has not taken yet waits in the stream, and `process.exit()` drops it (a script
 * of 2,000 statements piped into a slow reader delivered 538 result lines, exit code 0). Every
 * command therefore ends through `exitWhenFlushed`, which exits only once both streams have
 * handed everything to the operating system.
 */
import { createLogger } from '../log.js';

type OutputStream = NodeJS.WriteStream;

/** Resolves once everything written to `stream` before this call has been written out (or the stream is gone). */
export function flushed(stream: OutputStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  // Writes complete in order: the callback of an empty write runs after every earlier write.
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * A reader that goes away (`weir checkpoints list | head -1`) makes the next write fail with
 * EPIPE, which Node throws as an unhandled 'error' event with a stack trace. Output nobody reads
 * is dropped instead; the command itself ends as it would have (a job still takes its final
 * checkpoint).
 */
export function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

/**
 * Exits with `code` once stdout and stderr are flushed. Exiting explicitly (rather than letting the
 * event loop drain) keeps open handles (DuckDB, timers, sockets) from holding a finished command
 * alive. A reader that never reads keeps the process waiting, as any program blocks on a full pipe.
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  // Let callbacks that are already due (a last status line, a log write) queue their output first.
  await new Promise((resolve) => setImmediate(resolve));
  const pending = process.stdout.writableLength + process.stderr.writableLength;
  if (pending > 0) createLogger().debug({ pendingBytes: pending }, 'waiting for the output to be read before exiting');
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
