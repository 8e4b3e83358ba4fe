import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/runtime/job.js';
import { StatusLine } from '../../src/cli/status-line.js';

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
  return { state: 'RUNNING', startedAt: Date.now() - 5000, rowsIn: 1500, rowsOut: 10, restarts: 0, checkpointsCompleted: 1, checkpointsFailed: 0, counters: {}, gauges, progress };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('status line', () => {
  it('prints snapshot progress and the replication lag in plain lines when not on a terminal', async () => {
    const out = new Capture(false);
    const s = status({ 'snapshot public.orders': { done: 500, total: 1000 }, 'snapshot public.items': { done: 20, total: 20 } }, { 'lag-bytes': 2048, 'lag-ms': 1500 });
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
});
