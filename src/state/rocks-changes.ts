/**
 * What a value state of the disk backend changed since its previous snapshot, with the values:
 * every changed key's value is encoded once anyway, for the store write that follows the change
 * (rocks-value-state.ts collectWrites), and a copy of those bytes is all an incremental snapshot
 * needs, so it never reads the changed keys back from the store (a multi-get costs ~15-30 µs a key
 * through the binding). A later write of the key replaces its bytes; the snapshot takes the set at
 * the barrier and the next writes go to a new one, so the bytes are the values as of the barrier.
 *
 * The bytes sit in an arena of 1 MiB buffers outside the V8 heap; a key maps to its offset. The
 * arenas of a backend's states share one budget (`ChangeBudget`): past it, a change records only
 * its key (READ_BACK), and the snapshot reads those keys' values through the store view it pinned
 * at the barrier, as before. So the change sets being filled cost at most the budget plus one map
 * entry per key (and as much again for the ones a snapshot in flight still decodes).
 */

/** The key was deleted. */
export const DELETED = -1;
/** The budget was spent when the key changed: its value is read from the store at the snapshot. */
export const READ_BACK = -2;

/**
 * Bytes and keys the change sets of one backend may hold; `used` and `keys` are reset when a
 * snapshot takes them. Bytes past `limit` are read back instead; keys past `keyLimit` (a map entry
 * in the heap each) overflow the set that records them: it forgets them all and the next snapshot
 * is whole, which reads the store once instead (and changes that many keys would be read back
 * mostly anyway). A table loaded by a CDC snapshot while no checkpoint completes is the case.
 */
export interface ChangeBudget {
  used: number;
  readonly limit: number;
  keys: number;
  readonly keyLimit: number;
}

const CHUNK = 1 << 20;
const LENGTH = 4;

export class ChangeSet<K> {
  /** Per key group - start: changed key -> arena offset of its value, or DELETED / READ_BACK. */
  readonly groups: Map<K, number>[];
  private readonly chunks: Buffer[] = [];
  /** Where the next value goes in the last chunk. */
  private at = CHUNK;
  /** Bytes of the budget this set holds. */
  private bytes = 0;
  /** More keys changed than the budget allows: none is kept, the next snapshot must be whole. */
  overflowed = false;

  constructor(
    groups: number,
    private readonly budget: ChangeBudget,
  ) {
    this.groups = Array.from({ length: groups }, () => new Map<K, number>());
  }

  /** Records that `key` (in key group `g` - start) now holds the value encoded in `value` (null: deleted). */
  record(g: number, key: K, value: Buffer | null): void {
    if (this.overflowed) return;
    const map = this.groups[g]!;
    const before = map.size;
    map.set(key, this.keep(value));
    if (map.size > before && ++this.budget.keys > this.budget.keyLimit) this.overflow();
  }

  /** Too many keys (ChangeBudget.keyLimit): forgets them and their bytes; the next snapshot must be whole. */
  private overflow(): void {
    this.overflowed = true;
    for (const m of this.groups) {
      this.budget.keys -= m.size;
      m.clear();
    }
    this.budget.used -= this.bytes;
    this.bytes = 0;
    this.chunks.length = 0;
    this.at = CHUNK;
  }

  /** Where `value`'s bytes are kept: an arena offset, DELETED, or READ_BACK past the budget. */
  private keep(value: Buffer | null): number {
    if (value === null) return DELETED;
    const size = LENGTH + value.length;
    if (this.budget.used + size > this.budget.limit) return READ_BACK;
    this.budget.used += size;
    this.bytes += size;
    if (size > CHUNK) {
      // A large value gets a chunk of its own (the chunk after it starts a fresh one).
      const b = Buffer.allocUnsafeSlow(size);
      b.writeUInt32LE(value.length, 0);
      value.copy(b, LENGTH);
      this.chunks.push(b);
      this.at = CHUNK;
      return (this.chunks.length - 1) * CHUNK;
    }
    if (this.at + size > CHUNK) {
      this.chunks.push(Buffer.allocUnsafeSlow(CHUNK));
      this.at = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1]!;
    chunk.writeUInt32LE(value.length, this.at);
    value.copy(chunk, this.at + LENGTH);
    const offset = (this.chunks.length - 1) * CHUNK + this.at;
    this.at += size;
    return offset;
  }

  /** The encoded value recorded at `offset` (a view into the arena). */
  valueAt(offset: number): Buffer {
    const chunk = this.chunks[Math.floor(offset / CHUNK)]!;
    const at = offset % CHUNK;
    return chunk.subarray(at + LENGTH, at + LENGTH + chunk.readUInt32LE(at));
  }

  /** Keys changed, over all key groups. */
  get size(): number {
    let n = 0;
    for (const m of this.groups) n += m.size;
    return n;
  }
}
