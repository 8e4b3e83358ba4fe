/**
 * A Kafka source subtask. A background loop fetches its partitions from their leaders at exact
 * offsets (kafkajs' low-level fetch, isolation read_committed unless configured otherwise) into a
 * bounded queue; poll() decodes queued messages into a batch and advances each partition's
 * position (the next offset not handed out), so positions() always describes exactly the rows
 * returned so far. A split's position is `{ offset, end?, start? }`: `end` is the bound of a
 * bounded read (fixed at the first start, so a restore ends at the same place), `start` where an
 * upsert-kafka partition was first read: on a restore the partition is re-read silently from
 * `start` to `offset` to rebuild the last row per key (compacted topics keep exactly that).
 */
import type { Admin, Kafka } from 'kafkajs';
import { externalError, isWeirError, userError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { isParseError } from '../formats/index.js';
import { createKafkaClient, kafkaError } from './kafka-client.js';
import { createCluster, ISOLATION, kafkaErrorType, type Cluster, type FetchedMessage } from './kafka-internals.js';
import { commitGroupOffsets, groupStartOffsets, listOffsets, tpKey, type TopicPartition } from './kafka-offsets.js';
import type { OffsetSpec } from './kafka-options.js';
import { listPartitions, splitOf, splitOwner, type KafkaSource, type KafkaSplit } from './kafka-source.js';
import { MessageDecoder, RowBuffer, type UpsertState } from './message-decoder.js';
import { decodeFetchedPartition } from './read-committed.js';

const MAX_BATCH_ROWS = 4096;
/** Messages fetched but not yet polled; the fetch loop waits above this. */
const MAX_QUEUED_MESSAGES = 50_000;
const FETCH_MAX_BYTES = 16 << 20;
/** A fetch failing for this long fails the job (the restart strategy takes over). */
const FAILURE_BUDGET_MS = 15_000;
/** Group-offset snapshots kept for commits (one per captured barrier). */
const MAX_SNAPSHOTS = 16;
/**
 * poll() on an empty queue waits this long for the fetch in flight instead of returning at once:
 * the source task would otherwise sleep its idle wait even when the fetch lands a moment later.
 */
const POLL_WAIT_MS = 20;

interface SplitState {
  readonly split: KafkaSplit;
  readonly topic: string;
  readonly partition: number;
  /** Next offset not handed out by poll(): the position. */
  emitted: number;
  /** Next offset to fetch (>= emitted). */
  fetchOffset: number;
  /** Bounded reads end before this offset. */
  readonly end: number | undefined;
  /** upsert-kafka: where this job started reading the partition. */
  readonly start: number;
  /** upsert-kafka: offsets below are replayed into `upsert` without emitting rows. */
  readonly replayUntil: number;
  finished: boolean;
  readonly upsert: UpsertState | undefined;
}

interface Chunk {
  readonly split: SplitState;
  readonly messages: FetchedMessage[];
  i: number;
  /** The offset after everything the fetch covered (markers and aborted records included). */
  readonly next: number;
}

interface Position {
  offset?: unknown;
  end?: unknown;
  start?: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

export class KafkaReader implements SourceReader {
  private readonly config;
  private readonly decoder: MessageDecoder;
  private readonly out: RowBuffer;
  private readonly ignoreParseErrors: boolean;
  private readonly formatName: string;
  private client: Kafka | undefined;
  private cluster: Cluster | undefined;
  private admin: Admin | undefined;
  private splits: SplitState[] = [];
  private readonly byId = new Map<string, SplitState>();
  private queue: Chunk[] = [];
  private queued = 0;
  private loop: Promise<void> | undefined;
  private closed = false;
  private failure: unknown;
  private wakeLoop: (() => void) | undefined;
  private wakePoll: (() => void) | undefined;
  private nextDiscovery = Infinity;
  private readonly snapshots: Map<string, { topic: string; partition: number; offset: number }>[] = [];

  constructor(
    private readonly source: KafkaSource,
    private readonly ctx: SourceContext,
  ) {
    this.config = source.config;
    this.decoder = new MessageDecoder(this.config, source.columns);
    this.out = new RowBuffer(source.columns.length);
    this.ignoreParseErrors = this.config.value.ignoreParseErrors || (this.config.key?.ignoreParseErrors ?? false);
    this.formatName = this.config.value.format;
  }

  private get brokers(): string {
    return this.config.client.brokers.join(',');
  }

  async assign(splits: readonly SplitPosition['split'][], restored: readonly SplitPosition[]): Promise<void> {
    const config = this.config;
    this.client = createKafkaClient(config.client, this.ctx.log, `-source-${this.ctx.subtaskIndex}`);
    this.cluster = createCluster(this.client, { isolationLevel: config.readCommitted ? ISOLATION.READ_COMMITTED : ISOLATION.READ_UNCOMMITTED });
    const restoredById = new Map(restored.map((r) => [r.split.id, r]));
    try {
      await this.cluster.connect();
      const mine = splits as readonly KafkaSplit[];
      await this.cluster.addMultipleTargetTopics([...new Set(mine.map((s) => s.topic))]);
      const fresh = mine.filter((s) => !restoredById.has(s.id) && !s.discovered);
      const discovered = mine.filter((s) => !restoredById.has(s.id) && s.discovered === true);
      const starts = await this.startOffsets(fresh, config.startup);
      for (const [k, v] of await this.startOffsets(discovered, { mode: 'earliest-offset' })) starts.set(k, v);
      const ends = await this.endOffsets(mine.filter((s) => !restoredById.has(s.id)));
      for (const s of mine) {
        const r = restoredById.get(s.id);
        if (r) this.addRestored(s, r);
        else this.addSplit(s, starts.get(s.id)!, ends.get(s.id));
      }
    } catch (e) {
      await this.close().catch(() => undefined);
      throw kafkaError(e, `reading ${this.source.topicsText()} at ${this.brokers}`, { table: config.table.name });
    }
    if (config.discoveryIntervalMs > 0) this.nextDiscovery = Date.now() + config.discoveryIntervalMs;
    this.loop = this.fetchLoop();
  }

  private async startOffsets(splits: readonly KafkaSplit[], spec: OffsetSpec): Promise<Map<string, number>> {
    const cluster = this.cluster!;
    const parts: TopicPartition[] = splits.map((s) => ({ topic: s.topic, partition: s.partition }));
    if (parts.length === 0) return new Map();
    switch (spec.mode) {
      case 'earliest-offset':
        return listOffsets(cluster, parts, { kind: 'earliest' });
      case 'latest-offset':
        return listOffsets(cluster, parts, { kind: 'latest' });
      case 'timestamp':
        return listOffsets(cluster, parts, { kind: 'timestamp', timestamp: spec.timestamp! });
      case 'group-offsets':
        return groupStartOffsets(cluster, this.config.client.groupId!, parts, this.config.autoOffsetReset, this.config.table.name);
      case 'specific-offsets': {
        // Partitions not listed start at the group's committed offset, else at the earliest (Flink).
        const out = new Map<string, number>();
        const rest: TopicPartition[] = [];
        for (const p of parts) {
          const o = spec.specificOffsets!.get(p.partition);
          if (o !== undefined) out.set(tpKey(p.topic, p.partition), o);
          else rest.push(p);
        }
        const groupId = this.config.client.groupId;
        const filled = groupId
          ? await groupStartOffsets(cluster, groupId, rest, 'earliest', this.config.table.name)
          : await listOffsets(cluster, rest, { kind: 'earliest' });
        for (const [k, v] of filled) out.set(k, v);
        return out;
      }
      default:
        throw new Error(`unexpected startup mode ${spec.mode}`);
    }
  }

  /** Ends of bounded reads (nothing for unbounded ones). */
  private async endOffsets(splits: readonly KafkaSplit[]): Promise<Map<string, number>> {
    const b = this.config.bounded;
    if (b.mode === 'unbounded' || splits.length === 0) return new Map();
    const parts = splits.map((s) => ({ topic: s.topic, partition: s.partition }));
    const cluster = this.cluster!;
    switch (b.mode) {
      case 'latest-offset':
        return listOffsets(cluster, parts, { kind: 'latest' });
      case 'timestamp':
        return listOffsets(cluster, parts, { kind: 'timestamp', timestamp: b.timestamp! });
      case 'group-offsets':
        return groupStartOffsets(cluster, this.config.client.groupId!, parts, 'latest', this.config.table.name);
      case 'specific-offsets': {
        const latest = await listOffsets(cluster, parts, { kind: 'latest' });
        for (const p of parts) {
          const o = b.specificOffsets!.get(p.partition);
          if (o !== undefined) latest.set(tpKey(p.topic, p.partition), o);
        }
        return latest;
      }
      default:
        throw new Error(`unexpected bounded mode ${b.mode}`);
    }
  }

  private addSplit(split: KafkaSplit, start: number, end: number | undefined): void {
    const s: SplitState = {
      split,
      topic: split.topic,
      partition: split.partition,
      emitted: start,
      fetchOffset: start,
      end,
      start,
      replayUntil: start,
      finished: end !== undefined && start >= end,
      upsert: this.config.connector === 'upsert-kafka' ? new Map() : undefined,
    };
    this.splits.push(s);
    this.byId.set(split.id, s);
  }

  private addRestored(split: KafkaSplit, r: SplitPosition): void {
    const p = (r.position ?? {}) as Position;
    const offset = num(p.offset);
    if (offset === undefined) throw userError('BAD_CHECKPOINT', `the checkpoint has no Kafka offset for ${split.id} (position ${JSON.stringify(r.position)})`);
    const end = num(p.end);
    const upsert = this.config.connector === 'upsert-kafka';
    const start = upsert ? (num(p.start) ?? offset) : offset;
    const s: SplitState = {
      split,
      topic: split.topic,
      partition: split.partition,
      emitted: offset,
      fetchOffset: start,
      end,
      start,
      replayUntil: offset,
      finished: r.finished === true || (end !== undefined && offset >= end),
      upsert: upsert ? new Map() : undefined,
    };
    this.splits.push(s);
    this.byId.set(split.id, s);
  }

  // ------------------------------------------------------------------ fetching

  private async fetchLoop(): Promise<void> {
    let failingSince: number | undefined;
    let backoff = 100;
    while (!this.closed) {
      if (this.queued >= MAX_QUEUED_MESSAGES) {
        await new Promise<void>((r) => (this.wakeLoop = r));
        continue;
      }
      try {
        if (Date.now() >= this.nextDiscovery) await this.discover();
        const active = this.splits.filter((s) => !s.finished && (s.end === undefined || s.fetchOffset < s.end));
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
        if (this.closed) return;
        if (isWeirError(e) && e.domain === 'user') {
          this.failure = e;
          return;
        }
        const now = Date.now();
        failingSince ??= now;
        if (now - failingSince > FAILURE_BUDGET_MS) {
          this.failure = kafkaError(e, `fetching ${this.source.topicsText()} from ${this.brokers} (failing for ${Math.round((now - failingSince) / 1000)} s)`, {
            table: this.config.table.name,
          });
          return;
        }
        this.ctx.log.debug({ err: e }, 'Kafka fetch failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
        await this.cluster?.refreshMetadata().catch(() => undefined);
      }
    }
  }

  /** One fetch per leader of the active partitions; false when no partition moved. */
  private async fetchOnce(active: readonly SplitState[]): Promise<boolean> {
    const cluster = this.cluster!;
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
            await this.offsetOutOfRange(this.byId.get(tpKey(err.topic, err.partition)));
            progressed = true;
            return;
          }
          throw e;
        }
        if (this.closed) return;
        for (const t of res.responses) {
          for (const pd of t.partitions) {
            const s = this.byId.get(tpKey(t.topicName, pd.partition));
            if (!s) continue;
            const { messages, next } = decodeFetchedPartition(t.topicName, s.fetchOffset, pd, this.config.readCommitted);
            if (next <= s.fetchOffset) continue;
            s.fetchOffset = next;
            progressed = true;
            this.queue.push({ split: s, messages, i: 0, next });
            this.queued += messages.length;
            this.wakePoll?.();
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
    const earliest = (await listOffsets(this.cluster!, tp, { kind: 'earliest' })).get(s.split.id) ?? 0;
    if (s.fetchOffset < earliest) {
      this.ctx.log.warn(
        { topic: s.topic, partition: s.partition, from: s.fetchOffset, to: earliest },
        'Kafka records before the earliest offset were deleted (retention); resuming at the earliest offset',
      );
      s.fetchOffset = earliest;
      if (s.emitted < earliest) s.emitted = earliest;
      return;
    }
    const latest = (await listOffsets(this.cluster!, tp, { kind: 'latest' })).get(s.split.id);
    throw userError(
      'KAFKA_OFFSET_OUT_OF_RANGE',
      `Kafka: offset ${s.fetchOffset} of topic '${s.topic}' partition ${s.partition} is beyond its end (${latest}); was the topic deleted and created again? ` +
        'Start the job without --from-checkpoint to read it anew',
      { details: { topic: s.topic, partition: s.partition, offset: s.fetchOffset } },
    );
  }

  /** Adds partitions created since the start that this subtask owns. */
  private async discover(): Promise<void> {
    this.nextDiscovery = Date.now() + this.config.discoveryIntervalMs;
    this.admin ??= this.client!.admin();
    await this.admin.connect();
    const parts = await listPartitions(this.admin, this.config);
    const known = this.source.known;
    const added = parts.filter(
      (p) =>
        !known.has(tpKey(p.topic, p.partition)) &&
        !this.byId.has(tpKey(p.topic, p.partition)) &&
        splitOwner(p.topic, p.partition, this.ctx.parallelism) === this.ctx.subtaskIndex,
    );
    if (added.length === 0) return;
    await this.cluster!.addMultipleTargetTopics([...new Set(added.map((p) => p.topic))]);
    const starts = await listOffsets(this.cluster!, added, { kind: 'earliest' });
    for (const p of added) this.addSplit(splitOf(p, true), starts.get(tpKey(p.topic, p.partition)) ?? 0, undefined);
    this.ctx.log.info({ partitions: added.map((p) => tpKey(p.topic, p.partition)) }, 'discovered new Kafka partitions');
  }

  // ------------------------------------------------------------------ polling

  async poll(): Promise<ChangeBatch | 'end' | undefined> {
    if (this.failure !== undefined) throw this.failure;
    if (this.queue.length === 0 && this.loop !== undefined && !this.splits.every((s) => s.finished)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_WAIT_MS);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakePoll = done;
      });
      this.wakePoll = undefined;
      if (this.failure !== undefined) throw this.failure;
    }
    const out = this.out;
    while (this.queue.length > 0 && out.size < MAX_BATCH_ROWS) {
      const chunk = this.queue[0];
      const s = chunk.split;
      const msgs = chunk.messages;
      while (chunk.i < msgs.length && out.size < MAX_BATCH_ROWS) {
        const m = msgs[chunk.i++];
        this.queued--;
        const off = Number(m.offset);
        if (off < s.emitted && off >= s.replayUntil) continue;
        if (s.end !== undefined && off >= s.end) {
          this.queued -= msgs.length - chunk.i;
          chunk.i = msgs.length;
          break;
        }
        if (off < s.replayUntil) {
          this.replay(m, s);
          continue;
        }
        this.decodeMessage(m, s, off);
        s.emitted = off + 1;
      }
      if (chunk.i < msgs.length) break;
      this.queue.shift();
      const next = s.end !== undefined && chunk.next > s.end ? s.end : chunk.next;
      if (next > s.emitted) s.emitted = next;
      if (s.end !== undefined && s.emitted >= s.end) s.finished = true;
    }
    if (this.wakeLoop && this.queued < MAX_QUEUED_MESSAGES / 2) {
      const wake = this.wakeLoop;
      this.wakeLoop = undefined;
      wake();
    }
    const batch = out.take();
    if (batch) return batch;
    if (this.source.bounded && this.splits.every((s) => s.finished)) return 'end';
    return undefined;
  }

  private decodeMessage(m: FetchedMessage, s: SplitState, offset: number): void {
    try {
      this.decoder.decode(m, s.topic, s.partition, this.out, s.upsert);
    } catch (e) {
      if (!isParseError(e)) throw e;
      if (this.ignoreParseErrors) {
        this.ctx.inc('parse-errors-skipped');
        return;
      }
      throw userError(
        'MALFORMED_RECORD',
        `malformed ${this.formatName} message in topic '${s.topic}' partition ${s.partition} offset ${offset}: ${e.message} ` +
          `(set '${this.formatName}.ignore-parse-errors' = 'true' to skip such messages)`,
        { details: { table: this.config.table.name, topic: s.topic, partition: s.partition, offset } },
      );
    }
  }

  /** upsert-kafka restore: applies a message below the restored offset to the key state only. */
  private replay(m: FetchedMessage, s: SplitState): void {
    const mark = this.out.size;
    try {
      this.decoder.decode(m, s.topic, s.partition, this.out, s.upsert);
    } catch (e) {
      if (!isParseError(e)) throw e;
      // It was skipped (or failed the job) when first read; a restored job got past it.
    }
    this.out.truncate(mark);
  }

  positions(): SplitPosition[] {
    const upsert = this.config.connector === 'upsert-kafka';
    const snapshot = new Map<string, { topic: string; partition: number; offset: number }>();
    const out = this.splits.map((s) => {
      snapshot.set(s.split.id, { topic: s.topic, partition: s.partition, offset: s.emitted });
      const position: Record<string, JsonValue> = { offset: s.emitted };
      if (s.end !== undefined) position.end = s.end;
      if (upsert) position.start = s.start;
      return { split: s.split, position, ...(s.finished ? { finished: true } : {}) };
    });
    if (this.config.client.groupId !== undefined) {
      this.snapshots.push(snapshot);
      if (this.snapshots.length > MAX_SNAPSHOTS) this.snapshots.shift();
    }
    return out;
  }

  /**
   * Commits the positions of a completed checkpoint to the consumer group (monitoring only: a
   * restore uses the checkpoint). The reader cannot tell which captured positions belong to which
   * checkpoint id, so it commits the oldest uncommitted capture: never ahead of a completed
   * checkpoint, at most one behind after an aborted one.
   */
  async notifyCheckpointComplete(): Promise<void> {
    const groupId = this.config.client.groupId;
    const snap = this.snapshots.shift();
    if (groupId === undefined || snap === undefined || !this.cluster) return;
    try {
      await commitGroupOffsets(this.cluster, groupId, snap);
    } catch (e) {
      this.ctx.log.warn({ err: e, groupId }, 'committing offsets to the Kafka consumer group failed (they are only for monitoring; the checkpoint has them)');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeLoop?.();
    this.wakeLoop = undefined;
    const loop = this.loop;
    this.loop = undefined;
    if (loop) await Promise.race([loop.catch(() => undefined), sleep(2000)]);
    await this.admin?.disconnect().catch(() => undefined);
    await this.cluster?.disconnect().catch(() => undefined);
    this.admin = undefined;
    this.cluster = undefined;
    this.queue = [];
  }
}
