/**
 * The datagen source. Rows are numbered by a global index g = 0, 1, 2, ...; split k of n covers
 * g = k, k + n, k + 2n, ... and its position is the number of rows it has emitted. Since every
 * value is a pure function of (g, field, seed), resuming a split at a position regenerates
 * exactly the rows a failed run would have produced next.
 */
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { insertBatch } from '../../src/model/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { internalError } from '../../src/errors.js';
import { describeOptions } from '../../src/connector/options.js';
import { resolveColumns } from '../common/columns.js';
import { columnGenerator, makeStringPool, type ColumnGen, type GenEnv } from './generators.js';
import { resolveDatagenConfig, type DatagenConfig } from './datagen-options.js';

export const DATAGEN_BATCH_SIZE = 1024;
/** The longest poll() sleeps waiting for the throttle, so barriers are never held up long. */
const MAX_THROTTLE_WAIT_MS = 50;

type Split = SplitPosition['split'];

interface DatagenSplit {
  readonly id: string;
  /** k: this split covers global rows k, k + of, k + 2*of, ... */
  readonly index: number;
  readonly of: number;
  /** Wall clock of the first start (virtual time of row 0 for temporal random values). */
  readonly baseTime: number;
}

function asDatagenSplit(s: Split): DatagenSplit {
  const { id, index, of, baseTime } = s as unknown as DatagenSplit;
  if (typeof index !== 'number' || typeof of !== 'number' || typeof baseTime !== 'number') {
    throw internalError(`not a datagen split: ${JSON.stringify(s)}`);
  }
  return { id, index, of, baseTime };
}

/** Rows in split k of n when the source has `total` rows. */
function splitRows(total: number, k: number, n: number): number {
  return total === Infinity ? Infinity : Math.max(0, Math.ceil((total - k) / n));
}

let sharedPool: { seed: number; pool: string } | undefined;
function stringPool(seed: number): string {
  if (sharedPool?.seed !== seed) sharedPool = { seed, pool: makeStringPool(seed) };
  return sharedPool.pool;
}

export class DatagenSource implements Source {
  readonly bounded: boolean;
  private readonly config: DatagenConfig;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    /** For tests: a fixed base time instead of the wall clock at the first start. */
    private readonly now: () => number = Date.now,
  ) {
    this.config = resolveDatagenConfig(table);
    resolveColumns(table, schema, 'datagen', []);
    this.bounded = this.config.totalRows !== Infinity;
  }

  async enumerate(parallelism: number, restored: readonly SplitPosition[]): Promise<Split[]> {
    if (restored.length > 0) return restored.map((r) => r.split);
    const baseTime = this.now();
    const splits: Split[] = [];
    for (let k = 0; k < parallelism; k++) splits.push({ id: `datagen-${k}-of-${parallelism}`, index: k, of: parallelism, baseTime });
    return splits;
  }

  /** Produces the schema given to createSource (the planner's projection; ctx.schema is the same). */
  createReader(_ctx: SourceContext): SourceReader {
    return new DatagenReader(this.table, this.config, this.schema);
  }

  describe(): string {
    return `datagen(${describeOptions(this.table)})`;
  }
}

interface SplitState {
  readonly split: DatagenSplit;
  readonly rows: number;
  emitted: number;
}

class DatagenReader implements SourceReader {
  private splits: SplitState[] = [];
  private gens: ColumnGen[] = [];
  private next = 0;
  /** Throttle: rows this reader may emit per ms, and what it emitted since `startedAt`. */
  private ratePerMs = Infinity;
  private startedAt = 0;
  private emittedSinceStart = 0;

  constructor(
    private readonly table: TableDef,
    private readonly config: DatagenConfig,
    private readonly schema: Schema,
  ) {}

