import { editDistance } from '../connector/options.js';
import { userError } from '../errors.js';
import { parseDuration } from './duration.js';

/**
 * Job configuration from `SET 'key' = 'value'` statements and `--set KEY=VALUE` flags, under
 * Flink's option names. Unknown keys are kept (Flink accepts any key) and reported as warnings,
 * so a typo does not pass silently.
 */
export interface JobConfig {
  pipelineName?: string;
  checkpointIntervalMs: number;
  checkpointMode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  checkpointTimeoutMs: number;
  checkpointMinPauseMs: number;
  numRetained: number;
  checkpointDir?: string;
  parallelism: number;
  restartStrategy: { type: 'none' } | { type: 'fixed-delay'; attempts: number; delayMs: number };
  savepointPath?: string;
  allowNonRestoredState: boolean;
  /** Every key as set, for SET listings and later issues (sql-client.*, table.exec.*). */
  raw: Map<string, string>;
}

type Setter = (c: JobConfig, value: string, key: string) => void;

function positiveInt(value: string, key: string, min = 1): number {
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < min) {
    throw userError('INVALID_CONFIG', `'${key}' must be an integer >= ${min}, got '${value}'`, { details: { key } });
  }
  return n;
}

function oneOf<T extends string>(value: string, key: string, allowed: readonly T[]): T {
  const v = value.trim().toUpperCase().replace(/-/g, '_');
  const hit = allowed.find((a) => a.toUpperCase().replace(/-/g, '_') === v);
  if (!hit) {
    throw userError('INVALID_CONFIG', `'${key}' must be one of ${allowed.join(', ')}, got '${value}'`, { details: { key } });
  }
  return hit;
}

function positiveDuration(value: string, key: string): number {
  const ms = parseDuration(value, key);
  if (ms <= 0) throw userError('INVALID_CONFIG', `'${key}' must be a duration > 0, got '${value}'`, { details: { key } });
  return ms;
}

function fixedDelay(c: JobConfig): { type: 'fixed-delay'; attempts: number; delayMs: number } {
  if (c.restartStrategy.type !== 'fixed-delay') c.restartStrategy = { type: 'fixed-delay', attempts: 3, delayMs: 1000 };
  return c.restartStrategy as { type: 'fixed-delay'; attempts: number; delayMs: number };
}

function bool(value: string, key: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw userError('INVALID_CONFIG', `'${key}' must be true or false, got '${value}'`, { details: { key } });
}

const SETTERS: Record<string, Setter> = {
  'pipeline.name': (c, v) => (c.pipelineName = v),
  'execution.checkpointing.interval': (c, v, k) => (c.checkpointIntervalMs = parseDuration(v, k)),
  'execution.checkpointing.mode': (c, v, k) => (c.checkpointMode = oneOf(v, k, ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const)),
  'execution.checkpointing.timeout': (c, v, k) => (c.checkpointTimeoutMs = positiveDuration(v, k)),
  'execution.checkpointing.min-pause': (c, v, k) => (c.checkpointMinPauseMs = parseDuration(v, k)),
  'state.checkpoints.num-retained': (c, v, k) => (c.numRetained = positiveInt(v, k)),
  'state.checkpoints.dir': (c, v) => (c.checkpointDir = v.replace(/^file:\/\//, '')),
  'execution.checkpointing.dir': (c, v) => (c.checkpointDir = v.replace(/^file:\/\//, '')),
  'parallelism.default': (c, v, k) => (c.parallelism = positiveInt(v, k)),
  'restart-strategy.type': (c, v, k) => {
    const t = oneOf(v, k, ['fixed-delay', 'none', 'disable'] as const);
    if (t === 'fixed-delay') fixedDelay(c);
    else c.restartStrategy = { type: 'none' };
  },
  'restart-strategy': (c, v, k) => SETTERS['restart-strategy.type'](c, v, k),
  'restart-strategy.fixed-delay.attempts': (c, v, k) => (fixedDelay(c).attempts = positiveInt(v, k, 0)),
  'restart-strategy.fixed-delay.delay': (c, v, k) => (fixedDelay(c).delayMs = parseDuration(v, k)),
  'execution.savepoint.path': (c, v) => (c.savepointPath = v.replace(/^file:\/\//, '')),
  'execution.savepoint.ignore-unclaimed-state': (c, v, k) => (c.allowNonRestoredState = bool(v, k)),
};

/**
 * Prefixes of Flink planner and client keys that job files written for Flink often carry; weir
 * does not read them (yet) and does not warn about them. Keys under the prefixes weir does read
 * (execution., state., pipeline., restart-strategy.) are warned about, so a typo of a key that
 * matters, such as 'execution.checkpointing.intervall', does not pass silently.
 */
const PASS_THROUGH = ['table.', 'sql-client.'];

export function defaultJobConfig(): JobConfig {
  return {
    checkpointIntervalMs: 10_000,
    checkpointMode: 'EXACTLY_ONCE',
    checkpointTimeoutMs: 600_000,
    checkpointMinPauseMs: 0,
    numRetained: 1,
    parallelism: 1,
    restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 1000 },
    allowNonRestoredState: false,
    raw: new Map(),
  };
}

export const KNOWN_CONFIG_KEYS: readonly string[] = Object.keys(SETTERS);

/**
 * Applies one key. Returns a warning when the key is unknown to weir (it is still kept).
 * Invalid values of known keys are user errors naming the key and what is allowed.
 */
export function applyConfig(c: JobConfig, key: string, value: string): string | undefined {
  const k = key.trim();
  c.raw.set(k, value);
  const setter = SETTERS[k];
  if (setter) {
    setter(c, value, k);
    return undefined;
  }
  if (PASS_THROUGH.some((p) => k.startsWith(p))) return undefined;
  const hint = closestKey(k);
  return `unknown configuration key '${k}' (kept, but weir does not read it)${hint ? `; did you mean '${hint}'?` : ''}`;
}

function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const known of KNOWN_CONFIG_KEYS) {
    const d = editDistance(key.toLowerCase(), known);
    if (d < bestDist) {
      bestDist = d;
      best = known;
    }
  }
  return bestDist <= Math.max(2, Math.floor(key.length / 8)) ? best : undefined;
}

export function resetConfig(c: JobConfig, key?: string): JobConfig {
  if (key === undefined) return defaultJobConfig();
  const fresh = defaultJobConfig();
  const raw = new Map(c.raw);
  raw.delete(key);
  for (const [k, v] of raw) applyConfig(fresh, k, v);
  return fresh;
}

/** What the planner reads from a job's configuration: parallelism and the `table.*` keys. */
export function planOptions(c: JobConfig): { parallelism: number; tableConfig: ReadonlyMap<string, string> } {
  return { parallelism: c.parallelism, tableConfig: c.raw };
}
