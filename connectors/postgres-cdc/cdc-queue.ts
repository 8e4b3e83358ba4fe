/**
 * Replication messages in arrival order, keepalives too, so a keepalive never overtakes the data
 * before it. The backpressure: past MAX_QUEUED the replication socket is paused until poll()
 * drained the queue to a quarter of that.
 */
import type { Lsn } from './lsn.js';
import type { PgOutputMessage } from './pgoutput.js';

const MAX_QUEUED = 20_000;

export type Queued = { readonly kind: 'msg'; readonly msg: PgOutputMessage } | { readonly kind: 'keepalive'; readonly lsn: Lsn };

export interface Pausable {
  pause(): void;
  resume(): void;
}

export class ReplicationQueue {
  private items: Queued[] = [];
  private head = 0;
  private paused = false;

  /** `socket`: the replication socket, undefined while there is none. */
  constructor(private readonly socket: () => Pausable | undefined) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(q: Queued): void {
    this.items.push(q);
    if (!this.paused && this.size > MAX_QUEUED) this.pause();
  }

  /** The oldest message not consumed yet. */
  peek(): Queued | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Consumes the message peek() returned. */
  advance(): void {
    this.head++;
  }

  /** Stops reading the socket; only release() after a poll resumes it. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket()?.pause();
  }

  /** After a poll: frees what was consumed and resumes a paused socket once the queue drained. */
  release(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.size < MAX_QUEUED / 4) {
      this.paused = false;
      this.socket()?.resume();
    }
  }
}
