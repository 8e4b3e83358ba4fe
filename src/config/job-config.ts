import { userError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';
import { KEY_GROUPS } from '../model/partition.js';
import type { RestartStrategy } from './restart-config.js';
import { STATE_BACKEND_TYPES, type StateBackendType } from './state-backend-type.js';
import { boolValue, durationValue, enumValue, intValue, localPathValue, MAX_TIMER_MS } from './config-values.js';
import { checkRestartKey, isRestartKey, RESTART_KEYS, restartStrategyOf } from './restart-config.js';

/**
 * Job configuration from `SET 'key' = 'value'` statements and `--set KEY=VALUE` flags, under
 * Flink's option names. Every key weir reads is checked when it is set (a value out of range or
 * malformed is a user error naming the key, the value and what is allowed); unknown keys are kept
 * (Flink accepts any key) and reported as warnings, so a typo does not pass silently.
 */
export interface JobConfig {
  pipelineName?: string;
  checkpointIntervalMs: number;
  checkpointMode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  checkpointTimeoutMs: number;
  checkpointMinPauseMs: number;
  numRetained: number;
  /** execution.checkpointing.incremental: checkpoints write only what changed since the last one. */
  incrementalCheckpoints: boolean;
  checkpointDir?: string;
  parallelism: number;
  /** Derived from the restart-strategy.* keys and the checkpoint interval (src/config/restart-config.ts). */
  restartStrategy: RestartStrategy;
  savepointPath?: string;
  allowNonRestoredState: boolean;
  /** state.backend.type: where operators' keyed state lives. */
  stateBackend: StateBackendType;
  /** state.backend.local-dir: where the rocksdb backend keeps its working files (default: under the checkpoint dir). */
  stateLocalDir?: string;
  /** Every key as set, for SET listings and the keys read elsewhere (sql-client.*, table.exec.*). */
  raw: Map<string, string>;
}

type Setter = (c: JobConfig, value: string, key: string) => void;

/** Flink's minimum checkpoint interval and timeout (CheckpointConfig.MINIMAL_CHECKPOINT_TIME). */
const MIN_CHECKPOINT_MS = 10;

/** The job name is a folder name under the checkpoint dir: it must not climb out of it. */
function jobName(value: string): string {
  if (value.trim() === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw userError(
      'INVALID_JOB_NAME',
      `invalid job name '${value}' (from 'pipeline.name'): it names the checkpoint folder, so it cannot be empty, '.', '..' or contain '/' or '\\'`,
      { details: { key: 'pipeline.name' } },
    );
  }
  return value;
}

const SETTERS: Record<string, Setter> = {
  'pipeline.name': (c, v) => (c.pipelineName = jobName(v)),
  'execution.checkpointing.interval': (c, v, k) =>
    (c.checkpointIntervalMs = durationValue(v, k, { min: MIN_CHECKPOINT_MS, max: MAX_TIMER_MS, zeroMeans: 'no periodic checkpoints' })),
  'execution.checkpointing.mode': (c, v, k) => (c.checkpointMode = enumValue(v, k, ['EXACTLY_ONCE', 'AT_LEAST_ONCE'] as const)),
  'execution.checkpointing.timeout': (c, v, k) => (c.checkpointTimeoutMs = durationValue(v, k, { min: MIN_CHECKPOINT_MS, max: MAX_TIMER_MS })),
  'execution.checkpointing.min-pause': (c, v, k) => (c.checkpointMinPauseMs = durationValue(v, k, { max: MAX_TIMER_MS })),
  'state.checkpoints.num-retained': (c, v, k) => (c.numRetained = intValue(v, k, 1)),
  'execution.checkpointing.incremental': (c, v, k) => (c.incrementalCheckpoints = boolValue(v, k)),
  // Flink 1.x's name of the same option (deprecated there, still read).
  'state.backend.incremental': (c, v, k) => (c.incrementalCheckpoints = boolValue(v, k)),
  'state.checkpoints.dir': (c, v, k) => (c.checkpointDir = localPathValue(v, k)),
  'execution.checkpointing.dir': (c, v, k) => (c.checkpointDir = localPathValue(v, k)),
  // Keys are hashed into KEY_GROUPS key groups (Flink's max parallelism); a subtask owns at least one.
  'parallelism.default': (c, v, k) => (c.parallelism = intValue(v, k, 1, KEY_GROUPS)),
  'execution.savepoint.path': (c, v, k) => (c.savepointPath = localPathValue(v, k)),
  'execution.savepoint.ignore-unclaimed-state': (c, v, k) => (c.allowNonRestoredState = boolValue(v, k)),
  'state.backend.type': (c, v, k) => (c.stateBackend = enumValue(v, k, STATE_BACKEND_TYPES)),
  'state.backend.local-dir': (c, v, k) => (c.stateLocalDir = localPathValue(v, k)),
  // Flink 1.x's name of the same option (still read there).
  'state.backend.rocksdb.localdir': (c, v, k) => (c.stateLocalDir = localPathValue(v, k)),
  ...Object.fromEntries(RESTART_KEYS.map((key): [string, Setter] => [key, (_c, v, k) => checkRestartKey(k, v)])),
};

/**
 * Keys read outside this module, checked here so a bad value fails at SET and not when (or
 * whether) the planner reads it. The names are those of src/plan/physical-config.ts (STATE_TTL_KEY),
 * src/plan/source-watermark.ts (IDLE_TIMEOUT_CONFIG) and src/cli/sql/session.ts (RESULT_MODE_KEY);
 * test/config/config-validation.test.ts keeps them in step.
 */
const READ_ELSEWHERE: Record<string, (value: string, key: string) => unknown> = {
  'table.exec.state.ttl': (v, k) => durationValue(v, k),
  'table.exec.source.idle-timeout': (v, k) => durationValue(v, k),
  'sql-client.execution.result-mode': (v, k) => enumValue(v, k, ['table', 'changelog', 'tableau'] as const),
};

/**
 * Prefixes of Flink planner and client keys that job files written for Flink often carry; weir
 * does not read them (yet) and does not warn about them. Keys under the prefixes weir does read
 * (execution., state., pipeline., restart-strategy.) are warned about, so a typo of a key that
 * matters, such as 'execution.checkpointing.intervall', does not pass silently.
 */
const PASS_THROUGH = ['table.', 'sql-client.'];

export function defaultJobConfig(): JobConfig {
  const c: JobConfig = {
    checkpointIntervalMs: 10_000,
    checkpointMode: 'EXACTLY_ONCE',
    checkpointTimeoutMs: 600_000,
    checkpointMinPauseMs: 0,
    numRetained: 1,
    incrementalCheckpoints: false,
    parallelism: 1,
    restartStrategy: { type: 'none' },
    allowNonRestoredState: false,
    stateBackend: 'hashmap',
    raw: new Map(),
  };
  c.restartStrategy = restartStrategyOf(c.raw, true);
  return c;
}

/** Every key weir reads (for completion and "did you mean"), apart from the shell's sql-client.* keys. */
export const KNOWN_CONFIG_KEYS: readonly string[] = [...Object.keys(SETTERS), ...Object.keys(READ_ELSEWHERE).filter((k) => !k.startsWith('sql-client.'))];

/**
 * Applies one key. Returns a warning when the key is unknown to weir (it is still kept).
 * An invalid value of a key weir reads is a user error naming the key, the value and what is
 * allowed, and leaves the configuration as it was.
 */
export function applyConfig(c: JobConfig, key: string, value: string): string | undefined {
  const k = key.trim();
  // hasOwn: a key such as 'constructor' must not find Object.prototype's
  const setter = Object.hasOwn(SETTERS, k) ? SETTERS[k] : undefined;
  const check = Object.hasOwn(READ_ELSEWHERE, k) ? READ_ELSEWHERE[k] : undefined;
  if (setter) setter(c, value, k);
  else if (check) check(value, k);
  c.raw.set(k, value);
  if (isRestartKey(k) || k === 'execution.checkpointing.interval') c.restartStrategy = restartStrategyOf(c.raw, c.checkpointIntervalMs > 0);
  if (setter || check) return undefined;
  const hint = closestKey(k);
  if (PASS_THROUGH.some((p) => k.startsWith(p))) {
    // Flink has many table.* keys weir does not read; only a near miss of one it reads is worth a word.
    return hint && Object.hasOwn(READ_ELSEWHERE, hint) ? `configuration key '${k}' is not read by weir; did you mean '${hint}'?` : undefined;
  }
  return `unknown configuration key '${k}' (kept, but weir does not read it)${hint ? `; did you mean '${hint}'?` : ''}`;
}

function closestKey(key: string): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const known of [...KNOWN_CONFIG_KEYS, ...Object.keys(READ_ELSEWHERE)]) {
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
