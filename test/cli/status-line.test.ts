import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/job/job-status.js';
import { StatusLine, stateText } from '../../src/cli/status-line.js';

class Capture extends Writable {
  text = '';
  columns = 160;
  rows = 40;
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function status(progress: JobStatus['progress'], gauges: JobStatus['gauges'] = {}): JobStatus {
  return {
    state: 'RUNNING',
    startedAt: Date.now() - 5000,
    rowsIn: 1500,
    rowsOut: 10,
    restarts: 0,
    checkpointsCompleted: 1,
    checkpointsFailed: 0,
    counters: {},
    gauges,
    progress,
  };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('status line', () => {
  it('prints snapshot progress and the replication lag in plain lines when not on a terminal', async () => {
    const out = new Capture(false);
    const s = status(
      { 'snapshot public.orders': { done: 500, total: 1000 }, 'snapshot public.items': { done: 20, total: 20 } },
      { 'lag-bytes': 2048, 'lag-ms': 1500 },
    );
    const line = new StatusLine('job', () => s, out as unknown as NodeJS.WriteStream, 0);
    line.start(5);
    await tick(30);
    line.stop();
    expect(out.text).toContain('snapshot public.orders 50% (500/1000 rows)');
    expect(out.text).not.toContain('snapshot public.items'); // done tasks drop out
    expect(out.text).toContain('lag 2.0 KiB / 1.5 s');
  });

  it('draws one progress bar per table above the status line on a terminal, then goes back to one line', async () => {
    const out = new Capture(true);
    let s = status({ 'snapshot public.orders': { done: 250, total: 1000 } });
    const line = new StatusLine('job', () => s, out as unknown as NodeJS.WriteStream);
    line.start(5);
    await tick(400);
    expect(out.text).toMatch(/snapshot public\.orders \[[█░]+\]\s+25% \| 250\/1000 rows \| [\d.k]+ rows\/s \| ETA/);
    expect(out.text).toContain('job | RUNNING');
    s = status({ 'snapshot public.orders': { done: 1000, total: 1000 } }, { 'lag-bytes': 0 });
    await tick(400);
    expect(out.text).toMatch(/100% \| 1000\/1000 rows/);
    const after = out.text.length;
    await tick(100);
    // Bars finished: the plain in-place line is back.
    expect(out.text.slice(after)).toContain('\r\x1b[2Kjob | RUNNING');
    line.stop();
  });

  it('shows RESTARTING with the attempt, the wait and the cause, and prints a plain line at once when the state changes', async () => {
    const now = Date.now();
    const cause = 'PostgreSQL at 127.0.0.1:5432/postgres: connect of table "public"."out" failed: connect ECONNREFUSED 127.0.0.1:5432';
    const restarting: JobStatus = { ...status({}), state: 'RESTARTING', restarts: 3, restart: { attempt: 3, at: now + 4200, cause } };
    expect(stateText(restarting, now)).toBe(`RESTARTING (attempt 3, next in 5s: ${cause})`);
    // the wait is over: the restart is under way
    expect(stateText({ ...restarting, restart: { attempt: 3, cause } }, now)).toBe(`RESTARTING (attempt 3: ${cause})`);
    expect(stateText(status({}), now)).toBe('RUNNING');

    const out = new Capture(false);
    let s = status({});
    // plain lines only every hour, except on a change of state
    const line = new StatusLine('job', () => s, out as unknown as NodeJS.WriteStream, 3_600_000);
    line.start(5);
    while (!out.text.includes('| RUNNING |')) await tick(5);
    // far enough ahead that a loaded machine still renders the wait
    s = { ...restarting, restart: { attempt: 3, at: Date.now() + 3_600_000, cause } };
    while (!out.text.includes('RESTARTING (attempt 3')) await tick(5);
    line.stop();
    expect(out.text).toMatch(/^job \| RESTARTING \(attempt 3, next in 360\ds: PostgreSQL at .*ECONNREFUSED 127\.0\.0\.1:5432\) \| in /m);
    expect(out.text).toContain('restarts 3');
  });
});
