/**
 * Kafka transactions for the exactly-once sink. Checkpoint n's rows go into one Kafka transaction
 * that is pre-committed (flushed, left open) on barrier n and committed when n completes; the
 * transaction of n+1 is open meanwhile, so a subtask needs several transactional ids: a pool of
 * `<prefix>-<subtask>-<k>`, k = 0, 1, ... allocated in order and reused once committed.
 *
 * Every transaction starts with InitProducerId, which gives the id a new epoch. The committable
 * keeps (transactional id, producer id, epoch): after a crash, recover() commits it with a raw
 * EndTxn carrying exactly those, which the broker accepts only for that very transaction:
 *   - still open (pre-committed, checkpoint complete, commit never sent): it commits;
 *   - committed already: NONE (same epoch) or a fenced epoch (the id was reused since): done;
 *   - aborted (transaction.timeout.ms passed before the restart): the rows are lost; logged.
 * Then every id of the subtask is initialized again, k = 0, 1, ... until one that was never
 * used (epoch 0): that aborts the transactions the crashed process left open (newer checkpoints),
 * so read_committed consumers are not blocked by them until they time out.
 */
import type { Kafka, Message } from 'kafkajs';
import type { Logger } from '../../src/log.js';
import { CLIENT_RETRY, kafkaError } from './kafka-client.js';
import {
  COORDINATOR,
  createCluster,
  createTransactionalParts,
  ISOLATION,
  kafkaErrorType,
  type Cluster,
  type EosManager,
  type MessageProducer,
  type Partitioner,
} from './kafka-internals.js';

/** What a pre-committed transaction leaves in the checkpoint. */
export interface TxnRef {
  readonly transactionalId: string;
  readonly producerId: string;
  readonly epoch: number;
}

interface PooledProducer {
  readonly seq: number;
  readonly transactionalId: string;
  readonly eos: EosManager;
  readonly producer: MessageProducer;
  /** Initialized for a transaction that has not started yet (a probe's fresh epoch). */
  ready: boolean;
  busy: boolean;
}

/** Protocol errors after which an EndTxn for that (producer id, epoch) can never succeed: it is over. */
const FINISHED_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'PRODUCER_FENCED']);
/** Errors worth retrying an EndTxn after (the coordinator is moving or completing the transaction). */
const RETRY_ERRORS = new Set([
  'CONCURRENT_TRANSACTIONS',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
]);
const END_TXN_BUDGET_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** kafkajs does not know PRODUCER_FENCED (code 90) and reports it as an unknown code. */
function errorType(e: unknown): string {
  const t = kafkaErrorType(e);
  if (t === 'KAFKAJS_UNKNOWN_ERROR_CODE' && /\b90\b/.test((e as Error).message)) return 'PRODUCER_FENCED';
  return t;
}

export class TransactionalProducers {
  private cluster: Cluster | undefined;
  private readonly pool: PooledProducer[] = [];

  constructor(
    private readonly client: Kafka,
    /** `<prefix>-<subtask>` */
    private readonly idBase: (subtask: number) => string,
    private readonly subtask: number,
    private readonly transactionTimeoutMs: number,
    private readonly partitioner: Partitioner,
    private readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    this.cluster = createCluster(this.client, { isolationLevel: ISOLATION.READ_COMMITTED });
    await this.cluster.connect();
  }

  /** Ids allocated so far (the pool size), recorded in committables to bound the probe. */
  get size(): number {
    return this.pool.length;
  }

  private create(subtask: number, seq: number): PooledProducer {
    const transactionalId = `${this.idBase(subtask)}-${seq}`;
    const { eos, producer } = createTransactionalParts(this.client, this.cluster!, {
      transactionalId,
      transactionTimeout: this.transactionTimeoutMs,
      partitioner: this.partitioner,
      retry: { ...CLIENT_RETRY, retries: 10 },
    });
    return { seq, transactionalId, eos, producer, ready: false, busy: false };
  }

  /** Starts a transaction on a free producer (a new epoch for it). */
  async begin(): Promise<PooledProducer> {
    let p = this.pool.find((x) => !x.busy);
    if (!p) {
      p = this.create(this.subtask, this.pool.length);
      this.pool.push(p);
    }
    p.busy = true;
    try {
      if (!p.ready) await p.eos.initProducerId();
      p.ready = false;
      p.eos.beginTransaction();
    } catch (e) {
      p.busy = false;
      throw kafkaError(e, `starting a transaction (transactional id '${p.transactionalId}')`);
    }
    return p;
  }

  async send(p: PooledProducer, topic: string, messages: Message[]): Promise<void> {
    try {
      await p.producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
    } catch (e) {
      throw kafkaError(e, `writing to topic '${topic}' in transaction '${p.transactionalId}'`, { topic });
    }
  }

