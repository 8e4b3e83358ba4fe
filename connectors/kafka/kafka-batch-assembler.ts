/**
 * poll()'s side of the queue: decodes queued messages into one change batch and advances each
 * split's position to the next offset not handed out, so positions() always describes exactly
 * the rows returned so far. Messages below a restored upsert-kafka position only rebuild the key
 * state; malformed messages fail the job or are skipped, as the format's
 * 'ignore-parse-errors' says.
 */
import { userError } from '../../src/errors.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import type { SourceContext } from '../../src/runtime/source.js';
import type { ColumnOrigin } from '../common/columns.js';
import { isParseError } from '../formats/index.js';
import type { FetchQueue } from './kafka-fetch-queue.js';
import type { FetchedMessage } from './kafka-internals.js';
import type { KafkaConfig } from './kafka-options.js';
import type { SplitState } from './kafka-split-state.js';
import { MessageDecoder, RowBuffer } from './message-decoder.js';

const MAX_BATCH_ROWS = 4096;

export class BatchAssembler {
  private readonly decoder: MessageDecoder;
  private readonly out: RowBuffer;
  private readonly ignoreParseErrors: boolean;
  private readonly formatName: string;

  constructor(
    private readonly config: KafkaConfig,
    columns: readonly ColumnOrigin[],
    private readonly ctx: SourceContext,
  ) {
    this.decoder = new MessageDecoder(config, columns);
    this.out = new RowBuffer(columns.length);
    this.ignoreParseErrors = config.value.ignoreParseErrors || (config.key?.ignoreParseErrors ?? false);
    this.formatName = config.value.format;
  }

  /** Takes queued messages until the batch is full or the queue empty; take() hands the batch out. */
  fill(queue: FetchQueue): void {
    const out = this.out;
    const chunks = queue.chunks;
    while (chunks.length > 0 && out.size < MAX_BATCH_ROWS) {
      const chunk = chunks[0];
      const s = chunk.split;
      const msgs = chunk.messages;
      while (chunk.i < msgs.length && out.size < MAX_BATCH_ROWS) {
        const m = msgs[chunk.i++];
        queue.queued--;
        const off = Number(m.offset);
        if (off < s.emitted && off >= s.replayUntil) continue;
        if (s.end !== undefined && off >= s.end) {
          queue.queued -= msgs.length - chunk.i;
          chunk.i = msgs.length;
          break;
        }
        if (off < s.replayUntil) {
          this.replay(m, s);
          continue;
        }
        this.decodeMessage(m, s, off);
        s.emitted = off + 1;
      }
      if (chunk.i < msgs.length) break;
      chunks.shift();
      const next = s.end !== undefined && chunk.next > s.end ? s.end : chunk.next;
      if (next > s.emitted) s.emitted = next;
      if (s.end !== undefined && s.emitted >= s.end) s.finished = true;
    }
  }

  take(): ChangeBatch | null {
    return this.out.take();
  }

  private decodeMessage(m: FetchedMessage, s: SplitState, offset: number): void {
    try {
      this.decoder.decode(m, s.topic, s.partition, this.out, s.upsert);
    } catch (e) {
      if (!isParseError(e)) throw e;
      if (this.ignoreParseErrors) {
        this.ctx.inc('parse-errors-skipped');
        return;
      }
      throw userError(
        'MALFORMED_RECORD',
        `malformed ${this.formatName} message in topic '${s.topic}' partition ${s.partition} offset ${offset}: ${e.message} ` +
          `(set '${this.formatName}.ignore-parse-errors' = 'true' to skip such messages)`,
        { details: { table: this.config.table.name, topic: s.topic, partition: s.partition, offset } },
      );
    }
  }

  /** upsert-kafka restore: applies a message below the restored offset to the key state only. */
  private replay(m: FetchedMessage, s: SplitState): void {
    const mark = this.out.size;
    try {
      this.decoder.decode(m, s.topic, s.partition, this.out, s.upsert);
    } catch (e) {
      if (!isParseError(e)) throw e;
      // It was skipped (or failed the job) when first read; a restored job got past it.
    }
    this.out.truncate(mark);
  }
}
