/**
 * 'connector' = 'nexmark': the Nexmark benchmark's Person / Auction / Bid streams, one table per
 * stream (`'table' = 'person' | 'auction' | 'bid'`), as the views over Flink's nexmark source
 * table. Tables over the same `events.num`, `tps`, `seed` and `base-time` see the same event
 * sequence, so joins between them match as in Flink's nexmark.
 *
 * Split k of n covers the table's events k, k + n, k + 2n, ... (in event-time order); its
 * position is the number of events it emitted, so a restore regenerates exactly the next events.
 */
import type { TableDef } from '../../src/catalog/table.js';
import { defineOptions, describeOptions, opt, optionError, validateOptions } from '../../src/connector/options.js';
import type { Schema } from '../../src/model/types.js';
import { internalError } from '../../src/errors.js';
import { insertBatch, type ChangeBatch } from '../../src/model/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { physicalFields, resolveColumns } from '../common/columns.js';
import { type GeneratedSplit, GeneratedSplits, RowThrottle, splitRows } from '../common/generated-splits.js';
import { eventNumber, eventsOfTable, NEXMARK_COLUMNS, NexmarkGenerator, type NexmarkTable } from './nexmark-generator.js';

export const NEXMARK_OPTIONS = defineOptions('nexmark', {
  table: opt.enum(['person', 'auction', 'bid'], "which Nexmark stream the table reads: 'person', 'auction' or 'bid'").default('bid'),
  'events.num': opt.int('number of events of all three kinds together (1:3:46); unbounded when absent', { min: 0 }),
  tps: opt.int("events per second of event time (the spacing of dateTime), as Flink nexmark's first-event.rate", { min: 1 }).default(10_000_000),
  'rows-per-second': opt.int('a wall-clock throttle: events per second across all subtasks (unthrottled when absent)', { min: 1 }),
  seed: opt.int('seed of the generated values').default(0),
  'base-time': opt.int('event time of event 0 in epoch milliseconds (fixed, so runs are reproducible)', { min: 0 }).default(1_436_918_400_000),
});

export const NEXMARK_BATCH_SIZE = 1024;

type Split = SplitPosition['split'];

function asSplit(s: Split): GeneratedSplit {
  const { id, index, of } = s as unknown as GeneratedSplit;
  if (typeof index !== 'number' || typeof of !== 'number') throw internalError(`not a nexmark split: ${JSON.stringify(s)}`);
  return { id, index, of };
}

interface Config {
  readonly table: NexmarkTable;
  readonly events: number;
  readonly tps: number;
  readonly rowsPerSecond: number;
  readonly seed: number;
  readonly baseTime: number;
}

function resolveConfig(table: TableDef): Config {
  const o = validateOptions(NEXMARK_OPTIONS, table);
  const which = o.table as NexmarkTable;
  const known = NEXMARK_COLUMNS[which];
  for (const f of physicalFields(table)) {
    const kind = known[f.name];
    const ok =
      kind === 'BIGINT'
        ? f.type.kind === 'BIGINT'
        : kind === 'STRING'
          ? f.type.kind === 'STRING' || f.type.kind === 'VARCHAR'
          : kind === 'TIMESTAMP'
            ? f.type.kind === 'TIMESTAMP'
            : false;
    if (!ok) {
      const cols = Object.entries(known)
        .map(([n, k]) => `${n} ${k === 'TIMESTAMP' ? 'TIMESTAMP(3)' : k}`)
        .join(', ');
      throw optionError(table, 'table', 'INVALID_OPTION', `column '${f.name}' is not a ${which} column of that type; the ${which} stream has: ${cols}`);
    }
  }
  return {
    table: which,
    events: o['events.num'] ?? Infinity,
    tps: o.tps,
    rowsPerSecond: o['rows-per-second'] ?? Infinity,
    seed: o.seed,
    baseTime: o['base-time'],
  };
}

export class NexmarkSource implements Source {
  readonly bounded: boolean;
  private readonly config: Config;

  constructor(
    private readonly tableDef: TableDef,
    private readonly schema: Schema,
  ) {
    this.config = resolveConfig(tableDef);
    resolveColumns(tableDef, schema, 'nexmark', []);
    this.bounded = this.config.events !== Infinity;
  }

  async enumerate(parallelism: number, restored: readonly SplitPosition[]): Promise<Split[]> {
    if (restored.length > 0) return restored.map((r) => r.split);
    const splits: Split[] = [];
    for (let k = 0; k < parallelism; k++) splits.push({ id: `nexmark-${this.config.table}-${k}-of-${parallelism}`, index: k, of: parallelism });
    return splits;
  }

  createReader(_ctx: SourceContext): SourceReader {
    return new NexmarkReader(this.config, this.schema);
  }

  describe(): string {
    return `nexmark(${describeOptions(this.tableDef)})`;
  }
}

class NexmarkReader implements SourceReader {
  private readonly splits = new GeneratedSplits<GeneratedSplit>();
  private readonly columns: ((e: number) => unknown)[];
  private throttle = new RowThrottle(Infinity, NEXMARK_BATCH_SIZE);

  constructor(
    private readonly config: Config,
    schema: Schema,
  ) {
    const gen = new NexmarkGenerator(config.seed, config.baseTime, config.tps);
    this.columns = schema.fields.map((f) => gen.column(config.table, f.name));
  }

  async assign(splits: readonly Split[], restored: readonly SplitPosition[]): Promise<void> {
    const pos = new Map(restored.map((r) => [r.split.id, r]));
    const total = eventsOfTable(this.config.table, this.config.events);
    for (const s of splits) {
      const split = asSplit(s);
      this.splits.add(split, splitRows(total, split.index, split.of), pos.get(split.id));
    }
    const states = this.splits.states;
    if (states.length > 0 && this.config.rowsPerSecond !== Infinity) {
      // The throttle counts events of all kinds: this table gets its share of them.
      const share = eventsOfTable(this.config.table, 50) / 50;
      this.throttle = new RowThrottle((this.config.rowsPerSecond * share * states.length) / states[0]!.split.of / 1000, NEXMARK_BATCH_SIZE);
    }
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    const state = this.splits.nextUnfinished();
    if (!state) return 'end';
    let want = Math.min(NEXMARK_BATCH_SIZE, state.rows - state.emitted);
    if (!this.throttle.unlimited) {
      const allowed = await this.throttle.allowed();
      if (allowed === 0) return undefined;
      want = Math.min(want, allowed);
    }
    const { index, of } = state.split;
    const table = this.config.table;
    const events = new Array<number>(want);
    for (let j = 0; j < want; j++) events[j] = eventNumber(table, index + (state.emitted + j) * of);
    const columns: unknown[][] = this.columns.map((gen) => {
      const col = new Array<unknown>(want);
      for (let j = 0; j < want; j++) col[j] = gen(events[j]!);
      return col;
    });
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
