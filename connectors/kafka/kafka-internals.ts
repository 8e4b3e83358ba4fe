/**
 * The parts of kafkajs 2.2.4 below its public API that weir needs, with the types weir relies on.
 * - A Cluster (connection pool + metadata) to fetch partitions directly at exact offsets, without
 *   a consumer group: kafkajs' Consumer always joins a group and rebalances, while weir assigns
 *   partitions to subtasks itself and keeps offsets in its checkpoints. Fetch responses come
 *   back decoded by kafkajs (records with their batch context); which records a read_committed
 *   reader may see is decided by weir (read-committed.ts), not by kafkajs' consumer.
 * - The transaction manager (eosManager) and message producer behind kafkajs' transactional
 *   producer, so the sink can read a transaction's producer id and epoch (kept in the checkpoint)
 *   and a restarted job can commit a transaction the crashed process pre-committed, with an
 *   EndTxn request carrying those (as Flink does through reflection on the Java client).
 * Everything here is checked against kafkajs 2.2.4 (package.json pins ^2.2.4).
 */
import type { Kafka, Message } from 'kafkajs';
import { lazyModule } from '../../src/util/lazy-module.js';

/** A decoded record as kafkajs' fetch returns it. */
export interface FetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  readonly isControlRecord?: boolean;
  /** The record batch it came in (one object shared by the batch's records). */
  readonly batchContext: {
    readonly firstOffset: string;
    readonly lastOffsetDelta: number;
    readonly timestampType: number;
    readonly inTransaction: boolean;
    readonly isControlBatch: boolean;
    /** '-1' when the batch has no producer id. */
    readonly producerId: string;
  };
}

export interface FetchPartitionData {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: string;
  readonly lastStableOffset: string;
  /** read_committed: the aborted transactions overlapping the fetched range, in the order they were aborted. */
  readonly abortedTransactions: { producerId: string; firstOffset: string }[];
  readonly messages: FetchedMessage[];
}

export interface Broker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchPartitionData[] }[] }>;
  endTxn(request: { producerId: string | number; producerEpoch: number; transactionalId: string; transactionResult: boolean }): Promise<unknown>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    retentionTime?: number;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<unknown>;
}

export interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string | number }): Promise<Broker>;
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<Broker>;
  fetchTopicsOffset(
    topics: { topic: string; partitions: { partition: number }[]; fromBeginning?: boolean; fromTimestamp?: number }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

/** kafkajs' transaction manager (src/producer/eosManager). */
export interface EosManager {
  getProducerId(): string | number;
  getProducerEpoch(): number;
  getTransactionalId(): string;
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isInitialized(): boolean;
  isInTransaction(): boolean;
}

export type Partitioner = (args: { topic: string; partitionMetadata: { partitionId: number; leader: number }[]; message: Message }) => number;

export interface MessageProducer {
  sendBatch(args: { acks?: number; timeout?: number; topicMessages: { topic: string; messages: Message[] }[] }): Promise<unknown>;
}

export const ISOLATION = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;
export const COORDINATOR = { GROUP: 0, TRANSACTION: 1 } as const;

interface KafkaLogger {
  namespace(name: string): KafkaLogger;
}

type CreateCluster = (opts: {
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number | null;
  isolationLevel?: number;
}) => Cluster;

// Loaded on first use, with the rest of kafkajs (kafka-client.ts).
const createEosManagerInternal = lazyModule<
  (opts: { logger: KafkaLogger; cluster: Cluster; transactionTimeout: number; transactional: boolean; transactionalId: string }) => EosManager
>('kafkajs/src/producer/eosManager/index.js');

const createMessageProducerInternal = lazyModule<
  (opts: {
    logger: KafkaLogger;
    cluster: Cluster;
    partitioner: Partitioner;
    eosManager: EosManager;
    idempotent: boolean;
    retrier: unknown;
    getConnectionStatus: () => string;
  }) => MessageProducer
>('kafkajs/src/producer/messageProducer.js');

const createRetry = lazyModule<(opts: unknown) => unknown>('kafkajs/src/retry/index.js');

function privateMember<T>(client: Kafka, description: string): T {
  const sym = Object.getOwnPropertySymbols(client).find((s) => s.description === description);
  if (sym === undefined) throw new Error(`kafkajs internals changed: no ${description} on the client (weir needs kafkajs 2.2.x)`);
  return (client as unknown as Record<symbol, T>)[sym];
}

/** A Cluster configured like the client's own (brokers, ssl, sasl, timeouts, retry). */
export function createCluster(client: Kafka, opts: { isolationLevel: number }): Cluster {
  const create = privateMember<CreateCluster>(client, 'private:Kafka:createCluster');
  return create({ allowAutoTopicCreation: false, isolationLevel: opts.isolationLevel, metadataMaxAge: 300_000 });
}

function clientLogger(client: Kafka): KafkaLogger {
  return privateMember<KafkaLogger>(client, 'private:Kafka:logger');
}

/**
 * What the kafkajs transactional producer is made of, with the transaction manager in reach:
 * `eos` holds the producer id and epoch; `producer.sendBatch` sends within its transaction.
 */
export function createTransactionalParts(
  client: Kafka,
  cluster: Cluster,
  opts: { transactionalId: string; transactionTimeout: number; partitioner: Partitioner; retry: unknown },
): { eos: EosManager; producer: MessageProducer } {
  const logger = clientLogger(client).namespace('Producer');
  const eos = createEosManagerInternal()({
    logger,
    cluster,
    transactionTimeout: opts.transactionTimeout,
    transactional: true,
    transactionalId: opts.transactionalId,
  });
  const producer = createMessageProducerInternal()({
    logger,
    cluster,
    partitioner: opts.partitioner,
    eosManager: eos,
    idempotent: true,
    retrier: createRetry()(opts.retry),
    getConnectionStatus: () => 'connected',
  });
  return { eos, producer };
}

/** kafkajs error `type` ('OFFSET_OUT_OF_RANGE', ...) or name, for matching. */
export function kafkaErrorType(e: unknown): string {
  const err = e as { type?: string; name?: string; message?: string };
  return err?.type ?? err?.name ?? '';
}

const createDefaultPartitioner = lazyModule<() => Partitioner>('kafkajs/src/producer/partitioners/default/index.js');

/** kafkajs' DefaultPartitioner (Java-compatible murmur2 of the key; keyless messages spread). */
export function defaultPartitioner(): Partitioner {
  return createDefaultPartitioner()();
}
