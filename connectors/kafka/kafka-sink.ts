/**
 * The Kafka sink (kafka and upsert-kafka). `sink.delivery-guarantee`:
 * - exactly-once: each checkpoint's rows in one Kafka transaction, committed when the checkpoint
 *   completes (kafka-transactions.ts); consumers must read with isolation.level=read_committed.
 * - at-least-once: an idempotent producer; every row is acknowledged by the broker before the
 *   checkpoint's barrier passes, so a restore can only write rows again, never lose them.
 * - none: fire and forget (acks=1, no flush guarantees beyond the send).
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { Sink, SinkContext, TwoPhaseCommitSink } from '../../src/sink/two-phase-commit.js';
import { optionError, describeOptions } from '../../src/connector/options.js';
import { userError } from '../../src/errors.js';
import { createKafkaClient, kafkaError, CLIENT_RETRY } from './kafka-client.js';
import type { KafkaConfig } from './kafka-options.js';
import { createPartitioner, MessageEncoder } from './message-encoder.js';
import { TransactionalProducers, type TxnRef } from './kafka-transactions.js';

/** Messages buffered before a send. */
const SEND_CHUNK = 8192;

export interface KafkaCommittable {
  readonly checkpointId: number;
  readonly job: string;
  readonly uid: string;
  readonly subtask: number;
  /** null for a checkpoint without rows (and for non-transactional guarantees). */
  readonly txn: (TxnRef & { readonly [k: string]: JsonValue }) | null;
  /** Transactional ids the subtask had allocated: a restore fences at least these. */
  readonly poolSize: number;
  readonly [k: string]: JsonValue;
}

export class KafkaSink implements Sink {
  readonly acceptsUpdates: boolean;
  readonly topic: string;

  constructor(
    readonly config: KafkaConfig,
    readonly schema: Schema,
  ) {
    const table = config.table;
    if (config.topics?.length !== 1) {
      const key = config.topics ? 'topic' : 'topic-pattern';
      throw optionError(table, key, 'INVALID_OPTION', `a ${config.connector} sink writes to exactly one 'topic'`);
    }
    this.topic = config.topics[0];
    this.acceptsUpdates = config.connector === 'upsert-kafka' || config.value.format === 'debezium-json';
    if (config.connector === 'kafka' && table.primaryKey.length > 0 && !this.acceptsUpdates) {
      throw userError(
        'KAFKA_SINK_PRIMARY_KEY',
        `table '${table.name}': connector 'kafka' with format '${config.value.format}' writes append-only; for updates by PRIMARY KEY use connector 'upsert-kafka' or format 'debezium-json'`,
        { position: table.pos, details: { table: table.name } },
      );
    }
    // Builds the encoders now so format problems fail at plan time.
    new MessageEncoder(config, schema);
  }

  createWriter(ctx: SinkContext): TwoPhaseCommitSink {
    const writer = this.config.sink.guarantee === 'exactly-once' ? new ExactlyOnceWriter(this, ctx) : new PlainWriter(this, ctx);
    return writer as unknown as TwoPhaseCommitSink;
  }

  describe(): string {
    return `${this.config.connector}(${describeOptions(this.config.table)})`;
  }
}

interface Txn {
  readonly checkpointId: number;
  pending: Message[];
}

/** at-least-once and none. */
class PlainWriter implements TwoPhaseCommitSink<Txn, KafkaCommittable> {
  private readonly encoder: MessageEncoder;
  private client: Kafka | undefined;
  private producer: Producer | undefined;
  private readonly acks: number;

  constructor(
    private readonly sink: KafkaSink,
    private readonly ctx: SinkContext,
  ) {
    this.encoder = new MessageEncoder(sink.config, ctx.schema);
    this.acks = sink.config.sink.guarantee === 'none' ? 1 : -1;
  }

  async open(): Promise<void> {
    const config = this.sink.config;
    this.client = createKafkaClient(config.client, this.ctx.log, `-sink-${this.ctx.subtaskIndex}`);
    const partitioner = createPartitioner(config.sink.partitioner, this.ctx.subtaskIndex);
    const idempotent = config.sink.guarantee === 'at-least-once';
    this.producer = this.client.producer({
      createPartitioner: () => partitioner,
      allowAutoTopicCreation: false,
      idempotent,
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
      retry: { ...CLIENT_RETRY, retries: idempotent ? 10 : CLIENT_RETRY.retries },
    });
    try {
      await this.producer.connect();
    } catch (e) {
      throw kafkaError(e, `connecting a producer to ${config.client.brokers.join(',')}`, { topic: this.sink.topic });
    }
  }

  async recover(): Promise<void> {}

