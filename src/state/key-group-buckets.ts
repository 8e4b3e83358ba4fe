import { KEY_GROUPS, keyGroupOf } from '../model/partition.js';

/**
 * Buckets items by the key group of their hash (the hash the exchange routes them by), as a
 * KeyGroupedStructure's snapshotKeyGroups hands them to the state layer: the non-empty buckets
 * as [key group, items], in key-group order; items keep the order they were given in.
 */
export function bucketByKeyGroup<T>(entries: Iterable<readonly [hash: number, item: T]>): [keyGroup: number, items: T[]][] {
  const buckets: (T[] | undefined)[] = new Array(KEY_GROUPS);
  for (const [hash, item] of entries) {
    const kg = keyGroupOf(hash);
    const bucket = buckets[kg];
    if (bucket === undefined) buckets[kg] = [item];
    else bucket.push(item);
  }
  const out: [number, T[]][] = [];
  for (let kg = 0; kg < KEY_GROUPS; kg++) {
    const bucket = buckets[kg];
    if (bucket !== undefined) out.push([kg, bucket]);
  }
  return out;
}
