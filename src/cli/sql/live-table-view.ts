/**
 * The `table` result mode on a terminal (as Flink's SQL client): the materialized result on the
 * alternate screen, redrawn in place at the refresh rate as updates and retractions arrive, with
 * the row count, the refresh rate and a footer of keys: q (or Ctrl-C) quits, + / - change the
 * refresh rate, arrows and page keys scroll. A bounded query's final result stays on screen
 * until the user quits.
 */
import type { Field } from '../../model/types.js';
import type { ChangeBatch } from '../../model/changelog.js';
import { ResultStore } from './result-store.js';
import { contentLayout, plural, valueFormatters, type ValueFormatter } from './result-format.js';
import type { QueryControl, ResultView } from './result-views.js';
import type { Terminal } from './shell-io.js';

export const REFRESH_STEPS_MS = [100, 250, 500, 1000, 2000, 5000, 10000] as const;
const DEFAULT_REFRESH_STEP = 2;
/** Lines around the table: status, blank, three borders/header lines, bottom border, blank, footer. */
const CHROME_LINES = 7;

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export class LiveTableView implements ResultView {
  private store!: ResultStore;
  private fields: readonly Field[] = [];
  private fmt: ValueFormatter[] = [];
  private control!: QueryControl;
  private step = DEFAULT_REFRESH_STEP;
  private timer: NodeJS.Timeout | undefined;
  private stopKeys: (() => void) | undefined;
  private state: 'RUNNING' | 'FINISHED' | 'CANCELED' = 'RUNNING';
  private offset = 0;
  private open = false;
  private quitRequested = false;
  private ended = false;
  private closed: (() => void) | undefined;
  private readonly onResize = (): void => this.render();

  constructor(private readonly term: Terminal) {}

  start(fields: readonly Field[], _updating: boolean, control: QueryControl): void {
    this.fields = fields;
    this.fmt = valueFormatters(fields);
    this.store = new ResultStore(fields.length);
    this.control = control;
    this.open = true;
    this.term.output.write(ENTER);
    this.stopKeys = this.term.grabKeys((k) => this.onKey(k));
    this.term.output.on('resize', this.onResize);
    this.schedule();
    this.render();
  }

  receive(batch: ChangeBatch): void {
    this.store.apply(batch);
  }

  end(how: 'finished' | 'canceled' | 'failed'): Promise<void> {
    this.ended = true;
    if (!this.open) return Promise.resolve();
    if (how === 'finished' && !this.quitRequested) {
      this.state = 'FINISHED';
      this.render();
      return new Promise<void>((resolve) => (this.closed = resolve));
    }
    this.state = how === 'finished' ? 'FINISHED' : 'CANCELED';
    this.close();
    return Promise.resolve();
  }

  private onKey(k: string): void {
    switch (k) {
      case 'q':
      case 'Q':
      case '\x03':
        this.quit();
        return;
      case '+':
        this.step = Math.max(0, this.step - 1);
        break;
      case '-':
        this.step = Math.min(REFRESH_STEPS_MS.length - 1, this.step + 1);
        break;
      case '\x1b[A':
        this.offset = Math.max(0, this.offset - 1);
        break;
      case '\x1b[B':
        this.offset++;
        break;
      case '\x1b[5~':
        this.offset = Math.max(0, this.offset - this.pageRows());
        break;
      case '\x1b[6~':
        this.offset += this.pageRows();
        break;
      default:
        return;
    }
    this.schedule();
    this.render();
  }

  private quit(): void {
    if (this.quitRequested) return;
    this.quitRequested = true;
    if (this.ended) {
      this.close();
      this.closed?.();
    } else {
      this.control.cancel();
    }
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.render(), REFRESH_STEPS_MS[this.step]);
  }

  private pageRows(): number {
    return Math.max(1, (this.term.output.rows ?? 24) - CHROME_LINES);
  }

  private render(): void {
    if (!this.open) return;
    const width = this.term.output.columns ?? 80;
    const height = this.term.output.rows ?? 24;
    const rows = this.store.rows;
    const page = this.pageRows();
    this.offset = Math.min(this.offset, Math.max(0, rows.length - page));
    const visible = rows.slice(this.offset, this.offset + page);
    const cells = visible.map((r) => r.map((v, c) => this.fmt[c]!(v)));
    const layout = contentLayout(this.fields, cells);
    const now = new Date();
    const clock = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}:${String(now.getSeconds()).padStart(2, '0')}`;
    const lines = [
      ` ${this.state} | ${plural(rows.length, 'row')} | ${plural(this.store.changes, 'change')} received | refresh ${REFRESH_STEPS_MS[this.step]} ms | updated ${clock}`,
      '',
      ...layout.header(),
      ...cells.map((r) => layout.line(r)),
      layout.border,
    ];
    while (lines.length < height - 1) lines.push('');
    const shown = rows.length === 0 ? 'no rows' : `rows ${this.offset + 1}-${this.offset + visible.length} of ${rows.length}`;
    lines.length = height - 1;
    lines.push(` q quit, + / - refresh (faster / slower), arrows scroll | ${shown}`);
    const text = lines.map((l) => (l.length > width ? l.slice(0, width) : l)).join('\x1b[K\r\n');
    this.term.output.write(`\x1b[H${text}\x1b[K\x1b[J`);
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.term.output.off('resize', this.onResize);
    this.stopKeys?.();
    this.term.output.write(LEAVE);
    const how = this.state === 'FINISHED' ? 'Query finished' : 'Query terminated';
    this.term.output.write(`${how}, ${plural(this.store.rows.length, 'row')} in the result (${plural(this.store.changes, 'change')} received)\n`);
  }
}
