import { insertBatch } from '../../../src/model/changelog.js';
import type { ChangeBatch } from '../../../src/model/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../../src/runtime/source.js';
import { type Schema, type as sqlType } from '../../../src/model/types.js';

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
  /**
   * Whether a split may emit its next batch, starting at `offset`; while false the split is idle
   * (poll() returns undefined when no split can emit). Tests hold the input back until a condition
   * holds (e.g. checkpoints completed), instead of hoping the job runs long enough.
   */
  gate?: (splitIndex: number, offset: number) => boolean;
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
    let held = false;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (this.offsets[i] >= this.o.rowsPerSplit) continue;
      if (this.o.gate !== undefined && !this.o.gate(this.splits[i].index, this.offsets[i])) {
        held = true;
        continue;
      }
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
    return held ? undefined : 'end';
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

/**
 * Checks that committed ids are, per split, exactly the first n ids of the split (nothing twice,
 * no gap): what an unbounded source's output must be after a stop. Returns the count per split.
 */
export function prefixCounts(o: SequenceSourceOptions, ids: readonly number[]): number[] {
  const base = Number.isFinite(o.rowsPerSplit) ? o.rowsPerSplit : 1e12;
  const bySplit: number[][] = Array.from({ length: o.splits }, () => []);
  for (const id of ids) bySplit[Math.floor(id / base)].push(id - Math.floor(id / base) * base);
  return bySplit.map((offsets, s) => {
    offsets.sort((a, b) => a - b);
    offsets.forEach((off, i) => {
      if (off !== i) throw new Error(`split ${s}: committed offsets are not 0..${offsets.length - 1} (offset ${off} at position ${i}: a row twice or a gap)`);
    });
    return offsets.length;
  });
}

/** Every id the source produces, for comparisons. */
export function allIds(o: SequenceSourceOptions): number[] {
  const out: number[] = [];
  for (let s = 0; s < o.splits; s++) for (let j = 0; j < o.rowsPerSplit; j++) out.push(s * o.rowsPerSplit + j);
  return out;
}