  ref(p: PooledProducer): TxnRef {
    return { transactionalId: p.transactionalId, producerId: String(p.eos.getProducerId()), epoch: p.eos.getProducerEpoch() };
  }

  /** The pooled producer holding `ref`'s transaction open, if this process started it. */
  private holder(ref: TxnRef): PooledProducer | undefined {
    return this.pool.find(
      (p) =>
        p.busy &&
        p.transactionalId === ref.transactionalId &&
        String(p.eos.getProducerId()) === ref.producerId &&
        p.eos.getProducerEpoch() === ref.epoch &&
        p.eos.isInTransaction(),
    );
  }

  /** Commits (or aborts) a transaction; idempotent, also for transactions of a crashed process. */
  async end(ref: TxnRef, commit: boolean): Promise<void> {
    const p = this.holder(ref);
    if (p) {
      try {
        if (commit) await p.eos.commit();
        else await p.eos.abort();
        // EndTxn returns once the outcome is durable; the markers that make the rows visible
        // follow. Asking again answers CONCURRENT_TRANSACTIONS until they are written, then NONE:
        // waiting for that makes a commit visible to read_committed readers when it returns.
        await this.endByRef(ref, commit, true);
      } catch (e) {
        throw kafkaError(e, `${commit ? 'committing' : 'aborting'} transaction '${ref.transactionalId}'`);
      } finally {
        p.busy = false;
      }
      return;
    }
    await this.endByRef(ref, commit, false);
  }

  /** EndTxn with the producer id and epoch of the committable (see the file comment). */
  private async endByRef(ref: TxnRef, commit: boolean, confirming: boolean): Promise<void> {
    const cluster = this.cluster!;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const coordinator = await cluster.findGroupCoordinator({ groupId: ref.transactionalId, coordinatorType: COORDINATOR.TRANSACTION });
        await coordinator.endTxn({ producerId: ref.producerId, producerEpoch: ref.epoch, transactionalId: ref.transactionalId, transactionResult: commit });
        if (confirming) return;
        this.log.info(
          { transactionalId: ref.transactionalId, epoch: ref.epoch },
          commit ? 'committed a recovered Kafka transaction' : 'aborted a Kafka transaction',
        );
        return;
      } catch (e) {
        const type = errorType(e);
        if (FINISHED_ERRORS.has(type)) {
          this.log.info({ transactionalId: ref.transactionalId, epoch: ref.epoch, error: type }, 'Kafka transaction already finished');
          return;
        }
        if (type === 'INVALID_TXN_STATE') {
          if (commit) {
            this.log.error(
              { transactionalId: ref.transactionalId, epoch: ref.epoch },
              "a pre-committed Kafka transaction was aborted before it could be committed (did it exceed 'properties.transaction.timeout.ms'?); its rows are lost",
            );
          }
          return;
        }
        const retriable =
          RETRY_ERRORS.has(type) ||
          (e as { retriable?: boolean }).retriable === true ||
          /ECONNREFUSED|Connection|timed out/i.test(String((e as Error).message));
        if (!retriable || Date.now() - started > END_TXN_BUDGET_MS) {
          throw kafkaError(e, `${commit ? 'committing' : 'aborting'} transaction '${ref.transactionalId}' (producer ${ref.producerId}, epoch ${ref.epoch})`);
        }
        await sleep(Math.min(5 * 2 ** attempt, 1000));
        if (!RETRY_ERRORS.has(type)) await cluster.refreshMetadata().catch(() => undefined);
      }
    }
  }

  /**
   * Fences every transactional id of `subtasks` (aborting what is open on them) until an id that
   * was never used; at least the first `minIds` of each. The subtask's own initialized producers
   * stay in the pool, ready for the next transactions.
   */
  async abortLingering(subtasks: readonly number[], minIds: number): Promise<void> {
    for (const subtask of subtasks) {
      for (let seq = 0; ; seq++) {
        const own = subtask === this.subtask;
        const p = own && seq < this.pool.length ? this.pool[seq] : this.create(subtask, seq);
        if (p.busy) continue;
        try {
          await p.eos.initProducerId();
        } catch (e) {
          throw kafkaError(e, `aborting lingering transactions (transactional id '${p.transactionalId}')`);
        }
        const fresh = p.eos.getProducerEpoch() === 0;
        if (own && seq >= this.pool.length) this.pool.push(p);
        if (own) p.ready = true;
        if (fresh && seq >= minIds - 1) break;
      }
    }
  }

  async close(): Promise<void> {
    // Open transactions stay open: a pre-committed one may still be committed after a restart.
    await this.cluster?.disconnect().catch(() => undefined);
    this.cluster = undefined;
  }
}
