/**
 * A bounded source of constant rows (SELECT without FROM reads one row of no columns). One split;
 * its position records whether the rows were emitted, so a restore does not emit them twice.
 */
import { type ChangeBatch, insertBatch } from '../model/changelog.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../runtime/source.js';

const SPLIT_ID = 'values';

export class ValuesSource implements Source {
  readonly bounded = true;

  constructor(
    private readonly rows: readonly (readonly unknown[])[],
    private readonly arity: number,
  ) {}

  async enumerate(): Promise<SplitPosition['split'][]> {
    return [{ id: SPLIT_ID }];
  }

  createReader(_ctx: SourceContext): SourceReader {
    return new ValuesReader(this.rows, this.arity);
  }

  describe(): string {
    return `values(rows=${this.rows.length})`;
  }
}

class ValuesReader implements SourceReader {
  private split: SplitPosition['split'] | undefined;
  private emitted = false;

  constructor(
    private readonly rows: readonly (readonly unknown[])[],
    private readonly arity: number,
  ) {}

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    this.split = splits.find((s) => s.id === SPLIT_ID);
    const r = restored.find((p) => p.split.id === SPLIT_ID);
    if (r && (r.finished || r.position === true)) this.emitted = true;
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    if (!this.split || this.emitted) return 'end';
    this.emitted = true;
    const columns: unknown[][] = [];
    for (let c = 0; c < this.arity; c++) columns.push(this.rows.map((r) => r[c]));
    return insertBatch(columns, this.rows.length);
  }

  positions(): SplitPosition[] {
    if (!this.split) return [];
    return [{ split: this.split, position: this.emitted, finished: this.emitted }];
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
