import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { KAFKA_OPTIONS, resolveKafkaConfig, UPSERT_KAFKA_OPTIONS } from './kafka-options.js';
import { KafkaSource } from './kafka-source.js';
import { KafkaSink } from './kafka-sink.js';

/** 'connector' = 'kafka': partitions read at checkpointed offsets; append (or debezium-json) sink, exactly-once with transactions. */
export const kafkaConnector: ConnectorFactory = {
  name: 'kafka',
  optionKeys: optionKeys(KAFKA_OPTIONS),
  createSource: (table, schema) => new KafkaSource(resolveKafkaConfig(table, 'kafka'), schema),
  createSink: (table, schema) => new KafkaSink(resolveKafkaConfig(table, 'kafka'), schema),
};

/** 'connector' = 'upsert-kafka': a compacted topic as a table keyed by its PRIMARY KEY (latest value per key, tombstones delete). */
export const upsertKafkaConnector: ConnectorFactory = {
  name: 'upsert-kafka',
  optionKeys: optionKeys(UPSERT_KAFKA_OPTIONS),
  createSource: (table, schema) => new KafkaSource(resolveKafkaConfig(table, 'upsert-kafka'), schema),
  createSink: (table, schema) => new KafkaSink(resolveKafkaConfig(table, 'upsert-kafka'), schema),
};

registerConnector(kafkaConnector);
registerConnector(upsertKafkaConnector);

export { KafkaSource } from './kafka-source.js';
export { KafkaSink, type KafkaCommittable } from './kafka-sink.js';
export { resolveKafkaConfig } from './kafka-options.js';
