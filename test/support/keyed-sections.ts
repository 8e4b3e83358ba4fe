import type { KeyedStateSnapshot } from '../../src/state/state-backend.js';

/**
 * Sections in chain order per key group, as restore.forOperator hands them to a backend: from the
 * last whole snapshot on, of the key groups `wanted` keeps.
 */
export function chained(snapshots: readonly KeyedStateSnapshot[], wanted: (kg: number) => boolean = () => true): Uint8Array[] {
  let since = 0;
  snapshots.forEach((s, i) => {
    if (!s.incremental) since = i;
  });
  const byGroup = new Map<number, Uint8Array[]>();
  for (const s of snapshots.slice(since)) {
    for (const sec of s.sections) {
      if (!wanted(sec.keyGroup)) continue;
      let list = byGroup.get(sec.keyGroup);
      if (list === undefined) byGroup.set(sec.keyGroup, (list = []));
      list.push(sec.bytes);
    }
  }
  return [...byGroup.keys()].sort((a, b) => a - b).flatMap((kg) => byGroup.get(kg)!);
}
