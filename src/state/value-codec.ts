/**
 * A compact binary form for the values keyed state holds on disk: arrays (nested too) of
 * numbers, strings, booleans, null, undefined and bigints, which is what groups, rows and row
 * lists are. Anything else inside (Maps of a multiset accumulator, typed arrays, plain objects)
 * is embedded in V8's structured-clone format. V8's serializer costs a few microseconds a value
 * (an object per call, a header, a copy); this writes into one reused scratch buffer.
 *
 * Tags: 0 null, 1 undefined, 2 float64, 3 int32, 4 string (u32 byte length, UTF-8), 5 true,
 * 6 false, 7 bigint (u32 length, decimal), 8 array (u32 length, then its elements), 9 other
 * (u32 length, V8 format). All little-endian.
 */
import { deserialize, serialize } from 'node:v8';
import { internalError } from '../errors.js';

const NULL = 0;
const UNDEFINED = 1;
const FLOAT = 2;
const INT = 3;
const STRING = 4;
const TRUE = 5;
const FALSE = 6;
const BIGINT = 7;
const ARRAY = 8;
const OTHER = 9;

let scratch = Buffer.allocUnsafe(64 * 1024);
let at = 0;

function room(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < at + bytes) size *= 2;
  const next = Buffer.allocUnsafe(size);
  scratch.copy(next, 0, 0, at);
  scratch = next;
}

function put(v: unknown): void {
  if (v === null) {
    room(1);
    scratch[at++] = NULL;
    return;
  }
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        room(5);
        scratch[at] = INT;
        scratch.writeInt32LE(v, at + 1);
        at += 5;
      } else {
        room(9);
        scratch[at] = FLOAT;
        scratch.writeDoubleLE(v, at + 1);
        at += 9;
      }
      return;
    case 'string': {
      room(5 + v.length * 3);
      scratch[at] = STRING;
      const n = scratch.write(v, at + 5, 'utf8');
      scratch.writeUInt32LE(n, at + 1);
      at += 5 + n;
      return;
    }
    case 'boolean':
      room(1);
      scratch[at++] = v ? TRUE : FALSE;
      return;
    case 'undefined':
      room(1);
      scratch[at++] = UNDEFINED;
      return;
    case 'bigint': {
      const s = v.toString();
      room(5 + s.length);
      scratch[at] = BIGINT;
      scratch.writeUInt32LE(s.length, at + 1);
      scratch.write(s, at + 5, 'latin1');
      at += 5 + s.length;
      return;
    }
  }
  if (Array.isArray(v)) {
    room(5);
    scratch[at] = ARRAY;
    scratch.writeUInt32LE(v.length, at + 1);
    at += 5;
    for (let i = 0; i < v.length; i++) put(v[i]);
    return;
  }
  const b = serialize(v);
  room(5 + b.length);
  scratch[at] = OTHER;
  scratch.writeUInt32LE(b.length, at + 1);
  b.copy(scratch, at + 5);
  at += 5 + b.length;
}

/** `value` encoded after `header` bytes the caller fills in. */
export function encodeCompact(value: unknown, header: number): Buffer {
  at = header;
  room(0);
  put(value);
  const out = Buffer.allocUnsafe(at);
  scratch.copy(out, 0, 0, at);
  return out;
}

/** Reads one value at `pos`; returns it and sets `pos` past it (module state: not reentrant). */
let pos = 0;

function get(b: Buffer): unknown {
  const tag = b[pos++];
  switch (tag) {
    case NULL:
      return null;
    case UNDEFINED:
      return undefined;
    case INT:
      pos += 4;
      return b.readInt32LE(pos - 4);
    case FLOAT:
      pos += 8;
      return b.readDoubleLE(pos - 8);
    case STRING: {
      const n = b.readUInt32LE(pos);
      pos += 4 + n;
      return b.toString('utf8', pos - n, pos);
    }
    case TRUE:
      return true;
    case FALSE:
      return false;
    case BIGINT: {
      const n = b.readUInt32LE(pos);
      pos += 4 + n;
      return BigInt(b.toString('latin1', pos - n, pos));
    }
    case ARRAY: {
      const n = b.readUInt32LE(pos);
      pos += 4;
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = get(b);
      return a;
    }
    case OTHER: {
      const n = b.readUInt32LE(pos);
      pos += 4 + n;
      return deserialize(b.subarray(pos - n, pos));
    }
    default:
      throw internalError(`keyed state on disk holds a value of unknown tag ${String(tag)}`);
  }
}

/** The value encoded at `b[start ...]`. */
export function decodeCompact(b: Buffer, start: number): unknown {
  pos = start;
  const v = get(b);
  if (pos !== b.length) throw internalError(`keyed state on disk holds a value of ${b.length} bytes, read ${pos}`);
  return v;
}
