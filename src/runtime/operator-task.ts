import type { CheckpointAck } from './checkpoint-ack.js';
import { unreachable } from '../errors.js';
import type { Signal } from './channel.js';
import type { InputGate } from './input-gate.js';
import type { OperatorVertex } from './job-graph.js';
import { forwardedWatermark, type Operator, type OperatorContext } from './operator.js';
import type { Barrier } from './stream-element.js';
import type { KeyedStateSnapshot } from '../state/state-backend.js';
import { Mailbox } from './task-common.js';
import type { TaskOutput } from './task-output.js';

export interface TaskEnv {
  readonly attempt: number;
  acknowledge(attempt: number, uid: string, subtask: number, checkpointId: number, ack: CheckpointAck): void;
  /** Called once the task is open (operator opened / reader assigned). */
  opened(): void;
  /** True once every task of the execution is open. */
  allOpen(): boolean;
}

/**
 * One subtask of an operator vertex: opens the operator, then loops over its input gate. Mailbox
 * actions (checkpoint notifications) run between elements, so the operator sees one call at a
 * time. Ends when every input ended: closes the operator and sends `end` downstream.
 */
export class OperatorTask {
  readonly mailbox: Mailbox;
  private operator: Operator | undefined;
  private cancelled = false;
  private closed = false;
  exited = false;
  /** The checkpoint (not savepoint) of the last snapshot, and the newest one known complete. */
  private lastSnapshotId = 0;
  private completedId = 0;
  /** Keyed-state snapshots still being written (asynchronous snapshots), and the first to fail. */
  private readonly snapshotsInFlight = new Set<Promise<void>>();
  /** Per checkpoint whose asynchronous snapshot is in flight: aborts it (notifyAborted, the task's end). */
  private readonly snapshotAborts = new Map<number, AbortController>();
  private snapshotError: unknown = undefined;

  constructor(
    readonly vertex: OperatorVertex,
    readonly subtask: number,
    private readonly gate: InputGate,
    private readonly output: TaskOutput,
    private readonly signal: Signal,
    private readonly context: OperatorContext,
    private readonly env: TaskEnv,
    private readonly onSinkRows: ((n: number) => void) | undefined,
  ) {
    this.mailbox = new Mailbox(signal);
  }

  get label(): string {
    return `${this.vertex.name} (${this.subtask + 1}/${this.vertex.parallelism})`;
  }

  /** Keys held in the subtask's keyed state. */
  stateKeyCount(): number {
    return this.context.state.keyCount();
  }

  cancel(): void {
    this.cancelled = true;
    this.signal.notify();
  }

  notifyComplete(checkpointId: number): Promise<void> {
    return this.mailbox.enqueue(() => {
      if (checkpointId > this.completedId) this.completedId = checkpointId;
      return this.operator?.notifyCheckpointComplete(checkpointId);
    });
  }

  notifyAborted(checkpointId: number): Promise<void> {
    return this.mailbox.enqueue(async () => {
      this.gate.abort(checkpointId);
      this.snapshotAborts.get(checkpointId)?.abort(new Error(`checkpoint ${checkpointId} was aborted`));
      await this.operator?.notifyCheckpointAborted?.(checkpointId);
    });
  }

