/**
 * Offsets of topic-partitions: earliest / latest (the last stable offset for read_committed),
 * by timestamp, and a consumer group's committed offsets (read and written without joining the
 * group: weir assigns partitions itself; the group only mirrors checkpointed positions).
 */
import { userError } from '../../src/errors.js';
import { COORDINATOR, type Cluster } from './kafka-internals.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export const tpKey = (topic: string, partition: number): string => `${topic}-${partition}`;

function byTopic(parts: readonly TopicPartition[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const p of parts) {
    const list = m.get(p.topic);
    if (list) list.push(p.partition);
    else m.set(p.topic, [p.partition]);
  }
  return m;
}

/** Broker answers that mean "ask again shortly": leadership or a coordinator is moving or loading. */
const TRANSIENT = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REQUEST_TIMED_OUT',
]);

/**
 * Runs an offsets request again (with fresh metadata) while the broker answers with a transient
 * error, for up to `budgetMs`: right after a broker start or a topic creation, leaders and group
 * coordinators are still being elected. A topic that really does not exist keeps failing and the
 * last error is thrown.
 */
export async function withOffsetsRetry<T>(cluster: Cluster, fn: () => Promise<T>, budgetMs = 10_000): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const type = (e as { type?: string }).type ?? '';
      const transient = TRANSIENT.has(type) || (e as { retriable?: boolean }).retriable === true;
      if (!transient || Date.now() - started > budgetMs) throw e;
      await new Promise((res) => setTimeout(res, Math.min(50 * 2 ** attempt, 500)));
      await cluster.refreshMetadata().catch(() => undefined);
    }
  }
}

export type OffsetQuery = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'timestamp'; readonly timestamp: number };

/**
 * Offsets per `tpKey`. A timestamp query gives the first offset whose record timestamp is at or
 * after it, or the latest offset when there is none.
 */
export async function listOffsets(cluster: Cluster, parts: readonly TopicPartition[], query: OffsetQuery): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (parts.length === 0) return out;
  const grouped = byTopic(parts);
  await cluster.addMultipleTargetTopics([...grouped.keys()]);
  const request = [...grouped].map(([topic, partitions]) => ({
    topic,
    partitions: partitions.map((partition) => ({ partition })),
    ...(query.kind === 'timestamp' ? { fromTimestamp: query.timestamp } : { fromBeginning: query.kind === 'earliest' }),
  }));
  const res = await withOffsetsRetry(cluster, () => cluster.fetchTopicsOffset(request));
  let missing: TopicPartition[] = [];
  for (const t of res) {
    for (const p of t.partitions) {
      const off = Number(p.offset);
      if (off < 0) missing.push({ topic: t.topic, partition: p.partition });
      else out.set(tpKey(t.topic, p.partition), off);
    }
  }
  if (missing.length > 0 && query.kind === 'timestamp') {
    const latest = await listOffsets(cluster, missing, { kind: 'latest' });
    for (const [k, v] of latest) out.set(k, v);
    missing = [];
  }
  return out;
}

/** Committed offsets of `groupId` per `tpKey` (partitions without one are left out). */
export async function fetchGroupOffsets(cluster: Cluster, groupId: string, parts: readonly TopicPartition[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (parts.length === 0) return out;
  const grouped = byTopic(parts);
  const { responses } = await withOffsetsRetry(cluster, async () => {
    const coordinator = (await cluster.findGroupCoordinator({ groupId, coordinatorType: COORDINATOR.GROUP })) as unknown as {
      offsetFetch(req: { groupId: string; topics: { topic: string; partitions: { partition: number }[] }[] }): Promise<{
        responses: { topic: string; partitions: { partition: number; offset: string }[] }[];
      }>;
    };
    return coordinator.offsetFetch({
      groupId,
      topics: [...grouped].map(([topic, partitions]) => ({ topic, partitions: partitions.map((partition) => ({ partition })) })),
    });
  });
  for (const t of responses) {
    for (const p of t.partitions) {
      const off = Number(p.offset);
      if (off >= 0) out.set(tpKey(t.topic, p.partition), off);
    }
  }
  return out;
}

/** Commits offsets to `groupId` as a simple (memberless) consumer. */
export async function commitGroupOffsets(
  cluster: Cluster,
  groupId: string,
  offsets: ReadonlyMap<string, { topic: string; partition: number; offset: number }>,
): Promise<void> {
  if (offsets.size === 0) return;
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets.values()) {
    const list = topics.get(o.topic) ?? [];
    list.push({ partition: o.partition, offset: String(o.offset) });
    topics.set(o.topic, list);
  }
  await withOffsetsRetry(cluster, async () => {
    const coordinator = await cluster.findGroupCoordinator({ groupId, coordinatorType: COORDINATOR.GROUP });
    await coordinator.offsetCommit({
      groupId,
      groupGenerationId: -1,
      memberId: '',
      retentionTime: -1,
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
    });
  });
}

/**
 * Group offsets for a group-offsets startup: committed ones, and for the others what
 * `properties.auto.offset.reset` says ('none': a user error naming the partitions).
 */
export async function groupStartOffsets(
  cluster: Cluster,
  groupId: string,
  parts: readonly TopicPartition[],
  reset: 'earliest' | 'latest' | 'none',
  table: string,
): Promise<Map<string, number>> {
  const committed = await fetchGroupOffsets(cluster, groupId, parts);
  const missing = parts.filter((p) => !committed.has(tpKey(p.topic, p.partition)));
  if (missing.length === 0) return committed;
  if (reset === 'none') {
    throw userError(
      'NO_COMMITTED_OFFSET',
      `table '${table}': consumer group '${groupId}' has no committed offset for ${missing.map((p) => tpKey(p.topic, p.partition)).join(', ')}; ` +
        "set 'properties.auto.offset.reset' = 'earliest' or 'latest', or choose another 'scan.startup.mode'",
      { details: { table, groupId } },
    );
  }
  const fill = await listOffsets(cluster, missing, { kind: reset });
  for (const [k, v] of fill) committed.set(k, v);
  return committed;
}
