/**
 * One key value as a string that is unambiguous when concatenated with others: composite keys of
 * keyed state are the concatenation of their parts, and two different keys never give the same
 * string (strings are length-prefixed, every other kind is tagged and terminated).
 */
export function keyPart(v: unknown): string {
  if (v === null || v === undefined) return '\u0000';
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v}|`;
    case 'bigint':
      return `b${v}|`;
    case 'boolean':
      return v ? 't' : 'f';
    default:
      if (v instanceof Uint8Array) return `x${Buffer.from(v).toString('base64')}|`;
      return `o${String(v)}|`;
  }
}
