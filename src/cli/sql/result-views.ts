/**
 * The printed result modes of a SELECT: `tableau` (a bordered table printed row by row as rows
 * arrive, with an `op` column when the query updates, then a summary line), `changelog` (the
 * same, always with the op column: +I, -U, +U, -D) and `table` without a terminal (the
 * materialized result printed once when the query ends). The live `table` view is in
 * live-table-view.ts.
 */
import type { Field } from '../../model/types.js';
import { ROW_KIND_SHORT, type ChangeBatch } from '../../model/changelog.js';
import { ResultStore } from './result-store.js';
import { plural, renderTable, streamingLayout, valueFormatters, type TableLayout, type ValueFormatter } from './result-format.js';
import type { ShellIO } from './shell-io.js';

export type ResultMode = 'table' | 'changelog' | 'tableau';
export const RESULT_MODES: readonly ResultMode[] = ['table', 'changelog', 'tableau'];

/** What a view may do to the query it shows. */
export interface QueryControl {
  /** Ends the query (the user quit the view); the runner then calls end('canceled'). */
  cancel(): void;
}

/**
 * A result view. The runner calls start() once the query is planned, receive() for every batch
 * (synchronously, in order), and end() exactly once; end() resolves when the view is closed
 * (a live view stays open on a finished query until the user quits it).
 */
export interface ResultView {
  start(fields: readonly Field[], updating: boolean, control: QueryControl): void;
  receive(batch: ChangeBatch): void;
  end(how: 'finished' | 'canceled' | 'failed'): Promise<void>;
}

/** tableau and changelog: rows printed as they come. */
export class StreamingView implements ResultView {
  private layout!: TableLayout;
  private fmt!: ValueFormatter[];
  private withOp = false;
  private rows = 0;
  private stopKeys: (() => void) | undefined;

  constructor(
    private readonly io: ShellIO,
    private readonly mode: 'tableau' | 'changelog',
  ) {}

  start(fields: readonly Field[], updating: boolean, control: QueryControl): void {
    this.withOp = this.mode === 'changelog' || updating;
    this.layout = streamingLayout(fields, this.withOp);
    this.fmt = valueFormatters(fields);
    this.io.out(`${this.layout.header().join('\n')}\n`);
    // On a terminal Ctrl-C or q ends the query (raw mode: Ctrl-C is a key, not a signal).
    if (this.io.terminal) {
      this.stopKeys = this.io.terminal.grabKeys((k) => {
        if (k === '\x03' || k === 'q' || k === 'Q') control.cancel();
      });
    }
  }

  receive(batch: ChangeBatch): void {
    const lines: string[] = [];
    const arity = this.fmt.length;
    for (let i = 0; i < batch.size; i++) {
      const cells: string[] = this.withOp ? [ROW_KIND_SHORT[batch.kinds[i]!]!] : [];
      for (let c = 0; c < arity; c++) cells.push(this.fmt[c]!(batch.columns[c]![i]));
      lines.push(this.layout.line(cells));
    }
    this.rows += batch.size;
    if (lines.length > 0) this.io.out(`${lines.join('\n')}\n`);
  }

  async end(how: 'finished' | 'canceled' | 'failed'): Promise<void> {
    this.stopKeys?.();
    this.stopKeys = undefined;
    if (this.layout === undefined) return;
    this.io.out(`${this.layout.border}\n`);
    if (how === 'finished') this.io.out(`Received a total of ${plural(this.rows, 'row')}\n`);
    else if (how === 'canceled') this.io.out(`Query terminated, received a total of ${plural(this.rows, 'row')}\n`);
  }
}

/** `table` mode without a terminal: the materialized result, printed when the query ends. */
export class FinalTableView implements ResultView {
  private store!: ResultStore;
  private fields: readonly Field[] = [];

  constructor(private readonly io: ShellIO) {}

  start(fields: readonly Field[]): void {
    this.fields = fields;
    this.store = new ResultStore(fields.length);
  }

  receive(batch: ChangeBatch): void {
    this.store.apply(batch);
  }

  async end(how: 'finished' | 'canceled' | 'failed'): Promise<void> {
    if (how === 'failed' || this.store === undefined) return;
    const rows = this.store.rows;
    if (rows.length === 0) this.io.out('Empty set\n');
    else this.io.out(`${renderTable(this.fields, rows)}\n${plural(rows.length, 'row')} in set${how === 'canceled' ? ' (query terminated)' : ''}\n`);
  }
}
