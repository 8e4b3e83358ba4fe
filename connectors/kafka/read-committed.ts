/**
 * What a Kafka reader may hand out from one fetched partition: weir's own version of the Java
 * consumer's read_committed filtering (org.apache.kafka.clients.consumer.internals.CompletedFetch,
 * `nextFetchedRecord`), because kafkajs 2.2.4's (consumer/filterAbortedMessages.js) is wrong.
 *
 * The broker lists the aborted transactions that overlap the fetched range in the order they were
 * *aborted* (its transaction index), each as (producer id, first offset). kafkajs walks that list
 * as if it were in start order, one entry per record, so when a transaction that started earlier
 * was aborted later, its records before the other's start get through. The Java client:
 *   - keeps the aborted transactions ordered by first offset (a priority queue; here a sorted copy
 *     and a cursor);
 *   - for every record batch that has a producer id, first moves each aborted transaction whose
 *     first offset is <= the batch's last offset into the set of aborted producer ids; then
 *       - a control batch whose first record is an ABORT marker takes its producer id out of the
 *         set (that transaction is over; the producer's next one may commit),
 *       - any other transactional batch whose producer id is in the set is skipped whole;
 *   - never hands out control records (COMMIT and ABORT markers) and drops records below the fetch
 *     offset (a fetch starts at the batch containing the fetch offset).
 * Batches without a producer id are never aborted and leave the set alone; an idempotent,
 * non-transactional batch only moves the queue. A COMMIT marker changes nothing: a producer in
 * the set is there because of an aborted transaction whose ABORT marker has not been seen yet.
 *
 * kafkajs hands over records, not batches: every record of a batch shares its `batchContext`
 * (first offset, last offset delta, producer id, flags), so consecutive records with the same
 * first offset are one batch. A batch that compaction emptied decodes to no records at all and
 * is invisible here; that changes nothing above (the next batch with a producer id moves the
 * queue at least as far, before anything is decided), only how far `next` reaches.
 */
import { externalError } from '../../src/errors.js';
import type { FetchedMessage, FetchPartitionData } from './kafka-internals.js';

export interface FilteredPartition {
  /** The records to hand out, in offset order. */
  readonly messages: FetchedMessage[];
  /**
   * The offset after everything the response covered: the last offset of its last batch plus
   * one, so markers, aborted batches and records compacted off a batch's end are not fetched again.
   */
  readonly next: number;
}

/** ControlRecordType ids (the key of a control record is int16 version, int16 type). */
const CONTROL_ABORT = 0;
const CONTROL_KEY_SIZE = 4;

const NO_ABORTED: readonly AbortedTxn[] = [];

interface AbortedTxn {
  readonly producerId: string;
  readonly firstOffset: number;
}

/**
 * The records of one fetched partition a reader may hand out and where the next fetch starts.
 * With `readCommitted` false (isolation read_uncommitted) nothing is treated as aborted; control
 * records and records below `fetchOffset` are dropped either way.
 */
export function decodeFetchedPartition(topic: string, fetchOffset: number, data: FetchPartitionData, readCommitted: boolean): FilteredPartition {
  const msgs = data.messages;
  const n = msgs.length;
  const aborted = readCommitted ? abortedByFirstOffset(data.abortedTransactions) : NO_ABORTED;
  let queued = 0;
  let abortedProducers: Set<string> | undefined;
  // Stays undefined while every record so far is kept: the common case returns the array as is.
  let kept: FetchedMessage[] | undefined;
  let next = fetchOffset;
  let i = 0;
  while (i < n) {
    const batch = msgs[i].batchContext;
    let end = i + 1;
    while (end < n && sameBatch(msgs[end].batchContext, batch)) end++;
    const lastOffset = Number(batch.firstOffset) + batch.lastOffsetDelta;
    if (lastOffset + 1 > next) next = lastOffset + 1;

    let skip = batch.isControlBatch;
    if (readCommitted && hasProducerId(batch.producerId)) {
      while (queued < aborted.length && aborted[queued].firstOffset <= lastOffset) {
        (abortedProducers ??= new Set()).add(aborted[queued].producerId);
        queued++;
      }
      if (batch.isControlBatch) {
        if (isAbortMarker(msgs[i], topic, data.partition)) abortedProducers?.delete(batch.producerId);
      } else if (batch.inTransaction && abortedProducers?.has(batch.producerId) === true) {
        skip = true;
      }
    }

    for (let j = i; j < end; j++) {
      const m = msgs[j];
      const offset = Number(m.offset);
      // Records lie within their batch's span; the max anyway keeps `next` past all handed out.
      if (offset + 1 > next) next = offset + 1;
      if (!skip && offset >= fetchOffset) {
        kept?.push(m);
      } else {
        kept ??= msgs.slice(0, j);
      }
    }
    i = end;
  }
  return { messages: kept ?? msgs, next };
}

/** kafkajs gives every record of a batch the same context object; the first offset tells batches apart otherwise. */
function sameBatch(a: FetchedMessage['batchContext'], b: FetchedMessage['batchContext']): boolean {
  return a === b || a.firstOffset === b.firstOffset;
}

/** Java's `producerId > NO_PRODUCER_ID (-1)`, on kafkajs' decimal string: no producer id is negative. */
function hasProducerId(producerId: string): boolean {
  return producerId.length > 0 && producerId.charCodeAt(0) !== 45 /* '-' */;
}

function abortedByFirstOffset(list: FetchPartitionData['abortedTransactions'] | null | undefined): readonly AbortedTxn[] {
  if (list === null || list === undefined || list.length === 0) return NO_ABORTED;
  const out: AbortedTxn[] = list.map((t) => ({ producerId: t.producerId, firstOffset: Number(t.firstOffset) }));
  return out.sort((a, b) => a.firstOffset - b.firstOffset);
}

/**
 * Whether a control batch's first record is an ABORT marker (ControlRecordType.parse: a key of at
 * least 4 bytes, version >= 0 (newer versions read as 0), type 0 = ABORT, 1 = COMMIT, others are
 * KRaft records a partition of a user topic does not hold).
 */
function isAbortMarker(first: FetchedMessage, topic: string, partition: number): boolean {
  const key = first.key;
  if (key === null || key.length < CONTROL_KEY_SIZE || key.readInt16BE(0) < 0) {
    throw externalError(
      'KAFKA_CORRUPT_RECORD',
      `Kafka: topic '${topic}' partition ${partition} holds a control record at offset ${first.offset} whose key is not a valid control record key`,
      { retriable: false, details: { topic, partition, offset: first.offset } },
    );
  }
  return key.readInt16BE(2) === CONTROL_ABORT;
}
