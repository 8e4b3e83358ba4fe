/**
 * Where a split read for the first time starts ('scan.startup.mode') and where a bounded read
 * ends ('scan.bounded.mode'), as Flink's Kafka source decides them. Resolved once at the first
 * start; a restore takes both from the checkpoint.
 */
import type { Cluster } from './kafka-internals.js';
import { groupStartOffsets, listOffsets, tpKey, type TopicPartition } from './kafka-offsets.js';
import type { KafkaConfig, OffsetSpec } from './kafka-options.js';
import type { KafkaSplit } from './kafka-splits.js';

/** Start offsets by split id. */
export async function startOffsets(cluster: Cluster, config: KafkaConfig, splits: readonly KafkaSplit[], spec: OffsetSpec): Promise<Map<string, number>> {
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
      return groupStartOffsets(cluster, config.client.groupId!, parts, config.autoOffsetReset, config.table.name);
    case 'specific-offsets': {
      // Partitions not listed start at the group's committed offset, else at the earliest (Flink).
      const out = new Map<string, number>();
      const rest: TopicPartition[] = [];
      for (const p of parts) {
        const o = spec.specificOffsets!.get(p.partition);
        if (o !== undefined) out.set(tpKey(p.topic, p.partition), o);
        else rest.push(p);
      }
      const groupId = config.client.groupId;
      const filled = groupId
        ? await groupStartOffsets(cluster, groupId, rest, 'earliest', config.table.name)
        : await listOffsets(cluster, rest, { kind: 'earliest' });
      for (const [k, v] of filled) out.set(k, v);
      return out;
    }
    default:
      throw new Error(`unexpected startup mode ${spec.mode}`);
  }
}

/** Ends of bounded reads by split id (nothing for unbounded ones). */
export async function endOffsets(cluster: Cluster, config: KafkaConfig, splits: readonly KafkaSplit[]): Promise<Map<string, number>> {
  const b = config.bounded;
  if (b.mode === 'unbounded' || splits.length === 0) return new Map();
  const parts = splits.map((s) => ({ topic: s.topic, partition: s.partition }));
  switch (b.mode) {
    case 'latest-offset':
      return listOffsets(cluster, parts, { kind: 'latest' });
    case 'timestamp':
      return listOffsets(cluster, parts, { kind: 'timestamp', timestamp: b.timestamp! });
    case 'group-offsets':
      return groupStartOffsets(cluster, config.client.groupId!, parts, 'latest', config.table.name);
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
