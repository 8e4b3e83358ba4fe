/**
 * Columnar encoding of keyed state for snapshots. v8.serialize writes a typed array as one memcpy
 * of its buffer, but every JS object or small array as a tagged value plus an entry in the
 * serializer's identity map; a column of a million numbers is therefore far cheaper (and smaller)
 * as one typed array than as a million array elements or objects. `packColumn` picks the
 * narrowest lossless encoding for the values it sees; `unpackColumn` gives them back.
 */
import { unreachable } from '../errors.js';

export type NumericArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/**
 * One packed column of `n` values:
 * - num: every value is a number (the narrowest typed array that holds all of them exactly);
 * - i64: every value is a bigint in the int64 range;
 * - `nulls` (num, i64): 1 marks a SQL NULL at that position (its data slot is 0);
 * - tuple: every value is an array of length `len`; `d[k]` is the column of element k;
 * - any: anything else, kept as a plain array (v8.serialize handles it).
 */
export type PackedColumn =
  | { readonly t: 'num'; readonly d: NumericArray; readonly nulls?: Uint8Array }
  | { readonly t: 'i64'; readonly d: BigInt64Array; readonly nulls?: Uint8Array }
  | { readonly t: 'tuple'; readonly len: number; readonly d: readonly PackedColumn[] }
  | { readonly t: 'any'; readonly d: readonly unknown[] };

const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** Kinds of value a column has shown so far. */
const K_NONE = 0;
const K_NUM = 1;
const K_BIG = 2;
const K_TUPLE = 3;

function numericArray(n: number, ints: boolean, min: number, max: number): NumericArray {
  if (!ints) return new Float64Array(n);
  if (min >= 0 && max <= 0xff) return new Uint8Array(n);
  if (min >= 0 && max <= 0xffff) return new Uint16Array(n);
  if (min >= -0x80000000 && max <= 0x7fffffff) return new Int32Array(n);
  if (min >= 0 && max <= 0xffffffff) return new Uint32Array(n);
  return new Float64Array(n);
}

/**
 * Packs `n` values: value i is `src[r * stride + offset]` with r = `sel[i]` when `sel` is given, else
 * r = i (so a row-major table packs one field at a time, without a copy of the field first). The
 * result holds no reference into `src` for num/i64/tuple columns; an `any` column holds the values.
 */
/**
 * Longest arrays packed as tuples (one column per position): rows and small accumulators. Longer
 * ones (a join key's list of rows) would become thousands of tiny columns, each a typed array that
 * V8's serializer writes slowly; they stay plain arrays.
 */
const MAX_TUPLE = 64;

export function packColumn(src: ArrayLike<unknown>, n: number, sel: Int32Array | null = null, stride = 1, offset = 0): PackedColumn {
  let kind = K_NONE;
  let nulls = 0;
  let ints = true;
  let min = Infinity;
  let max = -Infinity;
  let tupleLen = -1;
  for (let i = 0; i < n; i++) {
    const v = src[(sel === null ? i : sel[i]) * stride + offset];
    if (v === null) {
      nulls++;
      continue;
    }
    switch (typeof v) {
      case 'number':
        if (kind !== K_NUM) {
          if (kind !== K_NONE) return anyColumn(src, n, sel, stride, offset);
          kind = K_NUM;
        }
        if (ints) {
          // -0 and fractions need a Float64Array to come back exactly.
          if (!Number.isInteger(v) || (v === 0 && 1 / v < 0)) ints = false;
          else {
            if (v < min) min = v;
            if (v > max) max = v;
          }
        }
        break;
      case 'bigint':
        if (kind !== K_BIG) {
          if (kind !== K_NONE) return anyColumn(src, n, sel, stride, offset);
          kind = K_BIG;
        }
        if (v < MIN_I64 || v > MAX_I64) return anyColumn(src, n, sel, stride, offset);
        break;
      default:
        if (Array.isArray(v) && v.length <= MAX_TUPLE && (kind === K_NONE || kind === K_TUPLE) && (tupleLen === -1 || v.length === tupleLen)) {
          kind = K_TUPLE;
          tupleLen = v.length;
          break;
        }
        return anyColumn(src, n, sel, stride, offset);
    }
  }
  switch (kind) {
    case K_NONE:
      if (n === 0) return { t: 'any', d: [] };
      return { t: 'num', d: new Uint8Array(n), nulls: new Uint8Array(n).fill(1) };
    case K_NUM: {
      const d = numericArray(n, ints, min, max);
      if (nulls === 0) {
        for (let i = 0; i < n; i++) d[i] = src[(sel === null ? i : sel[i]) * stride + offset] as number;
        return { t: 'num', d };
      }
      const mask = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[(sel === null ? i : sel[i]) * stride + offset];
        if (v === null) mask[i] = 1;
        else d[i] = v as number;
      }
      return { t: 'num', d, nulls: mask };
    }
    case K_BIG: {
      const d = new BigInt64Array(n);
      const mask = nulls === 0 ? undefined : new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[(sel === null ? i : sel[i]) * stride + offset];
        if (v === null) mask![i] = 1;
        else d[i] = v as bigint;
      }
      return mask ? { t: 'i64', d, nulls: mask } : { t: 'i64', d };
    }
    case K_TUPLE: {
      if (nulls > 0) return anyColumn(src, n, sel, stride, offset);
      const parts: PackedColumn[] = new Array(tupleLen);
      const part: unknown[] = [];
      for (let k = 0; k < tupleLen; k++) {
        part.length = 0;
        for (let i = 0; i < n; i++) part.push((src[(sel === null ? i : sel[i]) * stride + offset] as unknown[])[k]);
        parts[k] = packColumn(part, n);
      }
      return { t: 'tuple', len: tupleLen, d: parts };
    }
    default:
      return anyColumn(src, n, sel, stride, offset);
  }
}

function anyColumn(src: ArrayLike<unknown>, n: number, sel: Int32Array | null, stride: number, offset: number): PackedColumn {
  const d: unknown[] = [];
  for (let i = 0; i < n; i++) d.push(src[(sel === null ? i : sel[i]) * stride + offset]);
  return { t: 'any', d };
}

/**
 * The values of a packed column, indexable 0..n-1. Numeric columns without nulls come back as the
 * typed array itself (no copy); tuples come back as fresh arrays, one per value.
 */
export function unpackColumn(c: PackedColumn, n: number): ArrayLike<unknown> {
  switch (c.t) {
    case 'num':
    case 'i64': {
      const nulls = c.nulls;
      if (nulls === undefined) return c.d;
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = nulls[i] === 1 ? null : c.d[i];
      return out;
    }
    case 'tuple': {
      const parts = c.d.map((p) => unpackColumn(p, n));
      const out: unknown[][] = new Array(n);
      for (let i = 0; i < n; i++) {
        const row = new Array(c.len);
        for (let k = 0; k < c.len; k++) row[k] = parts[k][i];
        out[i] = row;
      }
      return out;
    }
    case 'any':
      return c.d;
    default:
      return unreachable(c);
  }
}