  async assign(splits: readonly Split[], restored: readonly SplitPosition[]): Promise<void> {
    const pos = new Map(restored.map((r) => [r.split.id, r]));
    for (const s of splits) {
      const split = asDatagenSplit(s);
      const r = pos.get(split.id);
      const emitted = typeof r?.position === 'number' ? r.position : 0;
      this.splits.push({ split, rows: splitRows(this.config.totalRows, split.index, split.of), emitted });
    }
    if (this.splits.length === 0) return;
    const env: GenEnv = {
      seed: this.config.seed,
      baseTime: this.splits[0].split.baseTime,
      rowsPerSecond: this.config.rowsPerSecond,
      stringPool: this.schema.fields.some((f) => f.type.kind === 'CHAR' || f.type.kind === 'VARCHAR' || f.type.kind === 'STRING')
        ? stringPool(this.config.seed)
        : '',
    };
    this.gens = this.schema.fields.map((f) => {
      const spec = this.config.fields.get(f.name);
      if (!spec) throw internalError(`datagen: no generator for column '${f.name}' of '${this.table.name}'`);
      return columnGenerator(f.name, f.type, spec, env);
    });
    const of = this.splits[0].split.of;
    this.ratePerMs = (this.config.rowsPerSecond * this.splits.length) / of / 1000;
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    const state = this.nextUnfinished();
    if (!state) return 'end';
    let want = Math.min(DATAGEN_BATCH_SIZE, state.rows - state.emitted);
    if (this.ratePerMs !== Infinity) {
      const allowed = await this.throttle();
      if (allowed === 0) return undefined;
      want = Math.min(want, allowed);
    }
    const { index, of } = state.split;
    const g0 = index + state.emitted * of;
    const columns: unknown[][] = new Array(this.gens.length);
    for (let c = 0; c < this.gens.length; c++) {
      const col = new Array<unknown>(want);
      this.gens[c](col, g0, of, want);
      columns[c] = col;
    }
    state.emitted += want;
    this.emittedSinceStart += want;
    return insertBatch(columns, want);
  }

  /** Round-robin over unfinished splits, so a reader with several splits interleaves them. */
  private nextUnfinished(): SplitState | undefined {
    for (let i = 0; i < this.splits.length; i++) {
      const s = this.splits[(this.next + i) % this.splits.length];
      if (s.emitted < s.rows) {
        this.next = (this.next + i + 1) % this.splits.length;
        return s;
      }
    }
    return undefined;
  }

  /**
   * Rows that may be emitted now. Below ~50k rows/s this waits until a batch worth ~20 ms of rows
   * is due (at most MAX_THROTTLE_WAIT_MS), so slow sources emit few small batches, not many tiny ones.
   */
  private async throttle(): Promise<number> {
    const rate = this.ratePerMs;
    const minBatch = Math.max(1, Math.min(DATAGEN_BATCH_SIZE, Math.floor(rate * 20)));
    let now = performance.now();
    if (this.startedAt === 0) {
      // Start with one batch due, so the first poll emits at once.
      this.startedAt = now - minBatch / rate;
      this.emittedSinceStart = 0;
    }
    // After a stall (backpressure, a slow checkpoint) do not burst more than one second's worth.
    const maxBacklog = Math.max(DATAGEN_BATCH_SIZE, rate * 1000);
    if ((now - this.startedAt) * rate - this.emittedSinceStart > maxBacklog) {
      this.startedAt = now - (this.emittedSinceStart + maxBacklog) / rate;
    }
    let allowed = Math.floor((now - this.startedAt) * rate) - this.emittedSinceStart;
    if (allowed >= minBatch) return allowed;
    const waitMs = Math.min(MAX_THROTTLE_WAIT_MS, (minBatch - allowed) / rate);
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(waitMs))));
    now = performance.now();
    allowed = Math.floor((now - this.startedAt) * rate) - this.emittedSinceStart;
    return Math.max(0, allowed);
  }

  positions(): SplitPosition[] {
    return this.splits.map((s) => ({
      split: s.split as unknown as Split,
      position: s.emitted,
      ...(s.emitted >= s.rows ? { finished: true } : {}),
    }));
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {
    this.splits = [];
  }
}
