import { insertBatch } from '../../../src/runtime/changelog.js';
import type { ChangeBatch } from '../../../src/runtime/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../../src/runtime/source.js';
import { type Schema, type as sqlType } from '../../../src/expr/types.js';

/** (id BIGINT, k INT, v BIGINT): id counts from split * rowsPerSplit, k = id % keys, v = id. */
export const SEQUENCE_SCHEMA: Schema = {
  fields: [
    { name: 'id', type: sqlType('BIGINT', false) },
    { name: 'k', type: sqlType('INT', false) },
    { name: 'v', type: sqlType('BIGINT', false) },
  ],
};

export interface SequenceSourceOptions {
  splits: number;
  /** Infinity for an unbounded source. */
  rowsPerSplit: number;
  batchSize: number;
  keys?: number;
  /** Delay before each poll of a split (throttles the source so checkpoints happen mid-run). */
  delayMs?: number | ((splitIndex: number) => number);
}

type Split = SplitPosition['split'] & { readonly index: number };

class SequenceReader implements SourceReader {
  private splits: Split[] = [];
  private offsets: number[] = [];
  private next = 0;

  constructor(
    private readonly o: SequenceSourceOptions,
    readonly ctx: SourceContext,
  ) {}

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    this.splits = splits as Split[];
    this.offsets = this.splits.map((s) => {
      const r = restored.find((p) => p.split.id === s.id);
      return r ? (r.position as number) : 0;
    });
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    const n = this.splits.length;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (this.offsets[i] >= this.o.rowsPerSplit) continue;
      this.next = (i + 1) % n;
      const split = this.splits[i];
      const d = typeof this.o.delayMs === 'function' ? this.o.delayMs(split.index) : (this.o.delayMs ?? 0);
      if (d > 0) await new Promise((r) => setTimeout(r, d));
      const start = this.offsets[i];
      const count = Math.min(this.o.batchSize, this.o.rowsPerSplit - start);
      const base = split.index * (Number.isFinite(this.o.rowsPerSplit) ? this.o.rowsPerSplit : 1e12);
      const ids = new Array(count);
      const ks = new Array(count);
      const keys = this.o.keys ?? 10;
      for (let j = 0; j < count; j++) {
        const id = base + start + j;
        ids[j] = id;
        ks[j] = id % keys;
      }
      this.offsets[i] = start + count;
      return insertBatch([ids, ks, ids.slice()], count);
    }
    return 'end';
  }

  positions(): SplitPosition[] {
    return this.splits.map((split, i) => ({
      split,
      position: this.offsets[i],
      ...(this.offsets[i] >= this.o.rowsPerSplit ? { finished: true } : {}),
    }));
  }

  async notifyCheckpointComplete(): Promise<void> {}
  async close(): Promise<void> {}
}

export function sequenceSource(o: SequenceSourceOptions): Source {
  return {
    bounded: Number.isFinite(o.rowsPerSplit),
    async enumerate(_parallelism, restored) {
      if (restored.length > 0) return restored.map((p) => p.split);
      return Array.from({ length: o.splits }, (_, i) => ({ id: `s${i}`, index: i }));
    },
    createReader: (ctx) => new SequenceReader(o, ctx),
    describe: () => `sequence(${o.splits} x ${o.rowsPerSplit})`,
  };
}

/** Every id the source produces, for comparisons. */
export function allIds(o: SequenceSourceOptions): number[] {
  const out: number[] = [];
  for (let s = 0; s < o.splits; s++) for (let j = 0; j < o.rowsPerSplit; j++) out.push(s * o.rowsPerSplit + j);
  return out;
}
