import cliProgress from 'cli-progress';
import type { JobStatus } from '../job/job-status.js';

/**
 * The live status line of a running job: state (while restarting, which attempt, when and why),
 * input rows and rate, output rows, the last checkpoint (id, duration, size), the sources' lag and
 * uptime. On a terminal it redraws one line in place, and while long tasks run (table snapshots)
 * one progress bar per task above it (cli-progress, with rows/s and ETA); when stderr is not a
 * terminal it prints a line every `plainEveryMs` and whenever the state changes, with the tasks'
 * percentages.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private lastRows = 0;
  private lastAt = Date.now();
  private lastPlain = 0;
  /** State (and restart attempt) of the last plain line: a change is printed at once. */
  private lastPlainState = '';
  private readonly tty: boolean;

  constructor(
    private readonly jobName: string,
    private readonly status: () => JobStatus,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 10_000,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  start(tickMs = 500): void {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.multi) {
      this.multi.stop();
      this.multi = undefined;
      this.barsDone = true;
    } else if (this.tty) this.out.write('\n');
  }

  /** Prints the current line once more, e.g. at the end of a job. */
  final(): void {
    const line = this.render(this.status(), true);
    if (this.tty) this.out.write(`\r\x1b[2K${line}\n`);
    else this.out.write(`${line}\n`);
  }

  private tick(): void {
    const s = this.status();
    const line = this.render(s);
    if (this.tty) {
      if (this.showBars(s)) this.updateBars(s, line);
      else this.out.write(`\r\x1b[2K${line}`);
    } else {
      const state = `${s.state}${s.restart ? ` ${s.restart.attempt}` : ''}`;
      if (Date.now() - this.lastPlain >= this.plainEveryMs || state !== this.lastPlainState) {
        this.lastPlain = Date.now();
        this.lastPlainState = state;
        this.out.write(`${line}\n`);
      }
    }
  }

  private multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private statusBar: cliProgress.SingleBar | undefined;
  private barsDone = false;

  /** Bars while some task runs; once all are done they stay printed and the single line resumes. */
  private showBars(s: JobStatus): boolean {
    if (this.barsDone) return false;
    const tasks = Object.values(s.progress);
    if (tasks.length === 0) return false;
    if (tasks.every((t) => t.total !== undefined && t.done >= t.total) && this.multi) {
      this.updateBars(s, this.render(s));
      this.multi.stop();
      this.multi = undefined;
      this.barsDone = true;
      return false;
    }
    return true;
  }

  private updateBars(s: JobStatus, line: string): void {
    if (!this.multi) {
      this.out.write('\r\x1b[2K');
      this.multi = new cliProgress.MultiBar(
        {
          stream: this.out,
          format: '{task} [{bar}] {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}',
          barsize: 30,
          hideCursor: false,
          clearOnComplete: false,
          autopadding: true,
          fps: 4,
        },
        cliProgress.Presets.shades_classic,
      );
    }
    const width = Math.max(...Object.keys(s.progress).map((t) => t.length));
    for (const [task, p] of Object.entries(s.progress)) {
      let bar = this.bars.get(task);
      const total = p.total ?? Math.max(p.done, 1);
      if (!bar) {
        bar = this.multi.create(total, p.done, { task: task.padEnd(width), speed: '0' });
        this.bars.set(task, bar);
        if (this.statusBar) {
          // Keep the status line last.
          this.multi.remove(this.statusBar);
          this.statusBar = undefined;
        }
      }
      let started = this.taskStart.get(task);
      if (started === undefined) this.taskStart.set(task, (started = { at: Date.now(), done: p.done }));
      const secs = Math.max(0.001, (Date.now() - started.at) / 1000);
      bar.setTotal(total);
      bar.update(p.done, { task: task.padEnd(width), speed: fmtCount((p.done - started.done) / secs) });
    }
    this.statusBar ??= this.multi.create(1, 0, { line }, { format: '{line}' });
    this.statusBar.update(0, { line });
  }

  private readonly taskStart = new Map<string, { at: number; done: number }>();

  /** `average`: the rate over the whole run (the end-of-job line) instead of since the last tick. */
  private render(s: JobStatus, average = false): string {
    const now = Date.now();
    const dt = Math.max(1, average ? now - s.startedAt : now - this.lastAt) / 1000;
    const rate = (average ? s.rowsIn : s.rowsIn - this.lastRows) / dt;
    this.lastRows = s.rowsIn;
    this.lastAt = now;
    const parts = [
      `${this.jobName}`,
      stateText(s, now),
      `in ${fmtCount(s.rowsIn)} rows (${fmtCount(rate)}/s)`,
      `out ${fmtCount(s.rowsOut)}`,
      s.lastCheckpoint ? `chk ${s.lastCheckpoint.id} (${s.lastCheckpoint.durationMs} ms, ${fmtBytes(s.lastCheckpoint.sizeBytes)})` : 'chk -',
      `up ${fmtUptime(now - s.startedAt)}`,
    ];
    const lagBytes = s.gauges['lag-bytes'];
    const lagMs = s.gauges['lag-ms'];
    if (lagBytes !== undefined || lagMs !== undefined) {
      parts.push(
        `lag ${[lagBytes !== undefined ? fmtBytes(lagBytes) : '', lagMs !== undefined ? `${(lagMs / 1000).toFixed(1)} s` : ''].filter(Boolean).join(' / ')}`,
      );
    }
    if (!this.tty || average) {
      for (const [task, p] of Object.entries(s.progress)) {
        if (p.total !== undefined && p.done >= p.total) continue;
        parts.push(`${task} ${p.total ? `${Math.floor((100 * p.done) / p.total)}% ` : ''}(${fmtCount(p.done)}${p.total ? `/${fmtCount(p.total)}` : ''} rows)`);
      }
    }
    if (s.restarts > 0) parts.push(`restarts ${s.restarts}`);
    const skipped = s.counters['parse-errors-skipped'];
    if (skipped) parts.push(`skipped ${skipped}`);
    return parts.join(' | ');
  }
}

/** `RESTARTING (attempt 3, next in 5s: <cause>)` while a restart waits, the plain state otherwise. */
export function stateText(s: JobStatus, now: number = Date.now()): string {
  const r = s.restart;
  if (s.state !== 'RESTARTING' || r === undefined) return s.state;
  const wait = r.at !== undefined && r.at > now ? `, next in ${Math.ceil((r.at - now) / 1000)}s` : '';
  return `RESTARTING (attempt ${r.attempt}${wait}: ${r.cause})`;
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}