  /** Resolves when the task ended normally or was canceled; rejects with the operator's error. */
  async run(): Promise<void> {
    try {
      await this.loop();
    } finally {
      this.exited = true;
      this.mailbox.close();
      if (!this.closed && this.operator !== undefined) {
        // Failure or cancellation: release resources, but never let close() hide the cause.
        this.closed = true;
        await this.operator.close().catch(() => undefined);
      }
      // Nothing will acknowledge them now.
      for (const a of this.snapshotAborts.values()) a.abort(new Error('the task ended'));
      await Promise.allSettled(this.snapshotsInFlight);
      await this.context.state.dispose().catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    const op = this.vertex.createOperator();
    this.operator = op;
    const state = this.context.state;
    await state.open();
    await op.open(this.context);
    this.env.opened();
    const gate = this.gate;
    const output = this.output;
    const signal = this.signal;
    const channels = gate.channels;
    for (;;) {
      signal.reset();
      if (this.cancelled) return;
      if (this.snapshotError !== undefined) throw this.snapshotError;
      if (this.mailbox.hasWork) {
        await this.mailbox.runAll();
        continue;
      }
      const el = gate.poll();
      if (el === undefined) {
        if (gate.allEnded) {
          await this.finish(op);
          return;
        }
        await signal.wait();
        continue;
      }
      const index = gate.lastIndex;
      switch (el.kind) {
        case 'batch': {
          if (gate.hasIdle) gate.markActive(index);
          if (this.onSinkRows !== undefined) this.onSinkRows(el.batch.size);
          state.advanceTime(Date.now());
          const input = channels[index].input;
          if (state.prefetches) {
            op.prefetch?.(el.batch, input);
            const loaded = state.load();
            if (loaded !== undefined) await loaded;
          }
          const r = op.process(el.batch, input);
          if (r !== undefined) await r;
          if (state.prefetches) {
            const written = state.afterBatch();
            if (written !== undefined) await written;
          }
          break;
        }
        case 'watermark': {
          if (el.idle === true) {
            const wm = gate.onIdle(index);
            if (wm !== undefined) this.advanceWatermark(op, wm);
            if (gate.allIdle) output.emitIdle();
            break;
          }
          const wm = gate.onWatermark(index, el.timestamp);
          if (wm !== undefined) this.advanceWatermark(op, wm);
          break;
        }
        case 'barrier': {
          const aligned = gate.onBarrier(index, el.barrier);
          if (aligned !== undefined) await this.checkpoint(op, aligned);
          break;
        }
        case 'end': {
          const aligned = gate.onEnd(index);
          if (aligned !== undefined) await this.checkpoint(op, aligned);
          const wm = gate.advanceWatermark();
          if (wm !== undefined) this.advanceWatermark(op, wm);
          break;
        }
        default:
          unreachable(el);
      }
      if (output.hasFull()) await output.waitWritable();
    }
  }

  private advanceWatermark(op: Operator, wm: number): void {
    op.onWatermark(wm);
    const forward = forwardedWatermark(op, wm);
    if (forward !== undefined) this.output.emitWatermark(forward);
  }

  private async checkpoint(op: Operator, barrier: Barrier): Promise<void> {
    const t0 = performance.now();
    const result = await op.snapshotState(barrier.checkpointId);
    // Changes only when the previous snapshot is a completed checkpoint (the one they are since);
    // a savepoint is always whole and is no base (it is the user's to delete).
    const base = this.lastSnapshotId;
    const incremental = barrier.savepoint === undefined && base > 0 && this.completedId === base;
    const abort = new AbortController();
    const keyed = this.context.state.snapshot({ incremental, signal: abort.signal });
    this.lastSnapshotId = barrier.savepoint === undefined ? barrier.checkpointId : 0;
    const syncMs = performance.now() - t0;
    this.output.emitBarrier(barrier);
    const ack = (k: KeyedStateSnapshot): void =>
      this.env.acknowledge(this.env.attempt, this.vertex.uid, this.subtask, barrier.checkpointId, {
        kind: 'operator',
        result,
        keyed: k,
        syncMs,
        ...(k.incremental ? { base } : {}),
      });
    if (keyed instanceof Promise) {
      // Asynchronous snapshot: processing goes on; the ack follows once it is written.
      const id = barrier.checkpointId;
      this.snapshotAborts.set(id, abort);
      const done = keyed.then(ack, (e: unknown) => {
        if (abort.signal.aborted) return; // its checkpoint was aborted: nothing to report
        this.snapshotError ??= e;
        this.signal.notify();
      });
      this.snapshotsInFlight.add(done);
      void done.finally(() => {
        this.snapshotsInFlight.delete(done);
        this.snapshotAborts.delete(id);
      });
    } else ack(keyed);
    this.gate.releaseAll();
  }

  private async finish(op: Operator): Promise<void> {
    await this.mailbox.runAll();
    await Promise.all(this.snapshotsInFlight);
    if (this.snapshotError !== undefined) throw this.snapshotError;
    this.closed = true;
    await op.close();
    this.output.emitEnd();
  }
}
