/**
 * Flink's `debezium-json` changelog format. A message is a Debezium change event
 * `{"before": {...}, "after": {...}, "op": "c" | "r" | "u" | "d", ...}`, optionally wrapped as
 * `{"schema": ..., "payload": {...}}` (Debezium's JsonConverter with schemas enabled; detected).
 * c/r -> +I(after); u -> -U(before), +U(after); d -> -D(before). A null payload (the tombstone
 * Debezium writes after a delete) yields nothing. Writing: +I/+U as op "c" (after), -U/-D as op "d"
 * (before), as Flink does.
 */
import { RowKind } from '../../src/model/changelog.js';
import { ConvertError, payloadText, type ChangelogDecoder, type FormatField, type FormatOptions, type RowEncoder } from './format.js';
import { jsonObjectDecoder, jsonObjectWriter } from './json-format.js';

export function debeziumJsonDecoder(fields: readonly FormatField[], opts: FormatOptions): ChangelogDecoder {
  const fill = jsonObjectDecoder(fields, opts);
  const image = (ev: Record<string, unknown>, which: 'before' | 'after', op: string): unknown => {
    const v = ev[which];
    if (v === null || v === undefined) {
      throw new ConvertError(
        which === 'before' && op === 'u'
          ? `the "before" image of an update (op "u") is null; the source table needs full before images (PostgreSQL: REPLICA IDENTITY FULL)`
          : `the "${which}" image of op "${op}" is missing`,
      );
    }
    return v;
  };
  return {
    decode(payload, out) {
      let ev = JSON.parse(payloadText(payload)) as unknown;
      if (ev === null) return;
      if (typeof ev !== 'object' || Array.isArray(ev)) throw new ConvertError('expected a Debezium change event (a JSON object)');
      let rec = ev as Record<string, unknown>;
      if (rec.op === undefined && rec.payload !== null && typeof rec.payload === 'object') {
        ev = rec.payload;
        rec = ev as Record<string, unknown>;
      }
      const op = rec.op;
      switch (op) {
        case 'c':
        case 'r':
          fill(image(rec, 'after', op), out.cols, out.startRow(RowKind.INSERT));
          return;
        case 'u': {
          const before = image(rec, 'before', op);
          const after = image(rec, 'after', op);
          fill(before, out.cols, out.startRow(RowKind.UPDATE_BEFORE));
          fill(after, out.cols, out.startRow(RowKind.UPDATE_AFTER));
          return;
        }
        case 'd':
          fill(image(rec, 'before', op), out.cols, out.startRow(RowKind.DELETE));
          return;
        case 't':
        case 'm':
          // truncate and message events carry no row
          return;
        default:
          throw new ConvertError(`unknown Debezium operation ${JSON.stringify(op)} (expected "c", "r", "u" or "d")`);
      }
    },
  };
}

export function debeziumJsonEncoder(fields: readonly FormatField[]): RowEncoder {
  const write = jsonObjectWriter(fields);
  return {
    encode(cols, row, kind) {
      const obj = write(cols, row);
      const body =
        kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER ? `{"before":null,"after":${obj},"op":"c"}` : `{"before":${obj},"after":null,"op":"d"}`;
      return Buffer.from(body, 'utf8');
    },
  };
}
