/**
 * COPY text format written straight into byte buffers: integers as ASCII digits and ASCII
 * strings byte by byte (escaping `\`, newline, carriage return and tab on the way), so encoding
 * builds no intermediate JS strings for the common types. The per-schema row loop is generated
 * once per sink with the columns unrolled, so each column's conversion is a call site of its own.
 */
import type { SqlType } from '../../src/model/types.js';
import type { ColumnEncoder } from './pg-values.js';

const CHUNK_BYTES = 1 << 20;
const BACKSLASH = 92;
const TAB = 9;
const NEWLINE = 10;
const CR = 13;
/** Row references pack (batch index, row) as batch * ROW_BITS + row (see row-buffer.ts). */
export const ROW_BITS = 2 ** 24;

/** Appends bytes to ~1 MiB buffers. */
export class CopyWriter {
  readonly chunks: Buffer[] = [];
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    this.pos = 0;
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.room(1);
    this.buf[this.pos++] = b;
  }

  /** `\N` */
  nullValue(): void {
    this.room(2);
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = 78;
  }

  /** A JS number that is an integer; other numbers go through their string form. */
  int(v: number): void {
    if (v !== (v | 0)) {
      if (Number.isSafeInteger(v)) this.bigInt(v);
      else this.text(String(v));
      return;
    }
    this.room(11);
    const buf = this.buf;
    let n = v;
    if (n < 0) {
      buf[this.pos++] = 45;
      // -2^31 has no positive int32: its digits are written from a double.
      if (n === -2147483648) {
        this.text('2147483648');
        return;
      }
      n = -n;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
    let end = this.pos + digits;
    this.pos = end;
    do {
      const q = (n / 10) | 0;
      buf[--end] = 48 + n - q * 10;
      n = q;
    } while (n > 0);
  }

  /** A safe integer beyond int32: the high digits, then the low nine zero-padded. */
  private bigInt(v: number): void {
    let n = v;
    if (n < 0) {
      this.byte(45);
      n = -n;
    }
    const hi = Math.floor(n / 1e9);
    let lo = n - hi * 1e9;
    this.int(hi);
    this.room(9);
    const buf = this.buf;
    for (let end = this.pos + 8; end >= this.pos; end--) {
      const q = (lo / 10) | 0;
      buf[end] = 48 + lo - q * 10;
      lo = q;
    }
    this.pos += 9;
  }

  /** Raw bytes (a precomputed row tail: short, so copied in JS rather than by a native call). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let j = 0; j < n; j++) buf[pos++] = b[j];
    this.pos = pos;
  }

  /** Text that needs no escaping (numbers, dates, ...). */
  text(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A string value, escaped for COPY. */
  escaped(s: string): void {
    const n = s.length;
    this.room(n * 2);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Non-ASCII: the rest through the UTF-8 encoder (escaping first when needed).
        this.pos = pos;
        const rest = s.slice(i);
        this.text(/[\\\n\r\t]/.test(rest) ? rest.replace(/[\\\n\r\t]/g, escapeChar) : rest);
        return;
      }
      if (c === BACKSLASH || c === TAB || c === NEWLINE || c === CR) {
        buf[pos++] = BACKSLASH;
        buf[pos++] = c === BACKSLASH ? BACKSLASH : c === TAB ? 116 : c === NEWLINE ? 110 : 114;
      } else {
        buf[pos++] = c;
      }
    }
    this.pos = pos;
  }

  /** The bytes written, as chunks. */
  finish(): Buffer[] {
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    this.pos = 0;
    this.buf = Buffer.alloc(0);
    return this.chunks;
  }
}

function escapeChar(c: string): string {
  return c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r';
}

/**
 * Writes rows [0, n) of `columns` (one batch) as COPY text lines. With `tail`, each line ends with
 * a tab and those bytes (which end with the newline) instead of a newline: constant trailing
 * columns, e.g. the staging tag.
 */
export type CopyBatchEncoder = (w: CopyWriter, columns: readonly unknown[][], n: number, tail?: Uint8Array) => void;

/** Writes the rows `refs` point at (batch index * 2^24 + row, as in row-buffer.ts), like CopyBatchEncoder. */
export type CopyRefsEncoder = (
  w: CopyWriter,
  batches: readonly { readonly columns: readonly unknown[][] }[],
  refs: readonly number[],
  tail?: Uint8Array,
) => void;

/** Statements writing column c's value `v` (already loaded) and the separator after it. */
function columnLines(types: readonly SqlType[], encoders: readonly ColumnEncoder[]): string[] {
  const lines: string[] = [];
  types.forEach((t, c) => {
    let write: string;
    switch (t.kind) {
      case 'TINYINT':
      case 'SMALLINT':
      case 'INT':
      case 'BIGINT':
        write = 'w.int(v)';
        break;
      case 'CHAR':
      case 'VARCHAR':
      case 'STRING':
        write = "w.escaped(typeof v === 'string' ? v : String(v))";
        break;
      default:
        write = encoders[c].quoted ? `w.escaped(f${c}(v))` : `w.text(f${c}(v))`;
    }
    const end = c === types.length - 1 ? `if (tail === undefined) w.byte(${NEWLINE}); else { w.byte(${TAB}); w.bytes(tail); }` : `w.byte(${TAB});`;
    lines.push(`v = c${c}[i];`, `if (v === null || v === undefined) w.nullValue(); else ${write};`, end);
  });
  return lines;
}

/** Generates the row loop of a schema (see the module comment). */
export function compileCopyEncoder(types: readonly SqlType[], encoders: readonly ColumnEncoder[]): CopyBatchEncoder {
  const lines = columnLines(types, encoders);
  const names = types.map((_, c) => `f${c}`);
  const body = `
    return function encode(w, columns, n, tail) {
      ${types.map((_, c) => `const c${c} = columns[${c}];`).join(' ')}
      let v;
      for (let i = 0; i < n; i++) {
        ${lines.join('\n        ')}
      }
    };`;
  const factory = new Function(...names, body) as (...fns: ((v: unknown) => string)[]) => CopyBatchEncoder;
  return factory(...encoders.map((e) => e.text));
}

/** The same row loop over row references; the column arrays are reloaded only when the batch changes. */
export function compileCopyRefsEncoder(types: readonly SqlType[], encoders: readonly ColumnEncoder[]): CopyRefsEncoder {
  const lines = columnLines(types, encoders);
  const names = types.map((_, c) => `f${c}`);
  const cols = types.map((_, c) => `c${c}`);
  const body = `
    return function encodeRefs(w, batches, refs, tail) {
      let ${cols.map((c) => `${c} = undefined`).join(', ')};
      let v, b = -1;
      for (let k = 0; k < refs.length; k++) {
        const ref = refs[k];
        const bi = Math.floor(ref / ${ROW_BITS});
        const i = ref - bi * ${ROW_BITS};
        if (bi !== b) {
          b = bi;
          const columns = batches[bi].columns;
          ${cols.map((c, j) => `${c} = columns[${j}];`).join(' ')}
        }
        ${lines.join('\n        ')}
      }
    };`;
  const factory = new Function(...names, body) as (...fns: ((v: unknown) => string)[]) => CopyRefsEncoder;
  return factory(...encoders.map((e) => e.text));
}
