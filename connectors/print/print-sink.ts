/**
 * 'connector' = 'print': writes every row to stdout (or stderr) when it arrives, as Flink prints
 * it: `<identifier>:<subtask>> +I[a, b]` (the subtask, 1-based, only with parallelism > 1).
 * No transactions: printing cannot be undone, so rows show up before their checkpoint completes.
 */
import type { TableDef } from '../../src/catalog/table.js';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { ROW_KIND_SHORT } from '../../src/model/changelog.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { defineOptions, describeOptions, opt, validateOptions } from '../../src/connector/options.js';
import { formatValue } from './format-value.js';

export const PRINT_OPTIONS = defineOptions('print', {
  'print-identifier': opt.string('prefix of every printed line'),
  'standard-error': opt.bool('print to standard error instead of standard output').default(false),
});

/** Where lines go; process.stdout by default (tests pass their own). */
export interface LineOutput {
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export class PrintSink implements Sink {
  readonly acceptsUpdates = true;
  private readonly identifier: string;
  private readonly toStderr: boolean;

  constructor(
    private readonly table: TableDef,
    private readonly schema: Schema,
    private readonly output?: LineOutput,
  ) {
    const o = validateOptions(PRINT_OPTIONS, table);
    this.identifier = o['print-identifier'] ?? '';
    this.toStderr = o['standard-error'];
  }

  createWriter(ctx: SinkContext): TwoPhaseCommitSink {
    let prefix = this.identifier;
    if (ctx.parallelism > 1) prefix += `${prefix ? ':' : ''}${ctx.subtaskIndex + 1}`;
    if (prefix) prefix += '> ';
    const out = this.output ?? (this.toStderr ? process.stderr : process.stdout);
    return new PrintWriter(prefix, this.schema, out);
  }

  describe(): string {
    return `print(${describeOptions(this.table)})`;
  }
}

class PrintWriter implements TwoPhaseCommitSink<null, null> {
  constructor(
    private readonly prefix: string,
    private readonly schema: Schema,
    private readonly out: LineOutput,
  ) {}

  async open(): Promise<void> {}
  async recover(): Promise<void> {}
  async begin(): Promise<null> {
    return null;
  }

  async write(_txn: null, batch: ChangeBatch): Promise<void> {
    const fields = this.schema.fields;
    const lines: string[] = new Array(batch.size);
    const vals: string[] = new Array(fields.length);
    for (let i = 0; i < batch.size; i++) {
      for (let c = 0; c < fields.length; c++) vals[c] = formatValue(batch.columns[c][i], fields[c].type);
      lines[i] = `${this.prefix}${ROW_KIND_SHORT[batch.kinds[i]]}[${vals.join(', ')}]\n`;
    }
    if (!this.out.write(lines.join(''))) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  async preCommit(): Promise<null> {
    return null;
  }
  async commit(): Promise<void> {}
  async abort(): Promise<void> {}
  async close(): Promise<void> {}
}
