import type { StreamElement } from './stream-element.js';

/**
 * A wake-up flag for one waiting task loop. `notify()` before `wait()` is remembered, so a loop
 * that calls `reset()`, checks for work, then `wait()`s cannot miss a notification. Spurious
 * wake-ups are allowed (the loop checks again), lost ones are not.
 */
export class Signal {
  private resolver: (() => void) | undefined;
  private pending = false;

  notify(): void {
    const r = this.resolver;
    if (r !== undefined) {
      this.resolver = undefined;
      r();
    } else {
      this.pending = true;
    }
  }

  reset(): void {
    this.pending = false;
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolver = resolve;
    });
  }

  /** Waits for a notification or `ms` milliseconds, whichever comes first. */
  waitTimeout(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.resolver = undefined;
        resolve();
      }, ms);
      this.resolver = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * A bounded FIFO of stream elements between two subtasks. The producer never blocks inside a push
 * (operators emit synchronously); instead it checks `isFull()` after handling an element and awaits
 * `waitForSpace()`, so a queue may exceed its capacity by one element's worth of output. The
 * consumer polls without awaiting and waits on its task Signal, which every push notifies.
 */
export class Channel {
  private queue: StreamElement[] = [];
  private head = 0;
  private spaceWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly capacity: number,
    private readonly consumer: Signal,
    /** For error messages and debugging: 'vertex 1.0 -> vertex 2.1'. */
    readonly label: string,
  ) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  isFull(): boolean {
    return !this.closed && this.queue.length - this.head >= this.capacity;
  }

  push(element: StreamElement): void {
    if (this.closed) return;
    this.queue.push(element);
    this.consumer.notify();
  }

  poll(): StreamElement | undefined {
    if (this.head === this.queue.length) return undefined;
    const el = this.queue[this.head];
    this.queue[this.head] = undefined as unknown as StreamElement;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.spaceWaiters.length > 0 && this.queue.length - this.head < this.capacity) this.releaseWaiters();
    return el;
  }

  /** Resolves once the queue is below capacity (at once when it already is, or once closed). */
  waitForSpace(): Promise<void> {
    if (!this.isFull()) return Promise.resolve();
    return new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Drops the contents and releases every waiter (cancellation). */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.releaseWaiters();
    this.consumer.notify();
  }

  private releaseWaiters(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }
}
