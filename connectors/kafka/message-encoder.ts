/**
 * Turns sink rows into Kafka messages: key and value through their formats, the `timestamp`
 * metadata column into the record timestamp, the partition through `sink.partitioner`.
 * upsert-kafka writes +I/+U as the row under its key, -D as a tombstone (null value) and drops
 * -U (the +U that follows replaces the row); `debezium-json` writes every kind as a change event.
 */
import type { Message } from 'kafkajs';
import type { Schema } from '../../src/model/types.js';
import { formatType } from '../../src/model/types.js';
import { userError } from '../../src/errors.js';
import { RowKind, type ChangeBatch } from '../../src/model/changelog.js';
import { checkRawFields, rowEncoder, type FormatField, type RowEncoder } from '../formats/index.js';
import { defaultPartitioner, type Partitioner } from './kafka-internals.js';
import type { FormatSpec, KafkaConfig, SinkPartitioner } from './kafka-options.js';

/** The writable metadata key of a Kafka sink table. */
const WRITABLE_METADATA = ['timestamp'];

function encoderFor(spec: FormatSpec, schema: Schema, table: string): RowEncoder {
  const fields: FormatField[] = spec.columns.map((name, position) => {
    const column = schema.fields.findIndex((f) => f.name === name);
    return { field: { name: spec.fieldNames[position], type: schema.fields[column].type }, position, column };
  });
  if (spec.format === 'raw') checkRawFields(fields, fields.length, table);
  return rowEncoder(spec.format, fields, spec.options);
}

export class MessageEncoder {
  private readonly value: RowEncoder;
  private readonly key: RowEncoder | undefined;
  private readonly timestampColumn: number;
  private readonly upsert: boolean;

  constructor(config: KafkaConfig, schema: Schema) {
    const table = config.table;
    for (const c of table.columns) {
      if (c.kind === 'metadata' && !c.virtual && !WRITABLE_METADATA.includes(c.key)) {
        throw userError(
          'READ_ONLY_METADATA',
          `table '${table.name}': metadata column '${c.name}' ('${c.key}') cannot be written; declare it VIRTUAL to use the table as a sink`,
          {
            position: table.pos,
            details: { table: table.name, column: c.name },
          },
        );
      }
    }
    const tsCol = table.columns.find((c) => c.kind === 'metadata' && !c.virtual && c.key === 'timestamp');
    this.timestampColumn = tsCol ? schema.fields.findIndex((f) => f.name === tsCol.name) : -1;
    if (this.timestampColumn >= 0) {
      const t = schema.fields[this.timestampColumn].type;
      if (t.kind !== 'TIMESTAMP_LTZ' && t.kind !== 'TIMESTAMP' && t.kind !== 'BIGINT') {
        throw userError(
          'INVALID_METADATA_TYPE',
          `table '${table.name}': metadata column '${tsCol!.name}' ('timestamp') must be TIMESTAMP_LTZ(3), not ${formatType(t)}`,
          {
            position: table.pos,
          },
        );
      }
    }
    this.value = encoderFor(config.value, schema, table.name);
    this.key = config.key ? encoderFor(config.key, schema, table.name) : undefined;
    this.upsert = config.connector === 'upsert-kafka';
  }

  /** Appends the messages of a batch to `out`. */
  encode(batch: ChangeBatch, out: Message[]): void {
    const cols = batch.columns;
    const kinds = batch.kinds;
    const ts = this.timestampColumn;
    for (let i = 0; i < batch.size; i++) {
      const kind = kinds[i];
      let value: Buffer | null;
      if (this.upsert) {
        if (kind === RowKind.UPDATE_BEFORE) continue;
        value = kind === RowKind.DELETE ? null : this.value.encode(cols, i, kind);
      } else {
        value = this.value.encode(cols, i, kind);
      }
      const m: Message = { key: this.key ? this.key.encode(cols, i, kind) : null, value };
      if (ts >= 0) {
        const t = cols[ts][i];
        if (t !== null && t !== undefined) m.timestamp = String(t);
      }
      out.push(m);
    }
  }
}

/** A partitioner for `sink.partitioner` (Flink's semantics) for sink subtask `subtask`. */
export function createPartitioner(kind: SinkPartitioner, subtask: number): Partitioner {
  let cachedFrom: unknown;
  let cachedIds: number[] = [];
  const sortedIds = (meta: { partitionId: number }[]): number[] => {
    if (meta !== cachedFrom) {
      cachedFrom = meta;
      cachedIds = meta.map((p) => p.partitionId).sort((a, b) => a - b);
    }
    return cachedIds;
  };
  switch (kind) {
    case 'default':
      return defaultPartitioner();
    case 'fixed':
      // Flink's FlinkFixedPartitioner: subtask i writes partition i % n (of the sorted ids).
      return ({ partitionMetadata }) => {
        const ids = sortedIds(partitionMetadata);
        return ids[subtask % ids.length];
      };
    case 'round-robin': {
      let next = subtask;
      return ({ partitionMetadata }) => {
        const ids = sortedIds(partitionMetadata);
        return ids[next++ % ids.length];
      };
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown partitioner ${String(never)}`);
    }
  }
}
