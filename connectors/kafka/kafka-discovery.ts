/**
 * Periodic partition discovery ('scan.topic-partition-discovery.interval'): partitions created
 * since the start are read from their earliest offset by the subtask Flink's enumerator would give
 * them. Only partitions outside the source's last enumeration count: a restore enumerates the
 * ones created meanwhile itself.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { SourceContext } from '../../src/runtime/source.js';
import type { Cluster } from './kafka-internals.js';
import { listOffsets, tpKey } from './kafka-offsets.js';
import type { KafkaConfig } from './kafka-options.js';
import { freshSplitState, type SplitStates } from './kafka-split-state.js';
import { listPartitions, splitOf, splitOwner } from './kafka-splits.js';

export class PartitionDiscovery {
  private next = Infinity;
  private admin: Admin | undefined;

  constructor(
    private readonly client: Kafka,
    private readonly cluster: Cluster,
    private readonly config: KafkaConfig,
    private readonly splits: SplitStates,
    /** Split ids of the source's last enumeration; read at each discovery, it may change. */
    private readonly known: () => ReadonlySet<string>,
    private readonly ctx: SourceContext,
  ) {
    if (config.discoveryIntervalMs > 0) this.next = Date.now() + config.discoveryIntervalMs;
  }

  get due(): boolean {
    return Date.now() >= this.next;
  }

  /** Adds partitions created since the start that this subtask owns. */
  async discover(): Promise<void> {
    this.next = Date.now() + this.config.discoveryIntervalMs;
    this.admin ??= this.client.admin();
    await this.admin.connect();
    const parts = await listPartitions(this.admin, this.config);
    const known = this.known();
    const added = parts.filter(
      (p) =>
        !known.has(tpKey(p.topic, p.partition)) &&
        !this.splits.has(tpKey(p.topic, p.partition)) &&
        splitOwner(p.topic, p.partition, this.ctx.parallelism) === this.ctx.subtaskIndex,
    );
    if (added.length === 0) return;
    await this.cluster.addMultipleTargetTopics([...new Set(added.map((p) => p.topic))]);
    const starts = await listOffsets(this.cluster, added, { kind: 'earliest' });
    const upsert = this.config.connector === 'upsert-kafka';
    for (const p of added) this.splits.add(freshSplitState(splitOf(p, true), starts.get(tpKey(p.topic, p.partition)) ?? 0, undefined, upsert));
    this.ctx.log.info({ partitions: added.map((p) => tpKey(p.topic, p.partition)) }, 'discovered new Kafka partitions');
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
  }
}
