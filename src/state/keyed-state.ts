import { subtaskOfHash } from '../model/partition.js';
import { deserializeState, serializeState } from './serde.js';

/**
 * Helpers for operators whose state is a Map keyed by the hash-partitioning key. After a restore
 * with a different parallelism a subtask receives every old subtask's snapshot and must keep
 * exactly the keys that the hash exchange now routes to it: `subtaskOfHash(hash, parallelism)`.
 */

/** Whether the subtask owns keys with this hash (the same function the hash exchange uses). */
export function ownsKey(hash: number, subtaskIndex: number, parallelism: number): boolean {
  return subtaskOfHash(hash, parallelism) === subtaskIndex;
}

/** Serializes a keyed map (v8 structured clone keeps Map, bigint, nested arrays). */
export function snapshotKeyedMap<K, V>(map: ReadonlyMap<K, V>): Uint8Array {
  return serializeState(map);
}

/**
 * Rebuilds a keyed map from restored snapshots, keeping only this subtask's keys. `hashOfKey` must
 * give the hash the exchange computes for the row that produced the key (e.g. `hashRow` over the
 * key columns, or `hashValue` for a single key column).
 */
export function restoreKeyedMap<K, V>(restored: readonly Uint8Array[], hashOfKey: (key: K) => number, subtaskIndex: number, parallelism: number): Map<K, V> {
  const out = new Map<K, V>();
  for (const bytes of restored) {
    const part = deserializeState<Map<K, V>>(bytes);
    for (const [k, v] of part) {
      if (ownsKey(hashOfKey(k), subtaskIndex, parallelism)) out.set(k, v);
    }
  }
  return out;
}
