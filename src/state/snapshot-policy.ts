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

export interface SnapshotPolicyOptions {
  /** Incremental snapshots in a row before a whole one (default MAX_CHANGE_SNAPSHOTS). */
  readonly maxChangeSnapshots?: number;
  /**
   * Without it, a whole snapshot comes once the changes since the last one add up to its size.
   * With it, once the restore chain (the last whole snapshot and the changes since) exceeds
   * `chainFactor` times the state's size now, estimated from the last whole snapshot's bytes per
   * key: for a backend whose whole snapshot costs far more than its bytes (reading every entry
   * of a store), so that keys that are only added (the chain is the state) never cause one.
   */
  readonly chainFactor?: number;
}

export class SnapshotPolicy {
  /** Incremental snapshots since the last whole one, and their bytes; the last whole one's bytes and keys. */
  private changeSnapshots = 0;
  private changeBytes = 0;
  private wholeBytes = 0;
  private wholeKeys = 0;
  private readonly maxChangeSnapshots: number;

  constructor(private readonly options: SnapshotPolicyOptions = {}) {
    this.maxChangeSnapshots = options.maxChangeSnapshots ?? MAX_CHANGE_SNAPSHOTS;
  }

  /**
   * Whether the snapshot asked for may be one of changes (`tracking`: changes have been recorded;
   * `keys`: keys held now, used with chainFactor).
   */
  incremental(asked: boolean | undefined, tracking: boolean, keys = 0): boolean {
    if (!(asked === true && tracking && this.changeSnapshots < this.maxChangeSnapshots)) return false;
    const factor = this.options.chainFactor;
    if (factor === undefined || this.wholeKeys === 0) return this.changeBytes <= this.wholeBytes;
    return this.wholeBytes + this.changeBytes <= factor * (this.wholeBytes / this.wholeKeys) * keys;
  }

  /** A snapshot was written: `bytes` long, of a state of `keys` keys (used with chainFactor). */
  record(incremental: boolean, bytes: number, keys = 0): void {
    if (incremental) {
      this.changeSnapshots++;
      this.changeBytes += bytes;
    } else {
      this.changeSnapshots = 0;
      this.changeBytes = 0;
      this.wholeBytes = bytes;
      this.wholeKeys = keys;
    }
  }
}

export function entriesOf(byGroup: Map<number, SectionEntry[]>, g: number): SectionEntry[] {
  let list = byGroup.get(g);
  if (list === undefined) byGroup.set(g, (list = []));
  return list;
}
