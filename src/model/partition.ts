/**
 * Key hashing shared by hash exchanges and keyed state. A key always goes to the same subtask for
 * a given parallelism, and restored keyed state is re-split with the same functions, so a job can
 * be restored with a different parallelism.
 */

/** Number of key groups; the upper bound for parallelism (as Flink's max parallelism). */
export const KEY_GROUPS = 128;

/** 32-bit FNV-1a over a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hash of one key value (any representation from src/expr/types.ts). */
export function hashValue(v: unknown): number {
  if (v === null || v === undefined) return 0x9e3779b9;
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return mix32(v | 0);
      return hashString(String(v));
    case 'string':
      return hashString(v);
    case 'boolean':
      return v ? 0x5bd1e995 : 0x1b873593;
    case 'bigint':
      return hashString(v.toString());
    default:
      if (v instanceof Uint8Array) return hashString(Buffer.from(v).toString('base64'));
      return hashString(String(v));
  }
}

/** Hash of row `row` over the key columns `keys`. */
export function hashRow(columns: readonly unknown[][], row: number, keys: readonly number[]): number {
  if (keys.length === 1) return hashValue(columns[keys[0]][row]);
  let h = 17;
  for (let k = 0; k < keys.length; k++) h = (Math.imul(h, 31) + hashValue(columns[keys[k]][row])) | 0;
  return mix32(h);
}

export function keyGroupOf(hash: number): number {
  return hash % KEY_GROUPS;
}

/** Subtask owning a key group: contiguous ranges of key groups, as in Flink. */
export function subtaskOfKeyGroup(keyGroup: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / KEY_GROUPS);
}

export function subtaskOfHash(hash: number, parallelism: number): number {
  return subtaskOfKeyGroup(keyGroupOf(hash), parallelism);
}

/** The key groups a subtask owns: `start` to `end` inclusive (subtaskOfKeyGroup's inverse). */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

export function keyGroupRange(subtask: number, parallelism: number): KeyGroupRange {
  return { start: Math.ceil((subtask * KEY_GROUPS) / parallelism), end: Math.ceil(((subtask + 1) * KEY_GROUPS) / parallelism) - 1 };
}
