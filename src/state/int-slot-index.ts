/**
 * A hash index from int32 keys to slot numbers, for keyed state whose key is one integer column
 * (the common GROUP BY id case). Open addressing with linear probing over one Int32Array of
 * (key, slot) pairs: a lookup usually reads one cache line, where a JS Map reads a bucket and then
 * an entry (about twice as fast at 100k+ keys). Deletion shifts the rest of the probe run back, so
 * there are no tombstones and lookups never slow down after many deletes.
 */

const EMPTY = -1;

function home(key: number, mask: number): number {
  let x = Math.imul(key ^ (key >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) & mask;
}

export class Int32SlotIndex {
  /** Entry p: key at 2p, slot at 2p + 1 (EMPTY when the entry is free). */
  private table: Int32Array;
  private mask: number;
  private count = 0;

  /** `capacity`: a power of two, the initial number of entries (grows at half full). */
  constructor(capacity = 1024) {
    this.table = new Int32Array(capacity * 2).fill(EMPTY);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The slot of `key` (an int32), or -1 when absent. */
  get(key: number): number {
    const t = this.table;
    const mask = this.mask;
    let p = home(key, mask);
    for (;;) {
      const slot = t[2 * p + 1];
      if (slot === EMPTY || t[2 * p] === key) return slot;
      p = (p + 1) & mask;
    }
  }

  /** Adds `key` (an int32 not in the index) with `slot` (>= 0). */
  add(key: number, slot: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const t = this.table;
    const mask = this.mask;
    let p = home(key, mask);
    while (t[2 * p + 1] !== EMPTY) p = (p + 1) & mask;
    t[2 * p] = key;
    t[2 * p + 1] = slot;
    this.count++;
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: number): boolean {
    const t = this.table;
    const mask = this.mask;
    let i = home(key, mask);
    for (;;) {
      const slot = t[2 * i + 1];
      if (slot === EMPTY) return false;
      if (t[2 * i] === key) break;
      i = (i + 1) & mask;
    }
    // Backward-shift: move each later entry of the run whose home is not in (i, j] into the hole.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (t[2 * j + 1] === EMPTY) break;
      const h = home(t[2 * j], mask);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      t[2 * i] = t[2 * j];
      t[2 * i + 1] = t[2 * j + 1];
      i = j;
    }
    t[2 * i + 1] = EMPTY;
    this.count--;
    return true;
  }

  /** Room for `entries` entries without growing again. */
  reserve(entries: number): void {
    let capacity = this.mask + 1;
    while (entries * 2 > capacity) capacity *= 2;
    if (capacity > this.mask + 1) this.rehash(capacity);
  }

  private rehash(capacity: number): void {
    const old = this.table;
    this.table = new Int32Array(capacity * 2).fill(EMPTY);
    this.mask = capacity - 1;
    this.count = 0;
    for (let p = 0; p < old.length; p += 2) if (old[p + 1] !== EMPTY) this.add(old[p], old[p + 1]);
  }
}
