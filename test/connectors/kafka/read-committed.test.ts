/**
 * weir's read_committed filter (connectors/kafka/read-committed.ts) on hand-built fetch responses,
 * no broker. The record batches are written as bytes in Kafka's v2 record-batch format and decoded
 * by the very kafkajs decoder the reader's fetch uses, so the records carry the batch context
 * kafkajs really gives them (and a batch that compaction emptied really decodes to nothing).
 * The expectations follow Kafka's Java consumer (CompletedFetch.nextFetchedRecord).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { FetchedMessage, FetchPartitionData } from '../../../connectors/kafka/kafka-internals.js';
import { decodeFetchedPartition } from '../../../connectors/kafka/read-committed.js';
import { WeirError } from '../../../src/errors.js';

const require = createRequire(import.meta.url);

interface KafkaJsEncoder {
  buf: Buffer;
  buffer: Buffer;
  writeInt8(v: number): KafkaJsEncoder;
  writeInt16(v: number): KafkaJsEncoder;
  writeInt32(v: number): KafkaJsEncoder;
  writeUInt32(v: number): KafkaJsEncoder;
  writeInt64(v: number | string): KafkaJsEncoder;
  writeBytes(v: Buffer): KafkaJsEncoder;
  writeEncoder(v: KafkaJsEncoder): KafkaJsEncoder;
  writeArray(v: unknown[], type?: string): KafkaJsEncoder;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkaJsEncoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: {
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
}) => KafkaJsEncoder;
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (d: unknown) => Promise<FetchedMessage[]>;

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const ABORT_KEY = Buffer.from([0, 0, 0, 0]);
const COMMIT_KEY = Buffer.from([0, 0, 0, 1]);

interface BatchSpec {
  /** First offset of the batch. */
  readonly at: number;
  /** Offsets the batch spans (compaction keeps the span when it removes records). */
  readonly span: number;
  /** Offsets still holding a record (default: all of the span). */
  readonly present?: readonly number[];
  readonly producerId?: number;
  readonly txn?: boolean;
  readonly marker?: 'commit' | 'abort';
}

/** A v2 record batch (kafkajs' decoder checks no CRC, so it is left 0). */
function batchBytes(b: BatchSpec): Buffer {
  const offsets = b.marker ? [b.at] : (b.present ?? Array.from({ length: b.span }, (_, i) => b.at + i));
  const records = offsets.map((o) =>
    encodeRecord({
      offsetDelta: o - b.at,
      key: b.marker === 'abort' ? ABORT_KEY : b.marker === 'commit' ? COMMIT_KEY : null,
      value: b.marker ? Buffer.from([0, 0, 0, 0, 0, 0]) : Buffer.from(`r${o}`),
    }),
  );
  const attributes = (b.txn || b.marker ? TRANSACTIONAL : 0) | (b.marker ? CONTROL : 0);
  const body = new Encoder()
    .writeInt16(attributes)
    .writeInt32(b.span - 1)
    .writeInt64(1_700_000_000_000)
    .writeInt64(1_700_000_000_000)
    .writeInt64(b.producerId ?? -1)
    .writeInt16(0)
    .writeInt32(0)
    .writeArray(records, 'object');
  const inner = new Encoder().writeInt32(0).writeInt8(2).writeUInt32(0).writeEncoder(body);
  return new Encoder().writeInt64(b.at).writeBytes(inner.buffer).buffer;
}

/** A fetch response for one partition, decoded by kafkajs as the reader's fetch decodes it. */
async function response(batches: readonly BatchSpec[], aborted: readonly [producerId: number, firstOffset: number][]): Promise<FetchPartitionData> {
  const records = Buffer.concat(batches.map(batchBytes));
  const messages = await decodeMessages(new Decoder(new Encoder().writeBytes(records).buffer));
  return {
    partition: 0,
    errorCode: 0,
    highWatermark: '1000',
    lastStableOffset: '1000',
    abortedTransactions: aborted.map(([p, f]) => ({ producerId: String(p), firstOffset: String(f) })),
    messages,
  };
}

