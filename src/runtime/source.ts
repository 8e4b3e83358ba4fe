import type { ChangeBatch } from '../model/changelog.js';
import type { JsonValue } from './operator.js';
import type { Schema } from '../model/types.js';
import type { Logger } from '../log.js';

/** A split of a source (a sequence range, a file, a Kafka partition, a table) and where it is. */
export interface SplitPosition {
  /** The split itself: JSON with at least an `id` (the same in every run). */
  readonly split: { readonly id: string } & { readonly [k: string]: JsonValue };
  /** Where to resume: everything before it has been emitted. Connector-specific JSON. */
  readonly position: JsonValue;
  readonly finished?: boolean;
}

export interface SourceContext {
  readonly jobName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** The columns the reader must produce, in this order (projection pushed into the source). */
  readonly schema: Schema;
  readonly log: Logger;
  /** How many completed checkpoints the job keeps ('state.checkpoints.num-retained'); 1 if absent. */
  readonly retainedCheckpoints?: number;
  /** Counters such as 'parse-errors-skipped'. */
  inc(name: string, by?: number): void;
  /** Sets a gauge such as 'lag-bytes' or 'lag-ms' (the status line shows the largest per name). */
  gauge?(name: string, value: number): void;
  /** Progress of a long task such as a table's snapshot (`total` undefined when unknown). */
  progress?(task: string, done: number, total: number | undefined): void;
}

/**
 * One per source subtask. The source task calls these one at a time, never concurrently: between
 * two polls it may capture positions() for a barrier, so positions() must describe exactly the
 * rows returned by polls so far.
 */
export interface SourceReader {
  /** Takes its splits; `restored` holds their positions from the restored checkpoint. */
  assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void>;
  /** The next batch; 'end' when every split is finished (bounded sources); undefined when idle. */
  poll(): Promise<ChangeBatch | 'end' | undefined>;
  positions(): SplitPosition[];
  /** The ONLY place that acknowledges positions to the outside world (LSNs, group offsets). */
  notifyCheckpointComplete(checkpointId: number): Promise<void>;
  close(): Promise<void>;
}

/** A planned source table: enumerates splits and creates readers. */
export interface Source {
  /** True when all splits end (datagen with number-of-rows or sequence, files). */
  readonly bounded: boolean;
  /**
   * 'updating' when the reader emits -U/+U/-D rows (a CDC source); insert-only when absent.
   * The planner uses it to derive the changelog mode of everything downstream.
   */
  readonly changelogMode?: 'insert-only' | 'updating';
  /**
   * Set by an upsert source: its rows are keyed by `keyFields` (names of its output columns, which
   * the planner always keeps), +I/+U rows may repeat a key, -D rows need only the key columns, and
   * it may emit truncate markers and UNCHANGED_VALUE placeholders (src/runtime/changelog.ts). The
   * planner follows it with a changelog-normalize operator hashed by the key. `tableField` names
   * the output column holding each row's table name when the source reads several tables.
   */
  readonly normalize?: { readonly keyFields: readonly string[]; readonly tableField?: string };
  /**
   * The splits to read. On a restore `restored` holds the splits recorded in the checkpoint;
   * a source whose split set is fixed at the first start (datagen) returns those.
   */
  enumerate(parallelism: number, restored: readonly SplitPosition[]): Promise<SplitPosition['split'][]>;
  createReader(ctx: SourceContext): SourceReader;
  /** Option values safe to show in EXPLAIN (no secrets). */
  describe(): string;
}
