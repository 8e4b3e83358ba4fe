import type { DuckDBAppender, DuckDBDataChunk, DuckDBType, DuckDBVector } from '@duckdb/node-api';
import { duckdb } from './duckdb-api.js';
import type { SqlType } from '../../src/model/types.js';
import { externalError, internalError } from '../../src/errors.js';
import { columnWriter, type ColumnWriter } from './duckdb-values.js';

/** DuckDB's vector size: rows per data chunk. */
const CHUNK_ROWS = 2048;

/**
 * Feeds columnar rows into a DuckDB Appender through data chunks (the fast path: one typed-array
 * write per value and one native call per column per 2048 rows, instead of one call per value).
 * Rows are buffered until a chunk is full; flush() appends the partial chunk and flushes the
 * Appender, after which the rows are committed in DuckDB.
 */
export class ChunkAppender {
  private readonly duckTypes: DuckDBType[];
  private readonly writers: ColumnWriter[];
  private chunk: DuckDBDataChunk | undefined;
  private vectors: DuckDBVector[] = [];
  private filled = 0;
  /** Rows appended since the last flush(). */
  pending = 0;

  constructor(
    private readonly appender: DuckDBAppender,
    /** The weir type of every column of the appended table, in order. */
    types: readonly SqlType[],
    private readonly what: string,
  ) {
    this.duckTypes = [];
    for (let c = 0; c < appender.columnCount; c++) this.duckTypes.push(appender.columnType(c));
    if (this.duckTypes.length !== types.length) {
      throw internalError(`${what}: the table has ${this.duckTypes.length} columns, the sink writes ${types.length}`);
    }
    this.writers = types.map(columnWriter);
  }

  /** Appends rows 0..count-1 of `cols` (one array per table column). */
  append(cols: readonly (readonly unknown[])[], count: number): void {
    let from = 0;
    try {
      while (from < count) {
        if (!this.chunk) {
          const chunk = duckdb().DuckDBDataChunk.create(this.duckTypes, CHUNK_ROWS);
          this.chunk = chunk;
          this.vectors = this.duckTypes.map((_, c) => chunk.getColumnVector(c));
          this.filled = 0;
        }
        const n = Math.min(CHUNK_ROWS - this.filled, count - from);
        for (let c = 0; c < cols.length; c++) this.writers[c](this.vectors[c], this.filled, cols[c], from, n);
        this.filled += n;
        from += n;
        if (this.filled === CHUNK_ROWS) this.appendChunk();
      }
    } catch (e) {
      throw externalError('DUCKDB_WRITE', `DuckDB: cannot append to ${this.what}: ${(e as Error).message}`, { cause: e, retriable: false });
    }
    this.pending += count;
  }

  private appendChunk(): void {
    const chunk = this.chunk!;
    for (const v of this.vectors) v.flush();
    if (this.filled !== CHUNK_ROWS) chunk.rowCount = this.filled;
    this.appender.appendDataChunk(chunk);
    this.chunk = undefined;
    this.vectors = [];
    this.filled = 0;
  }

  /** Appends buffered rows and flushes the Appender (DuckDB commits them). */
  flush(): void {
    try {
      if (this.filled > 0) this.appendChunk();
      this.appender.flushSync();
    } catch (e) {
      throw externalError('DUCKDB_WRITE', `DuckDB: cannot flush rows into ${this.what}: ${(e as Error).message}`, { cause: e });
    }
    this.pending = 0;
  }

  /** Drops buffered, not yet appended rows. */
  discard(): void {
    this.chunk = undefined;
    this.vectors = [];
    this.filled = 0;
  }

  close(): void {
    this.discard();
    try {
      this.appender.closeSync();
    } catch {
      // closing after a failed flush may throw again; the connection is closed next anyway
    }
  }
}
