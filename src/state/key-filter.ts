/**
 * Which keys a value state of the disk backend may hold in its store: a scalable Bloom filter
 * (a chain of Bloom filters, each twice the capacity of the one before, at ~1% false positives
 * each), so a key never written is known absent without a store read. That read (a MultiGet
 * through the binding's thread pool) is what a key costs most; a GROUP BY over distinct keys or a
 * join whose rows mostly find no partner would otherwise read the store once per row for nothing.
 *
 * Only ever added to (a deleted key stays: a false positive costs one read, nothing else). The
 * filter lives in typed arrays outside the V8 heap (~10 bits per key) and is rebuilt by a restore,
 * which writes every restored key through `add`.
 */

/** Keys the first filter is sized for; each next one holds twice as many. */
const FIRST_CAPACITY = 1 << 16;
/** Bits per key (~1% false positives with 7 probes). */
const BITS_PER_KEY = 10;
const PROBES = 7;

interface Segment {
  readonly bits: Uint32Array;
  /** Bit index mask (the bit count is a power of two). */
  readonly mask: number;
  readonly capacity: number;
  count: number;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Two independent 32-bit hashes of the key (a number or a string), in h1 and h2. */
let h1 = 0;
let h2 = 0;
function hashKey(key: unknown): void {
  if (typeof key === 'number') {
    f64[0] = key;
    const lo = u32[0]!;
    const hi = u32[1]!;
    h1 = mix(lo ^ mix(hi + 0x9e3779b9));
    h2 = mix(hi ^ mix(lo + 0x7f4a7c15)) | 1;
    return;
  }
  const s = String(key);
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  h1 = mix(a ^ s.length);
  h2 = mix(b) | 1;
}

function segment(capacity: number): Segment {
  let bits = 64;
  while (bits < capacity * BITS_PER_KEY) bits *= 2;
  return { bits: new Uint32Array(bits / 32), mask: bits - 1, capacity, count: 0 };
}

export class KeyFilter {
  private readonly segments: Segment[] = [segment(FIRST_CAPACITY)];

  /** Records that the store may hold `key` (a number or a string); call it once per new key. */
  add(key: unknown): void {
    let s = this.segments[this.segments.length - 1]!;
    if (s.count >= s.capacity) {
      s = segment(s.capacity * 2);
      this.segments.push(s);
    }
    hashKey(key);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & s.mask;
      s.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    s.count++;
  }

  /** False: the store surely holds no value for `key`. */
  mayContain(key: unknown): boolean {
    hashKey(key);
    for (const s of this.segments) {
      let all = true;
      for (let i = 0; i < PROBES; i++) {
        const bit = (h1 + Math.imul(i, h2)) & s.mask;
        if ((s.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  /** Bytes the filter takes (outside the V8 heap). */
  get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bits.byteLength;
    return n;
  }
}
