import type { Signal } from './channel.js';
import type { SourceVertex } from './job-graph.js';
import type { TaskEnv } from './operator-task.js';
import type { SourceContext, SourceReader, SplitPosition } from './source.js';
import type { Barrier } from './stream-element.js';
import { Mailbox, yieldToEventLoop } from './task-common.js';
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
      this.env.opened();
      await this.loop(reader);
      closed = true;
      await reader.close();
    } finally {
      this.exited = true;
      this.mailbox.close();
      if (!closed && this.reader !== undefined) await this.reader.close().catch(() => undefined);
    }
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
        const positions = reader.positions();
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
      if (r.size > 0) {
        this.onRows(r.size);
        output.emit(r);
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
