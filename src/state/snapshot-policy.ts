/**
 * When a backend's snapshot may hold only changes: shared by the heap and the disk backend, so
 * both follow the same rule.
 */
import type { SectionEntry } from './heap-sections.js';

/**
 * Incremental snapshots in a row before a whole one: bounds how many sections a restore reads
 * per key group (a whole one is also taken once the changes since the last add up to its size).
 */
export const MAX_CHANGE_SNAPSHOTS = 20;

export class SnapshotPolicy {
  /** Incremental snapshots since the last whole one, and their bytes; the last whole one's bytes. */
  private changeSnapshots = 0;
  private changeBytes = 0;
  private wholeBytes = 0;

  /** Whether the snapshot asked for may be one of changes (`tracking`: changes have been recorded). */
  incremental(asked: boolean | undefined, tracking: boolean): boolean {
    return asked === true && tracking && this.changeSnapshots < MAX_CHANGE_SNAPSHOTS && this.changeBytes <= this.wholeBytes;
  }

  record(incremental: boolean, bytes: number): void {
    if (incremental) {
      this.changeSnapshots++;
      this.changeBytes += bytes;
    } else {
      this.changeSnapshots = 0;
      this.changeBytes = 0;
      this.wholeBytes = bytes;
    }
  }
}

export function entriesOf(byGroup: Map<number, SectionEntry[]>, g: number): SectionEntry[] {
  let list = byGroup.get(g);
  if (list === undefined) byGroup.set(g, (list = []));
  return list;
}
