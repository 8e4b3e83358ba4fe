import { unreachable } from '../errors.js';
import type { ChangeBatch } from '../model/changelog.js';
import type { Channel } from './channel.js';
import type { Partitioning } from './job-graph.js';
import type { Output } from './operator.js';
import { hashRow, subtaskOfHash } from '../model/partition.js';
import type { Barrier, StreamElement } from './stream-element.js';

/** One outgoing edge of a subtask: the channels to the target's subtasks, by target subtask index. */
export interface OutputEdge {
  readonly partitioning: Partitioning;
  /** forward: exactly one channel (to the same subtask index); otherwise one per target subtask. */
  readonly channels: readonly Channel[];
}

/**
 * Routes what a subtask emits onto its outgoing channels by each edge's partitioning. Emitting
 * never awaits; the task calls `waitWritable()` between elements so a full channel pauses the
 * producer (backpressure). Watermarks leaving a subtask never go backwards.
 */
export class TaskOutput implements Output {
  private roundRobin = 0;
  private lastWatermark = -Infinity;
  private readonly allChannels: Channel[];

  constructor(
    private readonly edges: readonly OutputEdge[],
    private readonly onRows?: (n: number) => void,
  ) {
    this.allChannels = edges.flatMap((e) => e.channels);
  }

  emit(batch: ChangeBatch): void {
    if (batch.size === 0) {
      // A truncate marker goes to every subtask: each holds part of the table's keys.
      if (batch.truncate !== undefined) for (const ch of this.allChannels) ch.push({ kind: 'batch', batch });
      return;
    }
    if (this.onRows !== undefined) this.onRows(batch.size);
    for (let e = 0; e < this.edges.length; e++) {
      const edge = this.edges[e];
      const p = edge.partitioning;
      switch (p.kind) {
        case 'forward':
          edge.channels[0].push({ kind: 'batch', batch });
          break;
        case 'broadcast':
          for (const ch of edge.channels) ch.push({ kind: 'batch', batch });
          break;
        case 'rebalance': {
          const ch = edge.channels[this.roundRobin % edge.channels.length];
          ch.push({ kind: 'batch', batch });
          break;
        }
        case 'hash':
          if (edge.channels.length === 1) edge.channels[0].push({ kind: 'batch', batch });
          else pushHashed(batch, p.keys, edge.channels);
          break;
        default:
          unreachable(p);
      }
    }
    this.roundRobin++;
  }

  /**
   * The task forwards each advance of its combined input watermark once, and a watermark-assigning
   * operator may emit its own from process(), so two sources of watermarks can interleave here: the
   * output carries only the ones that advance it.
   */
  emitWatermark(timestamp: number): void {
    if (!(timestamp > this.lastWatermark)) return;
    this.lastWatermark = timestamp;
    this.broadcast({ kind: 'watermark', timestamp });
  }

  /** Every split of this producer is idle: downstream gates stop waiting for its watermark. */
  emitIdle(): void {
    this.broadcast({ kind: 'watermark', timestamp: this.lastWatermark, idle: true });
  }

  emitBarrier(barrier: Barrier): void {
    this.broadcast({ kind: 'barrier', barrier });
  }

  emitEnd(): void {
    this.broadcast({ kind: 'end' });
  }

  private broadcast(el: StreamElement): void {
    for (const ch of this.allChannels) ch.push(el);
  }

  /** True when some outgoing channel is at capacity; cheap, checked after every element. */
  hasFull(): boolean {
    for (const ch of this.allChannels) if (ch.isFull()) return true;
    return false;
  }

  async waitWritable(): Promise<void> {
    for (const ch of this.allChannels) if (ch.isFull()) await ch.waitForSpace();
  }
}

/**
 * Splits a batch by key hash into one batch per target subtask. Uses a counting sort over row
 * indexes so the split allocates a few arrays per batch and nothing per row.
 */
export function splitByHash(batch: ChangeBatch, keys: readonly number[], parallelism: number): (ChangeBatch | undefined)[] {
  const n = batch.size;
  const columns = batch.columns;
  const targets = new Uint8Array(n);
  const counts = new Int32Array(parallelism);
  for (let i = 0; i < n; i++) {
    const t = subtaskOfHash(hashRow(columns, i, keys), parallelism);
    targets[i] = t;
    counts[t]++;
  }
  const out: (ChangeBatch | undefined)[] = new Array(parallelism);
  for (let t = 0; t < parallelism; t++) {
    if (counts[t] === n) {
      out[t] = batch;
      return out;
    }
  }
  const offsets = new Int32Array(parallelism);
  for (let t = 1; t < parallelism; t++) offsets[t] = offsets[t - 1] + counts[t - 1];
  const order = new Int32Array(n);
  const fill = offsets.slice();
  for (let i = 0; i < n; i++) order[fill[targets[i]]++] = i;
  const arity = columns.length;
  for (let t = 0; t < parallelism; t++) {
    const count = counts[t];
    if (count === 0) continue;
    const start = offsets[t];
    const kinds = new Uint8Array(count);
    for (let j = 0; j < count; j++) kinds[j] = batch.kinds[order[start + j]];
    const cols: unknown[][] = new Array(arity);
    for (let c = 0; c < arity; c++) {
      const src = columns[c];
      const dst = new Array(count);
      for (let j = 0; j < count; j++) dst[j] = src[order[start + j]];
      cols[c] = dst;
    }
    out[t] = { size: count, kinds, columns: cols };
  }
  return out;
}

function pushHashed(batch: ChangeBatch, keys: readonly number[], channels: readonly Channel[]): void {
  const parts = splitByHash(batch, keys, channels.length);
  for (let t = 0; t < parts.length; t++) {
    const part = parts[t];
    if (part !== undefined) channels[t].push({ kind: 'batch', batch: part });
  }
}
