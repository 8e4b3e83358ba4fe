import type { Signal } from './channel.js';
import type { SourceVertex } from './job-graph.js';
import type { TaskEnv } from './operator-task.js';
import type { SourceContext, SourceReader, SplitPosition } from './source.js';
import type { Barrier } from './stream-element.js';
import { Mailbox, yieldToEventLoop } from './task-common.js';
import { SourceWatermarks } from './source-watermarks.js';
import type { TaskOutput } from './task-output.js';
import { MAX_WATERMARK } from './watermark.js';

/** How long an idle reader (poll() returned undefined) waits before polling again. */
const IDLE_WAIT_MS = 10;
/** A busy source lets timers and I/O run at least this often. */
const YIELD_EVERY_MS = 4;

/**
 * One subtask of a source vertex. Polls its reader and emits batches; between two batches it
 * emits requested barriers (recording the reader's positions for the checkpoint). A finished
 * reader stays alive and keeps answering barriers until the job ends it (after the final
 * checkpoint). After a final barrier it stops polling (stop-with-savepoint), unless resumed.
 */
export class SourceTask {
  readonly mailbox: Mailbox;
  private reader: SourceReader | undefined;
  /** Per-split watermark generation, when the table declares a WATERMARK. */
  private watermarks: SourceWatermarks | undefined;
  private readonly barriers: Barrier[] = [];
  private cancelled = false;
  private endRequested = false;
  /** A final barrier was emitted: no more polling (unless the final checkpoint is aborted). */
  private halted = false;
  finished = false;
  exited = false;

  constructor(
    readonly vertex: SourceVertex,
    readonly subtask: number,
    private readonly splits: readonly SplitPosition['split'][],
    private readonly restored: readonly SplitPosition[],
    private readonly output: TaskOutput,
    private readonly signal: Signal,
    private readonly context: SourceContext,
    private readonly env: TaskEnv,
    private readonly onRows: (n: number) => void,
    private readonly onFinished: () => void,
    /** Split watermarks of the restored checkpoint, by split id. */
    private readonly restoredWatermarks: ReadonlyMap<string, number> = new Map(),
  ) {
    this.mailbox = new Mailbox(signal);
  }

  get label(): string {
    return `${this.vertex.name} (${this.subtask + 1}/${this.vertex.parallelism})`;
  }

  requestBarrier(barrier: Barrier): void {
    this.barriers.push(barrier);
    this.signal.notify();
  }

  /** The final checkpoint completed: emit `end` and exit. */
  requestEnd(): void {
    this.endRequested = true;
    this.signal.notify();
  }

  /** The final checkpoint of a stop was aborted: keep reading. */
  resume(): void {
    this.halted = false;
    this.signal.notify();
  }

  cancel(): void {
    this.cancelled = true;
    this.signal.notify();
  }

  notifyComplete(checkpointId: number): Promise<void> {
    return this.mailbox.enqueue(() => this.reader?.notifyCheckpointComplete(checkpointId));
  }

  notifyAborted(checkpointId: number): Promise<void> {
    return this.mailbox.enqueue(() => {
      // A barrier not yet emitted for an aborted checkpoint would only make the gates align in vain.
      const i = this.barriers.findIndex((b) => b.checkpointId === checkpointId);
      if (i >= 0) this.barriers.splice(i, 1);
    });
  }

  async run(): Promise<void> {
    let closed = false;
    try {
      const reader = this.vertex.source.createReader(this.context);
      this.reader = reader;
      await reader.assign(this.splits, this.restored);
      const spec = this.vertex.watermarks;
      if (spec !== undefined) this.watermarks = new SourceWatermarks(spec, this.restoredWatermarks, reader.positions());
      this.env.opened();
      // Read only once every task is open: sinks that open slowly (DuckDB DDL, PostgreSQL recovery)
      // would otherwise compete for the event loop with rows already flowing, and no checkpoint
      // can start before all tasks run.
      while (!this.env.allOpen() && !this.halted && !this.endRequested) await this.signal.waitTimeout(10);
      await this.loop(reader);
      closed = true;
      await reader.close();
    } finally {
      this.exited = true;
      this.mailbox.close();
      if (!closed && this.reader !== undefined) await this.reader.close().catch(() => undefined);
    }
  }

  private emitWatermark(w: number | 'idle' | undefined): void {
    if (w === undefined) return;
    if (w === 'idle') this.output.emitIdle();
    else this.output.emitWatermark(w);
  }

  private async loop(reader: SourceReader): Promise<void> {
    const output = this.output;
    const signal = this.signal;
    let lastYield = performance.now();
    for (;;) {
      signal.reset();
      if (this.cancelled) return;
      if (this.mailbox.hasWork) {
        await this.mailbox.runAll();
        continue;
      }
      if (this.barriers.length > 0) {
        const barrier = this.barriers.shift()!;
        const positions = this.watermarks !== undefined ? this.watermarks.wrap(reader.positions()) : reader.positions();
        output.emitBarrier(barrier);
        this.env.acknowledge(this.env.attempt, this.vertex.uid, this.subtask, barrier.checkpointId, { kind: 'source', positions });
        if (barrier.final) this.halted = true;
        if (output.hasFull()) await output.waitWritable();
        continue;
      }
      if (this.endRequested) {
        await this.mailbox.runAll();
        output.emitEnd();
        return;
      }
      if (this.finished || this.halted) {
        await signal.wait();
        continue;
      }
      const r = await reader.poll();
      if (r === undefined) {
        if (this.watermarks !== undefined) this.emitWatermark(this.watermarks.poll());
        await signal.waitTimeout(IDLE_WAIT_MS);
        continue;
      }
      if (r === 'end') {
        this.finished = true;
        // As a bounded Flink source: the end of input fires every event-time timer and window,
        // before the final checkpoint so their output is covered by it.
        output.emitWatermark(MAX_WATERMARK);
        this.onFinished();
        continue;
      }
      if (r.size > 0 || r.truncate !== undefined) {
        this.onRows(r.size);
        output.emit(r);
        const wm = this.watermarks;
        if (wm !== undefined) {
          wm.onBatch(r, reader.positions());
          this.emitWatermark(wm.poll());
        }
        if (output.hasFull()) await output.waitWritable();
      }
      const now = performance.now();
      if (now - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    }
  }
}