function values(data: FetchPartitionData, fetchOffset: number, readCommitted = true): { values: string[]; next: number } {
  const { messages, next } = decodeFetchedPartition('t', fetchOffset, data, readCommitted);
  return { values: messages.map((m) => m.value!.toString()), next };
}

const P1 = 1001;
const P2 = 1002;
const P3 = 1003;

/**
 * One partition's log:
 *   0-1   plain records (no producer id)
 *   2-3   P1, transaction T1 (aborted at 9)
 *   4-5   P2, transaction T2 (aborted at 7: aborted before T1, though it started after it)
 *   6     P1, T1
 *   7     ABORT marker of P2
 *   8     P1, T1
 *   9     ABORT marker of P1
 *   10-14 P1, transaction T3, compacted to 10, 12, 14 (committed at 16)
 *   15    P3, idempotent but not transactional
 *   16    COMMIT marker of P1
 *   17-19 P2, transaction T4, compaction left nothing (an empty batch)
 *   20-21 P2, T4 (aborted at 30, beyond this response: still open at its end)
 *   22-23 P1, transaction T5 (committed at 31, beyond the response)
 *   24-26 P3, idempotent, compacted to 26
 * The broker lists the aborted transactions in the order they were aborted: T2, T1, T4.
 */
const LOG: BatchSpec[] = [
  { at: 0, span: 2 },
  { at: 2, span: 2, producerId: P1, txn: true },
  { at: 4, span: 2, producerId: P2, txn: true },
  { at: 6, span: 1, producerId: P1, txn: true },
  { at: 7, span: 1, producerId: P2, marker: 'abort' },
  { at: 8, span: 1, producerId: P1, txn: true },
  { at: 9, span: 1, producerId: P1, marker: 'abort' },
  { at: 10, span: 5, present: [10, 12, 14], producerId: P1, txn: true },
  { at: 15, span: 1, producerId: P3 },
  { at: 16, span: 1, producerId: P1, marker: 'commit' },
  { at: 17, span: 3, present: [], producerId: P2, txn: true },
  { at: 20, span: 2, producerId: P2, txn: true },
  { at: 22, span: 2, producerId: P1, txn: true },
  { at: 24, span: 3, present: [26], producerId: P3 },
];
const ABORTED: [number, number][] = [
  [P2, 4],
  [P1, 2],
  [P2, 17],
];
const COMMITTED = ['r0', 'r1', 'r10', 'r12', 'r14', 'r15', 'r22', 'r23', 'r26'];

