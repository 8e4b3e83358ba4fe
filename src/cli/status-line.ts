import type { JobStatus } from '../runtime/job.js';

/**
 * The live status line of a running job: state, input rows and rate, output rows, the last
 * checkpoint (id, duration, size) and uptime. On a terminal it redraws one line in place; when
 * stderr is not a terminal it prints a line every `plainEveryMs`.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private lastRows = 0;
  private lastAt = Date.now();
  private lastPlain = 0;
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
    if (this.tty) this.out.write('\n');
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
    if (this.tty) this.out.write(`\r\x1b[2K${line}`);
    else if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.out.write(`${line}\n`);
    }
  }

  /** `average`: the rate over the whole run (the end-of-job line) instead of since the last tick. */
  private render(s: JobStatus, average = false): string {
    const now = Date.now();
    const dt = Math.max(1, average ? now - s.startedAt : now - this.lastAt) / 1000;
    const rate = (average ? s.rowsIn : s.rowsIn - this.lastRows) / dt;
    this.lastRows = s.rowsIn;
    this.lastAt = now;
    const parts = [
      `${this.jobName}`,
      s.state,
      `in ${fmtCount(s.rowsIn)} rows (${fmtCount(rate)}/s)`,
      `out ${fmtCount(s.rowsOut)}`,
      s.lastCheckpoint
        ? `chk ${s.lastCheckpoint.id} (${s.lastCheckpoint.durationMs} ms, ${fmtBytes(s.lastCheckpoint.sizeBytes)})`
        : 'chk -',
      `up ${fmtUptime(now - s.startedAt)}`,
    ];
    if (s.restarts > 0) parts.push(`restarts ${s.restarts}`);
    const skipped = s.counters['parse-errors-skipped'];
    if (skipped) parts.push(`skipped ${skipped}`);
    return parts.join(' | ');
  }
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
