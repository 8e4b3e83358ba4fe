/**
 * A Kafka source's splits: one per topic-partition, which partitions a table reads, and which
 * subtask owns a partition found after the start. The enumerator (kafka-source.ts) and the
 * readers' discovery (kafka-discovery.ts) must agree on all three, so they live here, below both.
 */
import type { Admin } from 'kafkajs';
import { userError } from '../../src/errors.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { tpKey, type TopicPartition } from './kafka-offsets.js';
import type { KafkaConfig } from './kafka-options.js';

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

/** How the source names what it reads, in error messages. */
export function topicsText(config: KafkaConfig): string {
  return config.topics ? config.topics.map((t) => `topic '${t}'`).join(', ') : `topics matching '${config.topicPattern!.source}'`;
}
