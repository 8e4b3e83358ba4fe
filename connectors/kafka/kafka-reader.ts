/**
 * A Kafka source subtask. assign() connects and places each split at its position (a fresh one at
 * its startup offset, a restored one where the checkpoint says, kafka-split-state.ts); a background
 * fetch loop (kafka-fetcher.ts) then fills a bounded queue (kafka-fetch-queue.ts) that poll()
 * turns into batches (kafka-batch-assembler.ts). positions() describes exactly the rows poll()
 * has returned; a completed checkpoint's positions go to the consumer group, if there is one.
 */
import type { Kafka } from 'kafkajs';
import { internalError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import type { ColumnOrigin } from '../common/columns.js';
import { BatchAssembler } from './kafka-batch-assembler.js';
import { createKafkaClient, kafkaError } from './kafka-client.js';
import { PartitionDiscovery } from './kafka-discovery.js';
import { FetchQueue } from './kafka-fetch-queue.js';
import { KafkaFetcher } from './kafka-fetcher.js';
import { GroupOffsetCommits } from './kafka-group-commits.js';
import { createCluster, ISOLATION, type Cluster } from './kafka-internals.js';
import type { KafkaConfig } from './kafka-options.js';
import { endOffsets, startOffsets } from './kafka-read-bounds.js';
import { freshSplitState, restoredSplitState, splitPosition, SplitStates } from './kafka-split-state.js';
import { topicsText, type KafkaSplit } from './kafka-splits.js';

/**
 * poll() on an empty queue waits this long for the fetch in flight instead of returning at once:
 * the source task would otherwise sleep its idle wait even when the fetch lands a moment later.
 */
const POLL_WAIT_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the reader needs of its source; kafka-source.ts creates readers, so this file may not import it. */
export interface KafkaReaderSource {
  readonly config: KafkaConfig;
  readonly columns: readonly ColumnOrigin[];
  readonly bounded: boolean;
  /** Split ids of the source's last enumerate(): discovery adds only partitions outside it. */
  readonly known: ReadonlySet<string>;
}

/**
 * CREATED until assign(), ASSIGNING while it connects and resolves offsets, READING while the
 * fetch loop runs, FAILED once the loop gave up (poll() throws its error), CLOSED for good.
 */
export type KafkaReaderState = 'CREATED' | 'ASSIGNING' | 'READING' | 'FAILED' | 'CLOSED';

/** Declared transitions of the reader lifecycle; anything else is a bug. */
const TRANSITIONS: Record<KafkaReaderState, readonly KafkaReaderState[]> = {
  CREATED: ['ASSIGNING', 'CLOSED'],
  ASSIGNING: ['READING', 'CLOSED'],
  READING: ['FAILED', 'CLOSED'],
  FAILED: ['CLOSED'],
  CLOSED: [],
};

export class KafkaReader implements SourceReader {
  private readonly config: KafkaConfig;
  private readonly upsert: boolean;
  private readonly assembler: BatchAssembler;
  private readonly commits: GroupOffsetCommits;
  private readonly splits = new SplitStates();
  private readonly queue = new FetchQueue();
  private state: KafkaReaderState = 'CREATED';
  private client: Kafka | undefined;
  private cluster: Cluster | undefined;
  private discovery: PartitionDiscovery | undefined;
  private fetcher: KafkaFetcher | undefined;
  private loop: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly source: KafkaReaderSource,
    private readonly ctx: SourceContext,
  ) {
    this.config = source.config;
    this.upsert = this.config.connector === 'upsert-kafka';
    this.assembler = new BatchAssembler(this.config, source.columns, ctx);
    this.commits = new GroupOffsetCommits(this.config.client.groupId, ctx.log);
  }

  private transition(to: KafkaReaderState): void {
    if (this.state === to) return;
    if (!TRANSITIONS[this.state].includes(to)) throw internalError(`Kafka reader state ${this.state} -> ${to} is not allowed`);
    this.state = to;
  }

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    this.transition('ASSIGNING');
    const config = this.config;
    this.client = createKafkaClient(config.client, this.ctx.log, `-source-${this.ctx.subtaskIndex}`);
    const cluster = createCluster(this.client, { isolationLevel: config.readCommitted ? ISOLATION.READ_COMMITTED : ISOLATION.READ_UNCOMMITTED });
    this.cluster = cluster;
    const restoredById = new Map(restored.map((r) => [r.split.id, r]));
    try {
      await cluster.connect();
      const mine = splits as readonly KafkaSplit[];
      await cluster.addMultipleTargetTopics([...new Set(mine.map((s) => s.topic))]);
      const fresh = mine.filter((s) => !restoredById.has(s.id) && !s.discovered);
      const discovered = mine.filter((s) => !restoredById.has(s.id) && s.discovered === true);
      const starts = await startOffsets(cluster, config, fresh, config.startup);
      for (const [k, v] of await startOffsets(cluster, config, discovered, { mode: 'earliest-offset' })) starts.set(k, v);
      const ends = await endOffsets(
        cluster,
        config,
        mine.filter((s) => !restoredById.has(s.id)),
      );
      for (const s of mine) {
        const r = restoredById.get(s.id);
        this.splits.add(r ? restoredSplitState(s, r, this.upsert) : freshSplitState(s, starts.get(s.id)!, ends.get(s.id), this.upsert));
      }
    } catch (e) {
      await this.close().catch(() => undefined);
      throw kafkaError(e, `reading ${topicsText(config)} at ${config.client.brokers.join(',')}`, { table: config.table.name });
    }
    // Closed while assigning: there is nothing left to fetch with.
    if (this.state === 'CLOSED') return;
    this.discovery = new PartitionDiscovery(this.client, cluster, config, this.splits, () => this.source.known, this.ctx);
    this.fetcher = new KafkaFetcher(cluster, config, this.splits, this.queue, this.discovery, this.ctx, (e) => {
      this.failure = e;
      this.transition('FAILED');
    });
    this.transition('READING');
    this.loop = this.fetcher.run();
  }

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (this.queue.chunks.length === 0 && this.state === 'READING' && !this.splits.allFinished) {
      await this.queue.waitForChunk(POLL_WAIT_MS);
      if (this.failure !== undefined) throw this.failure;
    }
    this.assembler.fill(this.queue);
    this.queue.taken();
    const batch = this.assembler.take();
    if (batch) return batch;
    if (this.source.bounded && this.splits.allFinished) return 'end';
    return undefined;
  }

  positions(): SplitPosition[] {
    const out = this.splits.all.map((s) => splitPosition(s, this.upsert));
    this.commits.capture(this.splits.all);
    return out;
  }

  /** The consumer group gets the positions of a completed checkpoint (monitoring only). */
  async notifyCheckpointComplete(): Promise<void> {
    await this.commits.commitOldest(this.cluster);
  }

  async close(): Promise<void> {
    this.transition('CLOSED');
    this.fetcher?.stop();
    this.queue.releaseFetcher();
    const loop = this.loop;
    this.loop = undefined;
    if (loop) await Promise.race([loop.catch(() => undefined), sleep(2000)]);
    await this.discovery?.close();
    await this.cluster?.disconnect().catch(() => undefined);
    this.cluster = undefined;
    this.queue.clear();
  }
}