describe('read_committed filtering of a fetched partition', () => {
  it('keeps exactly the committed records when aborted transactions are listed out of start order', async () => {
    const data = await response(LOG, ABORTED);
    // kafkajs' decoder really drops the emptied batch 17-19: nothing of it reaches the filter.
    expect(data.messages.some((m) => m.batchContext.firstOffset === '17')).toBe(false);
    expect(values(data, 0)).toEqual({ values: COMMITTED, next: 27 });
  });

  it('gives the same answer for any order of the aborted-transaction list', async () => {
    for (const order of [
      [0, 1, 2],
      [1, 0, 2],
      [2, 1, 0],
      [2, 0, 1],
    ]) {
      const data = await response(
        LOG,
        order.map((i) => ABORTED[i]),
      );
      expect(values(data, 0).values, `order ${order.join(',')}`).toEqual(COMMITTED);
    }
  });

  it('drops records below the fetch offset, also of an aborted transaction that began before the response', async () => {
    // A fetch at 1 starts with the batch holding offset 1; at 5 with the batch 4-5, and T1
    // (which began at 2, before the response) is still listed.
    const at1 = await response(LOG, ABORTED);
    expect(values(at1, 1)).toEqual({ values: COMMITTED.slice(1), next: 27 });
    const at5 = await response(LOG.slice(2), ABORTED);
    expect(values(at5, 5)).toEqual({ values: COMMITTED.slice(2), next: 27 });
    const at12 = await response(LOG.slice(7), [[P2, 17]]);
    expect(values(at12, 12)).toEqual({ values: ['r12', 'r14', 'r15', 'r22', 'r23', 'r26'], next: 27 });
  });

  it('a producer whose transaction was aborted has its next transaction committed; markers are never handed out', async () => {
    const data = await response(
      [
        { at: 0, span: 2, producerId: P1, txn: true },
        { at: 2, span: 1, producerId: P1, marker: 'abort' },
        { at: 3, span: 2, producerId: P1, txn: true },
        { at: 5, span: 1, producerId: P1, marker: 'commit' },
        { at: 6, span: 1, producerId: P1, txn: true },
        { at: 7, span: 1, producerId: P1, marker: 'abort' },
        { at: 8, span: 1, producerId: P1, txn: true },
        { at: 9, span: 1, producerId: P1, marker: 'commit' },
      ],
      [
        [P1, 6],
        [P1, 0],
      ],
    );
    expect(values(data, 0)).toEqual({ values: ['r3', 'r4', 'r8'], next: 10 });
  });

  it('two producers whose transactions interleave batch by batch', async () => {
    // P1: T at 0,2,4 aborted at 7; P2: T at 1,3,5 aborted at 6, then P2 commits 8,9 (marker 11)
    // while P1 commits 10 (marker 12).
    const data = await response(
      [
        { at: 0, span: 1, producerId: P1, txn: true },
        { at: 1, span: 1, producerId: P2, txn: true },
        { at: 2, span: 1, producerId: P1, txn: true },
        { at: 3, span: 1, producerId: P2, txn: true },
        { at: 4, span: 1, producerId: P1, txn: true },
        { at: 5, span: 1, producerId: P2, txn: true },
        { at: 6, span: 1, producerId: P2, marker: 'abort' },
        { at: 7, span: 1, producerId: P1, marker: 'abort' },
        { at: 8, span: 2, producerId: P2, txn: true },
        { at: 10, span: 1, producerId: P1, txn: true },
        { at: 11, span: 1, producerId: P2, marker: 'commit' },
        { at: 12, span: 1, producerId: P1, marker: 'commit' },
      ],
      [
        [P2, 1],
        [P1, 0],
      ],
    );
    expect(values(data, 0)).toEqual({ values: ['r8', 'r9', 'r10'], next: 13 });
  });

  it('read_uncommitted hands out aborted records too, but never control records', async () => {
    const data = await response(LOG, []);
    expect(values(data, 0, false).values).toEqual([
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
      'r6',
      'r8',
      'r10',
      'r12',
      'r14',
      'r15',
      'r20',
      'r21',
      'r22',
      'r23',
      'r26',
    ]);
  });

  it('a response of markers and aborted records only still moves the next offset past them', async () => {
    const data = await response(
      [
        { at: 40, span: 3, producerId: P2, txn: true },
        { at: 43, span: 1, producerId: P2, marker: 'abort' },
        { at: 44, span: 1, producerId: P1, marker: 'commit' },
      ],
      [[P2, 40]],
    );
    expect(values(data, 40)).toEqual({ values: [], next: 45 });
    expect(values(await response([], []), 40)).toEqual({ values: [], next: 40 });
  });

  it('returns the fetched array itself when nothing is dropped (no copy per fetch)', async () => {
    const data = await response(
      [
        { at: 0, span: 3 },
        { at: 3, span: 2, producerId: P3 },
      ],
      [],
    );
    expect(decodeFetchedPartition('t', 0, data, true).messages).toBe(data.messages);
  });

  it('a control record whose key is not a control key fails as corrupt data', async () => {
    const data = await response([{ at: 0, span: 1, producerId: P1, marker: 'abort' }], [[P1, 0]]);
    const bad = { ...data, messages: data.messages.map((m) => ({ ...m, key: Buffer.from([0, 0]) })) };
    expect(() => decodeFetchedPartition('t', 0, bad, true)).toThrow(WeirError);
    expect(() => decodeFetchedPartition('t', 0, bad, true)).toThrow(/topic 't' partition 0 holds a control record at offset 0/);
  });
});
