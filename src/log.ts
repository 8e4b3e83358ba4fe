import { pino } from 'pino';

/**
 * Structured logging (pino). Logs are JSON lines on stderr, or in a file with WEIR_LOG_FILE.
 * Anything that looks like a secret is redacted, wherever it sits in the logged object.
 */
export type Logger = pino.Logger;

const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'options.password',
  'properties.sasl.password',
  '*["properties.sasl.password"]',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

export function createLogger(level: string = process.env.WEIR_LOG_LEVEL ?? 'warn'): Logger {
  const file = process.env.WEIR_LOG_FILE;
  // Synchronous: a process that exits right after logging (every command ends with process.exit)
  // keeps its last lines, and an asynchronous file not yet open would make the exit throw.
  const destination = file ? pino.destination({ dest: file, sync: true, mkdir: true }) : pino.destination(2);
  return pino({ level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '***' } }, destination);
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
