/**
 * The Kafka source: one split per topic-partition, read by weir itself (no consumer group
 * membership, no rebalancing). enumerate() lists the partitions; the runtime spreads them over
 * the subtasks (split j to subtask j % parallelism). Partitions that appear later are found by
 * each reader's periodic discovery and owned by the subtask Flink's KafkaSourceEnumerator would
 * give them; on a restore they are enumerated with the restored ones.
 */
import type { Admin } from 'kafkajs';
import type { Schema } from '../../src/model/types.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { userError } from '../../src/errors.js';
import { describeOptions } from '../../src/connector/options.js';
import { silentLogger } from '../../src/log.js';
import { resolveColumns, type ColumnOrigin } from '../common/columns.js';
import { createKafkaClient, kafkaError } from './kafka-client.js';
import type { KafkaConfig } from './kafka-options.js';
import { tpKey, type TopicPartition } from './kafka-offsets.js';
import { KAFKA_METADATA_KEYS, MessageDecoder } from './message-decoder.js';
import { KafkaReader } from './kafka-reader.js';

export type KafkaSplit = SplitPosition['split'] & { readonly topic: string; readonly partition: number; readonly discovered?: boolean };

export function splitOf(tp: TopicPartition, discovered = false): KafkaSplit {
  return { id: tpKey(tp.topic, tp.partition), topic: tp.topic, partition: tp.partition, ...(discovered ? { discovered: true } : {}) };
}

/** Java's String.hashCode, for Flink's partition-owner rule. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** The subtask that owns a discovered partition (Flink's KafkaSourceEnumerator.getSplitOwner). */
export function splitOwner(topic: string, partition: number, parallelism: number): number {
  const start = (Math.imul(javaHash(topic), 31) & 0x7fffffff) % parallelism;
  return (start + partition) % parallelism;
}

/**
 * The partitions the table reads now: its topics (each must exist) or the topics matching its
 * pattern. Sorted by topic, then partition.
 */
export async function listPartitions(admin: Admin, config: KafkaConfig): Promise<TopicPartition[]> {
  const existing = await admin.listTopics();
  let topics: string[];
  if (config.topics) {
    const missing = config.topics.filter((t) => !existing.includes(t));
    if (missing.length > 0) {
      const table = config.table;
      throw userError(
        'TOPIC_NOT_FOUND',
        `table '${table.name}': topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist on ${config.client.brokers.join(',')}`,
        { position: table.optionPositions.topic ?? table.pos, details: { table: table.name, topics: missing } },
      );
    }
    topics = [...config.topics];
  } else {
    topics = existing.filter((t) => !t.startsWith('__') && config.topicPattern!.test(t));
  }
  if (topics.length === 0) return [];
  const meta = await admin.fetchTopicMetadata({ topics });
  const out: TopicPartition[] = [];
  for (const t of meta.topics) for (const p of t.partitions) out.push({ topic: t.name, partition: p.partitionId });
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

export class KafkaSource implements Source {
  readonly bounded: boolean;
  readonly changelogMode: 'insert-only' | 'updating';
  readonly columns: ColumnOrigin[];
  /** Split ids of the last enumerate(): readers only discover partitions outside it. */
  known: ReadonlySet<string> = new Set();

  constructor(
    readonly config: KafkaConfig,
    schema: Schema,
  ) {
    this.columns = resolveColumns(config.table, schema, config.connector, KAFKA_METADATA_KEYS);
    // Builds the decoders once now, so format problems (raw with two columns) fail at plan time.
    const decoder = new MessageDecoder(config, this.columns);
    this.changelogMode = decoder.updating ? 'updating' : 'insert-only';
    this.bounded = config.bounded.mode !== 'unbounded';
  }

  async enumerate(_parallelism: number, restored: readonly SplitPosition[]): Promise<KafkaSplit[]> {
    const admin = createKafkaClient(this.config.client, silentLogger, '-enumerator').admin();
    let parts: TopicPartition[];
    try {
      await admin.connect();
      parts = await listPartitions(admin, this.config);
    } catch (e) {
      throw kafkaError(e, `listing the partitions of ${this.topicsText()} at ${this.config.client.brokers.join(',')}`, { table: this.config.table.name });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const fresh = parts.map((p) => splitOf(p));
    if (restored.length === 0) {
      this.known = new Set(fresh.map((s) => s.id));
      return fresh;
    }
    const restoredSplits = restored.map((r) => r.split as KafkaSplit);
    const ids = new Set(restoredSplits.map((s) => s.id));
    // Partitions created since the checkpoint start at their beginning, as discovered ones do.
    const added = parts.filter((p) => !ids.has(tpKey(p.topic, p.partition))).map((p) => splitOf(p, true));
    const all = [...restoredSplits, ...added];
    this.known = new Set(all.map((s) => s.id));
    return all;
  }

  createReader(ctx: SourceContext): SourceReader {
    return new KafkaReader(this, ctx);
  }

  topicsText(): string {
    return this.config.topics ? this.config.topics.map((t) => `topic '${t}'`).join(', ') : `topics matching '${this.config.topicPattern!.source}'`;
  }

  describe(): string {
    return `${this.config.connector}(${describeOptions(this.config.table)})`;
  }
}
