/**
 * A reader's fetch loop: fetches its active partitions from their leaders at exact offsets
 * (kafkajs' low-level fetch, isolation read_committed unless configured otherwise), keeps what
 * weir's read_committed filtering lets through (read-committed.ts) and queues it for poll().
 * Broker trouble is retried with backoff; a fetch failing for longer than the failure budget, or
 * a user error, stops the loop and is reported once (the restart strategy takes over).
 */
import { externalError, isWeirError, userError } from '../../src/errors.js';
import type { SourceContext } from '../../src/runtime/source.js';
import { kafkaError } from './kafka-client.js';
import type { PartitionDiscovery } from './kafka-discovery.js';
import type { FetchQueue } from './kafka-fetch-queue.js';
import { ISOLATION, kafkaErrorType, type Cluster } from './kafka-internals.js';
import { listOffsets, tpKey } from './kafka-offsets.js';
import type { KafkaConfig } from './kafka-options.js';
import type { SplitState, SplitStates } from './kafka-split-state.js';
import { topicsText } from './kafka-splits.js';
import { decodeFetchedPartition } from './read-committed.js';

const FETCH_MAX_BYTES = 16 << 20;
/** A fetch failing for this long fails the job (the restart strategy takes over). */
const FAILURE_BUDGET_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KafkaFetcher {
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly config: KafkaConfig,
    private readonly splits: SplitStates,
    private readonly queue: FetchQueue,
    private readonly discovery: PartitionDiscovery,
    private readonly ctx: SourceContext,
    /** Called at most once, when the loop gives up; never after stop(). */
    private readonly fail: (e: unknown) => void,
  ) {}

  /** Ends after stop() or after reporting a failure. */
  async run(): Promise<void> {
    let failingSince: number | undefined;
    let backoff = 100;
    while (!this.stopped) {
      if (this.queue.full) {
        await this.queue.waitForRoom();
        continue;
      }
      try {
        if (this.discovery.due) await this.discovery.discover();
        const active = this.splits.all.filter((s) => !s.finished && (s.end === undefined || s.fetchOffset < s.end));
        if (active.length === 0) {
          await sleep(100);
          continue;
        }
        const progressed = await this.fetchOnce(active);
        failingSince = undefined;
        backoff = 100;
        // Only an empty record batch (nothing decodable) leaves the offset where it was.
        if (!progressed) await sleep(20);
      } catch (e) {
        if (this.stopped) return;
        if (isWeirError(e) && e.domain === 'user') {
          this.fail(e);
          return;
        }
        const now = Date.now();
        failingSince ??= now;
        if (now - failingSince > FAILURE_BUDGET_MS) {
          this.fail(
            kafkaError(
              e,
              `fetching ${topicsText(this.config)} from ${this.config.client.brokers.join(',')} (failing for ${Math.round((now - failingSince) / 1000)} s)`,
              {
                table: this.config.table.name,
              },
            ),
          );
          return;
        }
        this.ctx.log.debug({ err: e }, 'Kafka fetch failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
        // A closed reader has disconnected the cluster: refreshing would connect it again.
        if (!this.stopped) await this.cluster.refreshMetadata().catch(() => undefined);
      }
    }
  }

  /** The loop ends at its next step; a fetch in flight queues nothing. */
  stop(): void {
    this.stopped = true;
  }

  /** One fetch per leader of the active partitions; false when no partition moved. */
  private async fetchOnce(active: readonly SplitState[]): Promise<boolean> {
    const cluster = this.cluster;
    await cluster.refreshMetadataIfNecessary();
    const byLeader = new Map<string, SplitState[]>();
    const byTopic = new Map<string, SplitState[]>();
    for (const s of active) {
      const list = byTopic.get(s.topic);
      if (list) list.push(s);
      else byTopic.set(s.topic, [s]);
    }
    for (const [topic, states] of byTopic) {
      const leaders = cluster.findLeaderForPartitions(
        topic,
        states.map((s) => s.partition),
      );
      let found = 0;
      for (const [nodeId, partitions] of Object.entries(leaders)) {
        const list = byLeader.get(nodeId) ?? [];
        for (const p of partitions) {
          list.push(states.find((s) => s.partition === p)!);
          found++;
        }
        byLeader.set(nodeId, list);
      }
      if (found < states.length) throw externalError('KAFKA', `Kafka: no leader known for some partitions of topic '${topic}'`);
    }
    let progressed = false;
    await Promise.all(
      [...byLeader].map(async ([nodeId, states]) => {
        const broker = await cluster.findBroker({ nodeId });
        const topics = new Map<string, { partition: number; fetchOffset: string; maxBytes: number }[]>();
        for (const s of states) {
          const list = topics.get(s.topic) ?? [];
          list.push({ partition: s.partition, fetchOffset: String(s.fetchOffset), maxBytes: this.config.maxPartitionFetchBytes });
          topics.set(s.topic, list);
        }
        let res;
        try {
          res = await broker.fetch({
            isolationLevel: this.config.readCommitted ? ISOLATION.READ_COMMITTED : ISOLATION.READ_UNCOMMITTED,
            maxWaitTime: this.config.fetchMaxWaitMs,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
            topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
          });
        } catch (e) {
          if (kafkaErrorType(e) === 'KafkaJSOffsetOutOfRange' || kafkaErrorType(e) === 'OFFSET_OUT_OF_RANGE') {
            const err = e as { topic: string; partition: number };
            await this.offsetOutOfRange(this.splits.get(tpKey(err.topic, err.partition)));
            progressed = true;
            return;
          }
          throw e;
        }
        if (this.stopped) return;
        for (const t of res.responses) {
          for (const pd of t.partitions) {
            const s = this.splits.get(tpKey(t.topicName, pd.partition));
            if (!s) continue;
            const { messages, next } = decodeFetchedPartition(t.topicName, s.fetchOffset, pd, this.config.readCommitted);
            if (next <= s.fetchOffset) continue;
            s.fetchOffset = next;
            progressed = true;
            this.queue.push({ split: s, messages, i: 0, next });
          }
        }
      }),
    );
    return progressed;
  }

  /**
   * The fetch offset is outside the log: below its start (retention deleted the records: resume
   * at the earliest, records are lost and said so) or beyond its end (the topic was recreated).
   */
  private async offsetOutOfRange(s: SplitState | undefined): Promise<void> {
    if (!s) return;
    const tp = [{ topic: s.topic, partition: s.partition }];
    const earliest = (await listOffsets(this.cluster, tp, { kind: 'earliest' })).get(s.split.id) ?? 0;
    if (s.fetchOffset < earliest) {
      this.ctx.log.warn(
        { topic: s.topic, partition: s.partition, from: s.fetchOffset, to: earliest },
        'Kafka records before the earliest offset were deleted (retention); resuming at the earliest offset',
      );
      s.fetchOffset = earliest;
      if (s.emitted < earliest) s.emitted = earliest;
      return;
    }
    const latest = (await listOffsets(this.cluster, tp, { kind: 'latest' })).get(s.split.id);
    throw userError(
      'KAFKA_OFFSET_OUT_OF_RANGE',
      `Kafka: offset ${s.fetchOffset} of topic '${s.topic}' partition ${s.partition} is beyond its end (${latest}); was the topic deleted and created again? ` +
        'Start the job without --from-checkpoint to read it anew',
      { details: { topic: s.topic, partition: s.partition, offset: s.fetchOffset } },
    );
  }
}
