/**
 * weir values <-> DuckDB: SQL type mapping, writing a column into a DuckDB vector (the Appender's
 * data-chunk fast path), and reading DuckDB values back into weir's representation (BIGINT comes
 * back as a JS bigint, DECIMAL as a value object, TIMESTAMP in microseconds).
 */
import type { DuckDBDecimalValue, DuckDBValue, DuckDBVector } from '@duckdb/node-api';
import type { SqlType } from '../../src/model/types.js';
import { internalError, unreachable } from '../../src/errors.js';
import { duckdb } from './duckdb-api.js';

/** Double-quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Single-quotes a string literal (file paths in COPY, which takes no parameters). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The DuckDB column type of a weir type. */
export function duckdbType(t: SqlType): string {
  switch (t.kind) {
    case 'TINYINT':
      return 'TINYINT';
    case 'SMALLINT':
      return 'SMALLINT';
    case 'INT':
      return 'INTEGER';
    case 'BIGINT':
      return 'BIGINT';
    case 'FLOAT':
      return 'FLOAT';
    case 'DOUBLE':
      return 'DOUBLE';
    case 'DECIMAL':
      return `DECIMAL(${t.precision ?? 10}, ${t.scale ?? 0})`;
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return 'VARCHAR';
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'DATE':
      return 'DATE';
    case 'TIME':
      return 'TIME';
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'TIMESTAMP_LTZ':
      return 'TIMESTAMPTZ';
    case 'BYTES':
      return 'BLOB';
    case 'NULL':
      return 'VARCHAR';
    default:
      return unreachable(t.kind);
  }
}

/**
 * Writes `col[from..from+count)` into `vector[at..)` (flushing is the caller's job). One function
 * literal per type, so each setItem call site sees a single vector class and stays monomorphic.
 */
export type ColumnWriter = (vector: DuckDBVector, at: number, col: readonly unknown[], from: number, count: number) => void;

// `vector.setItem` is typed per vector class; the writers below know which class they get.
type AnyVector = { setItem(i: number, v: unknown): void };

export function columnWriter(t: SqlType): ColumnWriter {
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) vec.setItem(at + i, col[from + i] ?? null);
      };
    case 'FLOAT':
    case 'DOUBLE':
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) vec.setItem(at + i, col[from + i] ?? null);
      };
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
    case 'NULL':
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) vec.setItem(at + i, col[from + i] ?? null);
      };
    case 'BOOLEAN':
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) vec.setItem(at + i, col[from + i] ?? null);
      };
    case 'BIGINT':
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as number | null | undefined;
          vec.setItem(at + i, v == null ? null : BigInt(v));
        }
      };
    case 'DECIMAL': {
      const p = t.precision ?? 10;
      const s = t.scale ?? 0;
      const { DuckDBDecimalValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as bigint | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBDecimalValue(v, p, s));
        }
      };
    }
    case 'DATE': {
      const { DuckDBDateValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as number | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBDateValue(v));
        }
      };
    }
    case 'TIME': {
      const { DuckDBTimeValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as number | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBTimeValue(BigInt(v) * 1000n));
        }
      };
    }
    case 'TIMESTAMP': {
      const { DuckDBTimestampValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as number | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBTimestampValue(BigInt(v) * 1000n));
        }
      };
    }
    case 'TIMESTAMP_LTZ': {
      const { DuckDBTimestampTZValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as number | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBTimestampTZValue(BigInt(v) * 1000n));
        }
      };
    }
    case 'BYTES': {
      const { DuckDBBlobValue } = duckdb();
      return (vector, at, col, from, count) => {
        const vec = vector as unknown as AnyVector;
        for (let i = 0; i < count; i++) {
          const v = col[from + i] as Uint8Array | null | undefined;
          vec.setItem(at + i, v == null ? null : new DuckDBBlobValue(v));
        }
      };
    }
    default:
      return unreachable(t.kind);
  }
}

const hasField = <K extends string>(v: object, k: K): v is Record<K, unknown> => k in v;

/** A value read from DuckDB (DuckDBValue) back into weir's representation for type `t`. */
export function fromDuckDB(v: DuckDBValue, t: SqlType): unknown {
  if (v === null || v === undefined) return null;
  switch (t.kind) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
      return typeof v === 'bigint' ? Number(v) : typeof v === 'object' && hasField(v, 'toDouble') ? (v as DuckDBDecimalValue).toDouble() : v;
    case 'DECIMAL': {
      const scale = t.scale ?? 0;
      if (v instanceof duckdb().DuckDBDecimalValue) {
        if (v.scale === scale) return v.value;
        return v.scale < scale ? v.value * 10n ** BigInt(scale - v.scale) : v.value / 10n ** BigInt(v.scale - scale);
      }
      if (typeof v === 'bigint') return v * 10n ** BigInt(scale);
      if (typeof v === 'number') return BigInt(Math.round(v * 10 ** scale));
      break;
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return typeof v === 'string' ? v : String(v);
    case 'BOOLEAN':
      return v;
    case 'DATE':
      if (v instanceof duckdb().DuckDBDateValue) return v.days;
      break;
    case 'TIME':
      if (typeof v === 'object' && hasField(v, 'micros')) return Number((v.micros as bigint) / 1000n);
      break;
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      if (typeof v === 'object' && hasField(v, 'micros')) return Number((v.micros as bigint) / 1000n);
      if (typeof v === 'object' && hasField(v, 'millis')) return Number(v.millis as bigint);
      if (typeof v === 'object' && hasField(v, 'nanos')) return Number((v.nanos as bigint) / 1000000n);
      if (typeof v === 'object' && hasField(v, 'seconds')) return Number(v.seconds as bigint) * 1000;
      break;
    case 'BYTES':
      if (v instanceof duckdb().DuckDBBlobValue) return new Uint8Array(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength);
      break;
    case 'NULL':
      return null;
    default:
      return unreachable(t.kind);
  }
  throw internalError(`cannot read DuckDB value ${String(v)} as ${t.kind}`);
}
