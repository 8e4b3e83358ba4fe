/**
 * Turns Kafka messages into rows of the columns a source must produce: physical columns from the
 * key and value formats, metadata columns from the message. For upsert-kafka it also normalizes
 * the upsert stream into a changelog, per partition: the first value of a key is +I, a later one
 * -U(previous row) +U(new row), a tombstone -D(previous row); this needs the last row per key,
 * which is rebuilt on restore by re-reading the partition (see kafka-split-state.ts).
 */
import type { Field } from '../../src/model/types.js';
import { RowKind, type ChangeBatch } from '../../src/model/changelog.js';
import type { ColumnOrigin } from '../common/columns.js';
import {
  changelogDecoder,
  checkRawFields,
  ConvertError,
  rowDecoder,
  type ChangelogDecoder,
  type FormatField,
  type RowAppender,
  type RowDecoder,
} from '../formats/index.js';
import type { FetchedMessage } from './kafka-internals.js';
import type { FormatSpec, KafkaConfig } from './kafka-options.js';

export const KAFKA_METADATA_KEYS = ['topic', 'partition', 'offset', 'timestamp', 'timestamp-type', 'leader-epoch'] as const;

/** Rows being collected for one batch. Column arrays grow by index; `truncate` undoes a bad message. */
export class RowBuffer implements RowAppender {
  kinds: number[] = [];
  cols: unknown[][];

  constructor(readonly arity: number) {
    this.cols = Array.from({ length: arity }, () => []);
  }

  get size(): number {
    return this.kinds.length;
  }

  startRow(kind: number): number {
    this.kinds.push(kind);
    return this.kinds.length - 1;
  }

  truncate(size: number): void {
    if (size >= this.kinds.length) return;
    this.kinds.length = size;
    for (const c of this.cols) if (c.length > size) c.length = size;
  }

  take(): ChangeBatch | null {
    const n = this.kinds.length;
    if (n === 0) return null;
    // A column nobody wrote (a projection without physical columns) must still have n entries.
    for (const c of this.cols) if (c.length < n) c.length = n;
    const batch: ChangeBatch = { size: n, kinds: Uint8Array.from(this.kinds), columns: this.cols };
    this.kinds = [];
    this.cols = Array.from({ length: this.arity }, () => []);
    return batch;
  }
}

/** Last emitted row per message key, for one partition of an upsert-kafka source. */
export type UpsertState = Map<string, unknown[]>;

type MetaKey = (typeof KAFKA_METADATA_KEYS)[number];

function formatFields(spec: FormatSpec, columns: readonly ColumnOrigin[], take: (name: string) => boolean): FormatField[] {
  const out: FormatField[] = [];
  columns.forEach((c, column) => {
    if (c.kind !== 'physical' || !take(c.field.name)) return;
    const position = spec.columns.indexOf(c.field.name);
    const field: Field = { name: spec.fieldNames[position], type: c.field.type };
    out.push({ field, position, column });
  });
  return out;
}

export class MessageDecoder {
  private readonly value: RowDecoder | undefined;
  private readonly changelog: ChangelogDecoder | undefined;
  private readonly key: RowDecoder | undefined;
  /** Output columns the key decoder fills. */
  private readonly keyColumns: number[] = [];
  private readonly meta: { column: number; key: MetaKey }[];
  private readonly upsert: boolean;
  private readonly arity: number;

