/**
 * Rows of the open transaction held in memory until they are written. Batches are kept by
 * reference (they are immutable once emitted); an upsert buffer also keeps, per primary key, a
 * reference to the key's last change, so a flush writes each key once (ON CONFLICT DO UPDATE
 * cannot touch a row twice in one statement) and a row updated many times between flushes costs
 * one write.
 *
 * A row reference packs (batch index, row) into one number: no object per row.
 */
import type { Schema } from '../../src/model/types.js';
import type { ChangeBatch } from '../../src/model/changelog.js';
import { RowKind } from '../../src/model/changelog.js';
import { internalError } from '../../src/errors.js';
import { compileCopyEncoder, compileCopyRefsEncoder, CopyWriter, ROW_BITS, type CopyBatchEncoder, type CopyRefsEncoder } from './copy-writer.js';
import { arrayElement, columnEncoder, type ColumnEncoder } from './pg-values.js';

/** Encodes rows of a schema as COPY text and as array-literal parameters. */
export class RowEncoder {
  private readonly encoders: ColumnEncoder[];
  private readonly texts: ((v: unknown) => string)[];
  private readonly encodeBatch: CopyBatchEncoder;
  private readonly encodeRefs: CopyRefsEncoder;

  constructor(schema: Schema) {
    const types = schema.fields.map((f) => f.type);
    this.encoders = types.map(columnEncoder);
    this.texts = this.encoders.map((e) => e.text);
    this.encodeBatch = compileCopyEncoder(types, this.encoders);
    this.encodeRefs = compileCopyRefsEncoder(types, this.encoders);
  }

  /** COPY data of whole batches, in ~1 MiB chunks; `tail` ends every line (see CopyBatchEncoder). */
  copyBatches(batches: readonly ChangeBatch[], tail?: Uint8Array): Buffer[] {
    const w = new CopyWriter();
    for (const b of batches) this.encodeBatch(w, b.columns, b.size, tail);
    return w.finish();
  }

  /** COPY data of referenced rows (error diagnosis of an upsert flush). */
  copyRefs(batches: readonly ChangeBatch[], refs: readonly number[]): Buffer[] {
    const w = new CopyWriter();
    this.encodeRefs(w, batches, refs);
    return w.finish();
  }

  /** COPY data of an upsert flush for the staging table: its deletes and its upserts, each line with its tail. */
  copyChanges(work: Flushable, deleteTail: Uint8Array, upsertTail: Uint8Array): Buffer[] {
    const w = new CopyWriter();
    this.encodeRefs(w, work.batches, work.deletes, deleteTail);
    this.encodeRefs(w, work.batches, work.upserts, upsertTail);
    return w.finish();
  }

  /** `{v1,v2,...}` of column `c` over the referenced rows: one array parameter. */
  arrayLiteral(batches: readonly ChangeBatch[], refs: readonly number[], c: number): string {
    const text = this.texts[c];
    const quoted = this.encoders[c].quoted;
    let s = '{';
    for (let k = 0; k < refs.length; k++) {
      const ref = refs[k];
      const b = Math.floor(ref / ROW_BITS);
      const v = batches[b].columns[c][ref - b * ROW_BITS];
      if (k > 0) s += ',';
      s += v === null || v === undefined ? 'NULL' : arrayElement(text(v), quoted);
    }
    return `${s}}`;
  }
}

/** What a flush takes out of a buffer. */
export interface Flushable {
  readonly batches: readonly ChangeBatch[];
  /** Rows in it (append: all rows; upsert: upserted plus deleted keys). */
  readonly rows: number;
  /** Upsert only: rows whose key's last change is +I/+U, and rows whose key's last change is -U/-D. */
  readonly upserts: readonly number[];
  readonly deletes: readonly number[];
}

export interface RowBuffer {
  /** Rows (append) or distinct keys (upsert) held. */
  readonly size: number;
  add(batch: ChangeBatch): void;
  /** Everything held, and an empty buffer. */
  take(): Flushable;
}

export class AppendBuffer implements RowBuffer {
  private batches: ChangeBatch[] = [];
  size = 0;

  add(batch: ChangeBatch): void {
    const kinds = batch.kinds;
    for (let i = 0; i < batch.size; i++) {
      if (kinds[i] !== RowKind.INSERT) throw internalError('an append-only PostgreSQL sink (no primary key) received an update or delete');
    }
    this.batches.push(batch);
    this.size += batch.size;
  }

  take(): Flushable {
    const out: Flushable = { batches: this.batches, rows: this.size, upserts: [], deletes: [] };
    this.batches = [];
    this.size = 0;
    return out;
  }
}

type KeyFn = (columns: readonly unknown[][], i: number) => unknown;

function keyFunction(keyColumns: readonly number[]): KeyFn {
  const bytesKey = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v);
  if (keyColumns.length === 1) {
    const k = keyColumns[0];
    // Map keys compare numbers, strings and bigints by value; bytes need a string.
    return (columns, i) => bytesKey(columns[k][i]);
  }
  return (columns, i) => {
    let s = '';
    for (const k of keyColumns) {
      const v = bytesKey(columns[k][i]);
      s += `${typeof v === 'bigint' ? `${v}n` : String(v)}\u0000`;
    }
    return s;
  };
}

export class UpsertBuffer implements RowBuffer {
  private batches: ChangeBatch[] = [];
  private last = new Map<unknown, number>();
  private readonly keyOf: KeyFn;

  constructor(keyColumns: readonly number[]) {
    if (keyColumns.length === 0) throw internalError('an upsert buffer needs key columns');
    this.keyOf = keyFunction(keyColumns);
  }

  get size(): number {
    return this.last.size;
  }

  add(batch: ChangeBatch): void {
    if (batch.size >= ROW_BITS) throw internalError(`a batch of ${batch.size} rows is too large for the PostgreSQL sink`);
    const base = this.batches.length * ROW_BITS;
    this.batches.push(batch);
    const { columns } = batch;
    const last = this.last;
    const keyOf = this.keyOf;
    for (let i = 0; i < batch.size; i++) {
      last.set(keyOf(columns, i), base + i);
    }
  }

  take(): Flushable {
    const upserts: number[] = [];
    const deletes: number[] = [];
    const batches = this.batches;
    for (const ref of this.last.values()) {
      const b = Math.floor(ref / ROW_BITS);
      const kind = batches[b].kinds[ref - b * ROW_BITS];
      if (kind === RowKind.INSERT || kind === RowKind.UPDATE_AFTER) upserts.push(ref);
      else deletes.push(ref);
    }
    this.batches = [];
    this.last = new Map();
    return { batches, rows: upserts.length + deletes.length, upserts, deletes };
  }
}
