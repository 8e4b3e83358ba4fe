import type { Signal } from './channel.js';

/** A non-negative number a subtask adds to; shared job-wide and kept across restarts. */
export class JobCounters {
  /** Rows read by all source subtasks. */
  rowsIn = 0;
  /** Rows handed to sink subtasks. */
  rowsOut = 0;
  readonly named = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.named.set(name, (this.named.get(name) ?? 0) + by);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.named);
  }

  /** Gauges per reporter (`id`: operator/subtask/name), combined by name as the largest value. */
  private readonly gauges = new Map<string, { name: string; value: number }>();
  /** Long tasks (e.g. 'snapshot public.orders'): rows done and the expected total. */
  readonly progress = new Map<string, { done: number; total: number | undefined }>();

  gauge(id: string, name: string, value: number): void {
    this.gauges.set(id, { name, value });
  }

  gaugeSnapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { name, value } of this.gauges.values()) out[name] = Math.max(out[name] ?? -Infinity, value);
    return out;
  }
}

interface MailboxAction {
  readonly run: () => Promise<void> | void;
  readonly done: () => void;
}

/**
 * Control actions (checkpoint notifications) that must run inside a task's loop, between two
 * elements, because the Operator and SourceReader contracts promise calls one at a time. Enqueuing
 * wakes the task. The returned promise resolves once the action ran (or the task is gone); a
 * throwing action fails the task, which reports it, so the promise itself never rejects.
 */
export class Mailbox {
  private actions: MailboxAction[] = [];
  private closed = false;

  constructor(private readonly signal: Signal) {}

  get hasWork(): boolean {
    return this.actions.length > 0;
  }

  enqueue(run: () => Promise<void> | void): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((done) => {
      this.actions.push({ run, done });
      this.signal.notify();
    });
  }

  async runAll(): Promise<void> {
    while (this.actions.length > 0) {
      const action = this.actions.shift()!;
      try {
        await action.run();
      } finally {
        action.done();
      }
    }
  }

  /** The task has exited: later actions are skipped, queued ones are released. */
  close(): void {
    this.closed = true;
    const actions = this.actions;
    this.actions = [];
    for (const a of actions) a.done();
  }
}

/** Lets the event loop run timers and I/O; used by hot loops at most every few milliseconds. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
