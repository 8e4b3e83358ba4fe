import { readFileSync } from 'node:fs';
import type { KeyGroupSection, KeyedStateSnapshot } from '../../src/state/state-backend.js';

/** A snapshot's sections, read out of its spool file when it has one. */
export function sectionsOf(s: KeyedStateSnapshot): KeyGroupSection[] {
  if (s.spooled === undefined) return [...s.sections];
  const file = readFileSync(s.spooled.path);
  return s.spooled.sections.map(([keyGroup, offset, length]) => ({ keyGroup, bytes: file.subarray(offset, offset + length) }));
}

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
    for (const sec of sectionsOf(s)) {
      if (!wanted(sec.keyGroup)) continue;
      let list = byGroup.get(sec.keyGroup);
      if (list === undefined) byGroup.set(sec.keyGroup, (list = []));
      list.push(sec.bytes);
    }
  }
  return [...byGroup.keys()].sort((a, b) => a - b).flatMap((kg) => byGroup.get(kg)!);
}
