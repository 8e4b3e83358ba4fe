import type { TableDef } from '../../src/catalog/table.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { defineOptions, validateOptions } from '../../src/connector/options.js';

export const BLACKHOLE_OPTIONS = defineOptions('blackhole', {});

/** 'connector' = 'blackhole': swallows every row (benchmarks); counts what it got. */
export class BlackholeSink implements Sink {
  readonly acceptsUpdates = true;
  /** Rows received by all writers of this sink. */
  rows = 0;

  constructor(private readonly table: TableDef) {
    validateOptions(BLACKHOLE_OPTIONS, table);
  }

  createWriter(_ctx: SinkContext): TwoPhaseCommitSink {
    const sink = this;
    const writer: TwoPhaseCommitSink<null, null> = {
      async open() {},
      async recover() {},
      async begin() {
        return null;
      },
      async write(_txn: null, batch: ChangeBatch) {
        sink.rows += batch.size;
      },
      async preCommit() {
        return null;
      },
      async commit() {},
      async abort() {},
      async close() {},
    };
    return writer as unknown as TwoPhaseCommitSink;
  }

  describe(): string {
    return `blackhole(table=${this.table.name})`;
  }
}
