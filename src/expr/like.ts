/**
 * SQL LIKE: `%` matches any sequence, `_` any single character, and the optional ESCAPE
 * character makes the next `%`, `_` or escape character literal (anything else after it is an
 * error, as in Flink/Calcite). There is no default escape character. Patterns without wildcards
 * or with only leading/trailing `%` avoid RegExp entirely.
 */

export class LikePatternError extends Error {}

type Part = { lit: string } | { any: true } | { one: true };

function parse(pattern: string, escape: string | undefined): Part[] {
  const parts: Part[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit) parts.push({ lit });
    lit = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (escape !== undefined && ch === escape) {
      const next = pattern[i + 1];
      if (next === undefined || (next !== '%' && next !== '_' && next !== escape)) {
        throw new LikePatternError(`invalid escape sequence in LIKE pattern '${pattern}' at index ${i}`);
      }
      lit += next;
      i++;
    } else if (ch === '%') {
      flush();
      if (!(parts.length && 'any' in parts[parts.length - 1])) parts.push({ any: true });
    } else if (ch === '_') {
      flush();
      parts.push({ one: true });
    } else lit += ch;
  }
  flush();
  return parts;
}

const regexEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Compiles a LIKE pattern to a matcher. Throws LikePatternError for an invalid escape sequence. */
export function likeMatcher(pattern: string, escape?: string): (s: string) => boolean {
  if (escape !== undefined && [...escape].length !== 1) throw new LikePatternError(`LIKE escape must be a single character, got '${escape}'`);
  const parts = parse(pattern, escape);
  const isLit = (p: Part | undefined): p is { lit: string } => p !== undefined && 'lit' in p;
  const isAny = (p: Part | undefined): boolean => p !== undefined && 'any' in p;
  if (parts.length === 0) return (s) => s === '';
  if (parts.length === 1 && isLit(parts[0])) {
    const l = parts[0].lit;
    return (s) => s === l;
  }
  if (parts.length === 1 && isAny(parts[0])) return () => true;
  if (parts.length === 2 && isLit(parts[0]) && isAny(parts[1])) {
    const l = parts[0].lit;
    return (s) => s.startsWith(l);
  }
  if (parts.length === 2 && isAny(parts[0]) && isLit(parts[1])) {
    const l = parts[1].lit;
    return (s) => s.endsWith(l);
  }
  if (parts.length === 3 && isAny(parts[0]) && isLit(parts[1]) && isAny(parts[2])) {
    const l = parts[1].lit;
    return (s) => s.includes(l);
  }
  const src = parts.map((p) => ('lit' in p ? regexEscape(p.lit) : 'any' in p ? '.*' : '.')).join('');
  const re = new RegExp(`^${src}$`, 'su');
  return (s) => re.test(s);
}

const cache = new Map<string, (s: string) => boolean>();

/** LIKE with a pattern only known per row: matchers are cached by pattern and escape. */
export function likeDynamic(s: string, pattern: string, escape?: string): boolean {
  const key = escape === undefined ? pattern : `${escape}\u0000${pattern}`;
  let m = cache.get(key);
  if (!m) {
    m = likeMatcher(pattern, escape);
    if (cache.size > 1024) cache.clear();
    cache.set(key, m);
  }
  return m(s);
}
