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
import { type GeneratedSplit, GeneratedSplits, RowThrottle, splitRows } from '../common/generated-splits.js';
import { columnGenerator, makeStringPool, type ColumnGen, type GenEnv } from './generators.js';
import { resolveDatagenConfig, type DatagenConfig } from './datagen-options.js';

export const DATAGEN_BATCH_SIZE = 1024;

type Split = SplitPosition['split'];

interface DatagenSplit extends GeneratedSplit {
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

class DatagenReader implements SourceReader {
  private readonly splits = new GeneratedSplits<DatagenSplit>();
  private gens: ColumnGen[] = [];
  private throttle = new RowThrottle(Infinity, DATAGEN_BATCH_SIZE);

  constructor(
    private readonly table: TableDef,
    private readonly config: DatagenConfig,
    private readonly schema: Schema,
  ) {}

  async assign(splits: readonly Split[], restored: readonly SplitPosition[]): Promise<void> {
    const pos = new Map(restored.map((r) => [r.split.id, r]));
    for (const s of splits) {
      const split = asDatagenSplit(s);
      this.splits.add(split, splitRows(this.config.totalRows, split.index, split.of), pos.get(split.id));
    }
    const states = this.splits.states;
    if (states.length === 0) return;
    const env: GenEnv = {
      seed: this.config.seed,
      baseTime: states[0]!.split.baseTime,
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
    const of = states[0]!.split.of;
    this.throttle = new RowThrottle((this.config.rowsPerSecond * states.length) / of / 1000, DATAGEN_BATCH_SIZE);
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    const state = this.splits.nextUnfinished();
    if (!state) return 'end';
    let want = Math.min(DATAGEN_BATCH_SIZE, state.rows - state.emitted);
    if (!this.throttle.unlimited) {
      const allowed = await this.throttle.allowed();
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
    this.throttle.emitted(want);
    return insertBatch(columns, want);
  }

  positions(): SplitPosition[] {
    return this.splits.positions();
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {
    this.splits.clear();
  }
}