  constructor(config: KafkaConfig, columns: readonly ColumnOrigin[]) {
    this.arity = columns.length;
    this.upsert = config.connector === 'upsert-kafka';
    const valueSpec = config.value;
    const keySpec = config.key;
    // With value.fields-include = ALL a key column is also in the value; the value wins (as Flink).
    const valueFields = formatFields(valueSpec, columns, (n) => valueSpec.columns.includes(n));
    const keyFields = keySpec ? formatFields(keySpec, columns, (n) => keySpec.columns.includes(n) && !valueSpec.columns.includes(n)) : [];
    const table = config.table.name;
    if (valueSpec.format === 'raw') checkRawFields(valueFields, valueSpec.columns.length, table);
    if (keySpec?.format === 'raw') checkRawFields(keyFields, keySpec.columns.length, table);
    if (valueSpec.format === 'debezium-json') this.changelog = changelogDecoder(valueFields, valueSpec.options);
    else this.value = rowDecoder(valueSpec.format, valueFields, valueSpec.columns.length, valueSpec.options);
    if (keySpec && keyFields.length > 0) {
      if (keySpec.format === 'debezium-json') throw new Error('unreachable: key.format is never debezium-json');
      this.key = rowDecoder(keySpec.format, keyFields, keySpec.columns.length, keySpec.options);
      this.keyColumns = keyFields.map((f) => f.column);
    }
    this.meta = [];
    columns.forEach((c, column) => {
      if (c.kind === 'metadata') this.meta.push({ column, key: c.key as MetaKey });
    });
  }

  /** True when the format emits updates (debezium-json, upsert-kafka). */
  get updating(): boolean {
    return this.upsert || this.changelog !== undefined;
  }

  /**
   * Appends the rows of one message to `out`. Throws ConvertError/SyntaxError for a malformed
   * message, leaving `out` as it was. `state` is the partition's upsert state (upsert-kafka only).
   */
  decode(m: FetchedMessage, topic: string, partition: number, out: RowBuffer, state: UpsertState | undefined): void {
    const start = out.size;
    try {
      if (this.upsert) this.decodeUpsert(m, topic, partition, out, state!);
      else if (this.changelog) {
        if (m.value === null) return;
        this.changelog.decode(m.value, out);
        for (let r = start; r < out.size; r++) this.setMeta(m, topic, partition, out.cols, r);
      } else {
        if (m.value === null) return;
        const r = out.startRow(RowKind.INSERT);
        this.value!.decode(m.value, out.cols, r);
        if (this.key) this.decodeKey(m, out.cols, r);
        this.setMeta(m, topic, partition, out.cols, r);
      }
    } catch (e) {
      out.truncate(start);
      throw e;
    }
  }

  private decodeKey(m: FetchedMessage, cols: unknown[][], row: number): void {
    if (m.key === null) {
      for (const c of this.keyColumns) cols[c][row] = null;
      return;
    }
    this.key!.decode(m.key, cols, row);
  }

  private decodeUpsert(m: FetchedMessage, topic: string, partition: number, out: RowBuffer, state: UpsertState): void {
    if (m.key === null) throw new ConvertError('an upsert-kafka message needs a key');
    const k = m.key.toString('latin1');
    const prev = state.get(k);
    if (m.value === null) {
      if (prev === undefined) return;
      state.delete(k);
      this.writeRow(out, RowKind.DELETE, prev);
      return;
    }
    if (prev !== undefined) this.writeRow(out, RowKind.UPDATE_BEFORE, prev);
    const r = out.startRow(prev === undefined ? RowKind.INSERT : RowKind.UPDATE_AFTER);
    this.value!.decode(m.value, out.cols, r);
    if (this.key) this.key.decode(m.key, out.cols, r);
    this.setMeta(m, topic, partition, out.cols, r);
    const row = new Array(this.arity);
    for (let c = 0; c < this.arity; c++) row[c] = out.cols[c][r];
    state.set(k, row);
  }

  private writeRow(out: RowBuffer, kind: number, values: readonly unknown[]): void {
    const r = out.startRow(kind);
    for (let c = 0; c < this.arity; c++) out.cols[c][r] = values[c];
  }

  private setMeta(m: FetchedMessage, topic: string, partition: number, cols: unknown[][], row: number): void {
    for (const { column, key } of this.meta) {
      let v: unknown;
      switch (key) {
        case 'topic':
          v = topic;
          break;
        case 'partition':
          v = partition;
          break;
        case 'offset':
          v = Number(m.offset);
          break;
        case 'timestamp':
          v = Number(m.timestamp);
          break;
        case 'timestamp-type':
          v = m.batchContext.timestampType === 1 ? 'LogAppendTime' : 'CreateTime';
          break;
        case 'leader-epoch':
          v = null;
          break;
        default:
          v = null;
      }
      cols[column][row] = v;
    }
  }
}
