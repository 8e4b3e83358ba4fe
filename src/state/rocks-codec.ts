/**
 * How the disk backend lays state out in its store. A key is
 * `[subtask store: u16][key group: u16][state id: u16][kind: u8][the key]`: the subtasks of a
 * process share one store, each under its own prefix, and one state's entries of one key group
 * are one key range (a whole snapshot scans it, a restore replaces it); the key is a number
 * (kind 1, a float64) or a string (kind 2, UTF-8), what rowMapKey and valuesMapKey give. A value is
 * `[flags: u8][last write: float64][the value]`, the value in value-codec.ts's compact form (flag
 * COMPACT) or V8's structured-clone format; flag RAW marks a value restored from a checkpoint and
 * not yet converted by its state's `migrate`.
 */
import { deserialize } from 'node:v8';
import { internalError } from '../errors.js';
import { decodeCompact, encodeCompact } from './value-codec.js';

const KEY_HEADER = 7;
const NUMBER = 1;
const STRING = 2;
export const RAW = 1;
/** The value is in value-codec.ts's compact form (else V8's structured-clone format). */
const COMPACT = 2;
const VALUE_HEADER = 9;

export function encodeKey(prefix: number, keyGroup: number, stateId: number, key: unknown): Buffer {
  if (typeof key === 'number') {
    const b = Buffer.allocUnsafe(KEY_HEADER + 8);
    writeHeader(b, prefix, keyGroup, stateId, NUMBER);
    b.writeDoubleBE(key, KEY_HEADER);
    return b;
  }
  if (typeof key === 'string') {
    const len = Buffer.byteLength(key);
    const b = Buffer.allocUnsafe(KEY_HEADER + len);
    writeHeader(b, prefix, keyGroup, stateId, STRING);
    b.write(key, KEY_HEADER, 'utf8');
    return b;
  }
  throw internalError(`keyed state on disk takes number and string keys, not ${typeof key}`);
}

function writeHeader(b: Buffer, prefix: number, keyGroup: number, stateId: number, kind: number): void {
  b.writeUInt16BE(prefix, 0);
  b.writeUInt16BE(keyGroup, 2);
  b.writeUInt16BE(stateId, 4);
  b[6] = kind;
}

export function decodeKey(b: Buffer): unknown {
  if (b[6] === NUMBER) return b.readDoubleBE(KEY_HEADER);
  if (b[6] === STRING) return b.toString('utf8', KEY_HEADER);
  throw internalError(`keyed state on disk holds a key of unknown kind ${b[6]}`);
}

function u16s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

/** The key range [gte, lt) of one state's entries in one key group (state ids stay below 0xffff). */
export function stateRange(prefix: number, keyGroup: number, stateId: number): [Buffer, Buffer] {
  return [u16s(prefix, keyGroup, stateId), u16s(prefix, keyGroup, stateId + 1)];
}

/** The key range [gte, lt) of everything under one subtask prefix (prefixes stay below 0xffff). */
export function prefixRange(prefix: number): [Buffer, Buffer] {
  return [u16s(prefix), u16s(prefix + 1)];
}

export function encodeValue(value: unknown, written: number, flags = 0): Buffer {
  const b = encodeCompact(value, VALUE_HEADER);
  b[0] = flags | COMPACT;
  b.writeDoubleLE(written, 1);
  return b;
}

/** Store writes: a put (a value) or a delete (null). */
export type WriteOpList = [key: Buffer, value: Buffer | null][];

export interface DecodedValue {
  readonly value: unknown;
  readonly written: number;
  readonly flags: number;
}

export function decodeValue(b: Buffer): DecodedValue {
  const flags = b[0]!;
  const value = (flags & COMPACT) !== 0 ? decodeCompact(b, VALUE_HEADER) : deserialize(b.subarray(VALUE_HEADER));
  return { flags, written: b.readDoubleLE(1), value };
}
