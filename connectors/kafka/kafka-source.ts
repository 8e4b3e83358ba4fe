/**
 * The Kafka source: one split per topic-partition, read by weir itself (no consumer group
 * membership, no rebalancing). enumerate() lists the partitions; the runtime spreads them over
 * the subtasks (split j to subtask j % parallelism). Partitions that appear later are found by
 * each reader's periodic discovery and owned by the subtask Flink's KafkaSourceEnumerator would
 * give them; on a restore they are enumerated with the restored ones.
 */
import type { Schema } from '../../src/model/types.js';
import type { Source, SourceContext, SourceReader, SplitPosition } from '../../src/runtime/source.js';
import { describeOptions } from '../../src/connector/options.js';
import { silentLogger } from '../../src/log.js';
import { resolveColumns, type ColumnOrigin } from '../common/columns.js';
import { createKafkaClient, kafkaError } from './kafka-client.js';
import type { KafkaConfig } from './kafka-options.js';
import { tpKey, type TopicPartition } from './kafka-offsets.js';
import { KAFKA_METADATA_KEYS, MessageDecoder } from './message-decoder.js';
import { KafkaReader } from './kafka-reader.js';
import { type KafkaSplit, listPartitions, splitOf, topicsText } from './kafka-splits.js';

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
    return topicsText(this.config);
  }

  describe(): string {
    return `${this.config.connector}(${describeOptions(this.config.table)})`;
  }
}
