import { isUtf8 } from 'node:buffer';

/**
 * Where UTF-8 goes wrong. Validity itself is checked with Node's `isUtf8` (simdutf, a chunk at a
 * time); this walk only runs on a record that failed, to name the offending byte.
 */

/**
 * Index of the first byte in b[start..end) that does not begin a well-formed UTF-8 sequence
 * (Unicode table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequence), or -1 when the range is valid.
 */
export function firstInvalidUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= end) return i;
      const x = b[i + k];
      if (k === 1 ? x < lo || x > hi : x < 0x80 || x > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * `b[start..end)` as a string, or a ConvertError-style message when it is not well-formed UTF-8
 * (Node's toString would turn the bad bytes into U+FFFD silently). Valid input costs one
 * simdutf pass (`isUtf8`); only a bad payload is walked to name the byte.
 */
export function strictUtf8(b: Buffer, start: number, end: number): string | { readonly invalidAt: number } {
  if (isUtf8(b.subarray(start, end))) return b.toString('utf8', start, end);
  return { invalidAt: firstInvalidUtf8(b, start, end) };
}