  async begin(checkpointId: number): Promise<Txn> {
    return { checkpointId, pending: [] };
  }

  async write(txn: Txn, batch: ChangeBatch): Promise<void> {
    this.encoder.encode(batch, txn.pending);
    if (txn.pending.length >= SEND_CHUNK) await this.flush(txn);
  }

  private async flush(txn: Txn): Promise<void> {
    if (txn.pending.length === 0) return;
    const messages = txn.pending;
    txn.pending = [];
    try {
      await this.producer!.send({ topic: this.sink.topic, messages, acks: this.acks });
    } catch (e) {
      throw kafkaError(e, `writing to topic '${this.sink.topic}'`, { topic: this.sink.topic });
    }
  }

  async preCommit(txn: Txn): Promise<KafkaCommittable> {
    await this.flush(txn);
    return { checkpointId: txn.checkpointId, job: this.ctx.jobName, uid: this.ctx.operatorUid, subtask: this.ctx.subtaskIndex, txn: null, poolSize: 0 };
  }

  async commit(): Promise<void> {}
  async abort(): Promise<void> {}

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }
}

interface EosTxn extends Txn {
  producer: Awaited<ReturnType<TransactionalProducers['begin']>> | undefined;
}

/** exactly-once: one Kafka transaction per checkpoint (see kafka-transactions.ts). */
class ExactlyOnceWriter implements TwoPhaseCommitSink<EosTxn, KafkaCommittable> {
  private readonly encoder: MessageEncoder;
  private producers: TransactionalProducers | undefined;
  private readonly prefix: string;

  constructor(
    private readonly sink: KafkaSink,
    private readonly ctx: SinkContext,
  ) {
    this.encoder = new MessageEncoder(sink.config, ctx.schema);
    this.prefix = sink.config.sink.transactionalIdPrefix ?? `weir-${ctx.jobName}-${ctx.operatorUid}`;
  }

  async open(): Promise<void> {
    const config = this.sink.config;
    const client = createKafkaClient(config.client, this.ctx.log, `-sink-${this.ctx.subtaskIndex}`);
    this.producers = new TransactionalProducers(
      client,
      (subtask) => `${this.prefix}-${subtask}`,
      this.ctx.subtaskIndex,
      config.sink.transactionTimeoutMs,
      createPartitioner(config.sink.partitioner, this.ctx.subtaskIndex),
      this.ctx.log,
    );
    try {
      await this.producers.open();
    } catch (e) {
      throw kafkaError(e, `connecting a transactional producer to ${config.client.brokers.join(',')}`, { topic: this.sink.topic });
    }
  }

  async recover(restored: KafkaCommittable[]): Promise<void> {
    const producers = this.producers!;
    for (const c of restored) if (c.txn) await producers.end(c.txn, true);
    // Fence this subtask's ids, and after a rescale those of old subtasks whose committables came here.
    const subtasks = new Set([this.ctx.subtaskIndex, ...restored.map((c) => c.subtask)]);
    const minIds = Math.max(0, ...restored.map((c) => c.poolSize ?? 0));
    await producers.abortLingering(
      [...subtasks].sort((a, b) => a - b),
      minIds,
    );
  }

  async begin(checkpointId: number): Promise<EosTxn> {
    return { checkpointId, pending: [], producer: undefined };
  }

  async write(txn: EosTxn, batch: ChangeBatch): Promise<void> {
    this.encoder.encode(batch, txn.pending);
    if (txn.pending.length >= SEND_CHUNK) await this.flush(txn);
  }

  private async flush(txn: EosTxn): Promise<void> {
    if (txn.pending.length === 0) return;
    const producers = this.producers!;
    txn.producer ??= await producers.begin();
    const messages = txn.pending;
    txn.pending = [];
    await producers.send(txn.producer, this.sink.topic, messages);
  }

  async preCommit(txn: EosTxn): Promise<KafkaCommittable> {
    await this.flush(txn);
    const producers = this.producers!;
    return {
      checkpointId: txn.checkpointId,
      job: this.ctx.jobName,
      uid: this.ctx.operatorUid,
      subtask: this.ctx.subtaskIndex,
      poolSize: producers.size,
      txn: txn.producer ? (producers.ref(txn.producer) as KafkaCommittable['txn']) : null,
    };
  }

  async commit(c: KafkaCommittable): Promise<void> {
    if (c.txn) await this.producers!.end(c.txn, true);
  }

  async abort(c: KafkaCommittable): Promise<void> {
    if (c.txn) await this.producers!.end(c.txn, false);
  }

  async close(): Promise<void> {
    await this.producers?.close();
    this.producers = undefined;
  }
}
