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

/**
 * The Map key of a row's key columns in keyed state: a single number or string key is itself,
 * anything else (several columns, bigint, bytes, NULL) the concatenation of `keyPart`s (no key
 * columns: the empty string, one group).
 */
export function rowMapKey(cols: readonly unknown[][], row: number, keys: readonly number[]): unknown {
  if (keys.length === 1) {
    const v = cols[keys[0]!]![row];
    return typeof v === 'number' || typeof v === 'string' ? v : keyPart(v);
  }
  let s = '';
  for (let k = 0; k < keys.length; k++) s += keyPart(cols[keys[k]!]![row]);
  return s;
}

/**
 * `rowMapKey` of `count` key values already taken out of their row, at `values[from ...]` (a key
 * row, or a slot of a row-major table): the same Map key the row gave, so restored state and new
 * rows meet.
 */
export function valuesMapKey(values: ArrayLike<unknown>, from = 0, count = values.length - from): unknown {
  if (count === 1) {
    const v = values[from];
    return typeof v === 'number' || typeof v === 'string' ? v : keyPart(v);
  }
  let s = '';
  for (let k = from; k < from + count; k++) s += keyPart(values[k]);
  return s;
}
