/** What physical planning is configured with: the job's parallelism and the SET keys it reads. */
import { parseDuration } from '../config/duration.js';

export interface PlanConfig {
  readonly jobName: string;
  readonly parallelism: number;
  /** Every SET key of the job (table.exec.source.idle-timeout, ...); optional for tests. */
  readonly tableConfig?: ReadonlyMap<string, string>;
}

/** Flink's idle state retention for unbounded state (regular joins). */
export const STATE_TTL_KEY = 'table.exec.state.ttl';

/** table.exec.state.ttl in ms; 0 (keep state forever) when it is not set. */
export function stateTtlMs(config: PlanConfig): number {
  const ttlText = config.tableConfig?.get(STATE_TTL_KEY);
  return ttlText === undefined ? 0 : parseDuration(ttlText, STATE_TTL_KEY);
}
