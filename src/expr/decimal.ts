/**
 * DECIMAL(p, s) arithmetic on unscaled bigints (see types.ts: 123.45 in DECIMAL(10, 2) is 12345n).
 * Rounding is HALF_UP (away from zero on a tie), as java.math.BigDecimal / Flink do.
 * Overflow (more than p digits) yields null, as in Flink.
 */

export const MAX_DECIMAL_PRECISION = 38;

const POW10: bigint[] = [];
for (let i = 0, p = 1n; i <= 80; i++, p *= 10n) POW10.push(p);

export function pow10(n: number): bigint {
  return n < POW10.length ? POW10[n] : 10n ** BigInt(n);
}

/** True when `v` has at most `precision` digits. */
export function decFits(v: bigint, precision: number): boolean {
  const lim = pow10(precision);
  return v < lim && v > -lim;
}

/** `v` or null when it does not fit DECIMAL(precision, ·). */
export function decCheck(v: bigint, precision: number): bigint | null {
  const lim = pow10(precision);
  return v < lim && v > -lim ? v : null;
}

/** n / d rounded HALF_UP. d must not be 0. */
export function divHalfUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const r2 = (r < 0n ? -r : r) * 2n;
  const dd = d < 0n ? -d : d;
  if (r2 >= dd) return n < 0n !== d < 0n ? q - 1n : q + 1n;
  return q;
}

/** Changes the scale of an unscaled value, rounding HALF_UP when the scale shrinks. */
export function decRescale(v: bigint, from: number, to: number): bigint {
  if (to === from) return v;
  if (to > from) return v * pow10(to - from);
  return divHalfUp(v, pow10(from - to));
}

/** Like decRescale but truncating toward zero (TRUNCATE, CAST to an integer). */
export function decRescaleDown(v: bigint, from: number, to: number): bigint {
  if (to >= from) return v * pow10(to - from);
  return v / pow10(from - to);
}

/** a / b with result scale `s`, HALF_UP. Throws RangeError on b = 0 (callers turn it into a user error). */
export function decDiv(a: bigint, sa: number, b: bigint, sb: number, s: number): bigint {
  if (b === 0n) throw new RangeError('division by zero');
  // a/10^sa / (b/10^sb) * 10^s = a * 10^(s + sb - sa) / b
  const e = s + sb - sa;
  return e >= 0 ? divHalfUp(a * pow10(e), b) : divHalfUp(a, b * pow10(-e));
}

/** a mod b (sign of a, as Java's BigDecimal.remainder), result at scale max(sa, sb) = s. */
export function decMod(a: bigint, sa: number, b: bigint, sb: number, s: number): bigint {
  const x = decRescale(a, sa, s);
  const y = decRescale(b, sb, s);
  if (y === 0n) throw new RangeError('division by zero');
  return x % y;
}

const DEC_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses decimal text ('12.5', '-0.001', '1e3', ' 7 ') into an unscaled value at `scale`,
 * rounding HALF_UP. Returns undefined for text that is not a number.
 */
export function parseDecimal(text: string, scale: number): bigint | undefined {
  const m = DEC_RE.exec(text.trim());
  if (!m) return undefined;
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  if (intPart === '' && frac === '') return undefined;
  const exp = m[4] ? Number(m[4]) : 0;
  let digits = BigInt(intPart + frac || '0');
  if (m[1] === '-') digits = -digits;
  // value = digits * 10^(exp - frac.length)
  const srcScale = frac.length - exp;
  if (srcScale <= scale) return digits * pow10(scale - srcScale);
  return divHalfUp(digits, pow10(srcScale - scale));
}

/** Precision and scale of decimal text as Flink types a literal: `1.50` is DECIMAL(3, 2). */
export function decimalLiteralType(text: string): { precision: number; scale: number } {
  const t = text.trim().replace(/^[+-]/, '');
  const dot = t.indexOf('.');
  const intDigits = (dot < 0 ? t : t.slice(0, dot)).replace(/^0+/, '');
  const frac = dot < 0 ? '' : t.slice(dot + 1);
  const scale = frac.length;
  const precision = Math.max(1, intDigits.length + scale);
  return { precision, scale };
}

/** Renders an unscaled value: decToString(-5n, 2) is '-0.05'. */
export function decToString(v: bigint, scale: number): string {
  if (scale <= 0) return (scale === 0 ? v : v * pow10(-scale)).toString();
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (s.length <= scale) s = '0'.repeat(scale - s.length + 1) + s;
  const out = `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
  return neg ? `-${out}` : out;
}

export function decToNumber(v: bigint, scale: number): number {
  if (scale === 0) return Number(v);
  return Number(decToString(v, scale));
}

/** A double to an unscaled value at `scale`, HALF_UP on its shortest decimal rendering (as BigDecimal.valueOf). */
export function numberToDec(x: number, scale: number): bigint | null {
  if (!Number.isFinite(x)) return null;
  if (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER) return BigInt(x) * pow10(scale);
  return parseDecimal(String(x), scale) ?? null;
}

/** Compares two unscaled values of possibly different scales. */
export function decCompare(a: bigint, sa: number, b: bigint, sb: number): number {
  const s = Math.max(sa, sb);
  const x = decRescale(a, sa, s);
  const y = decRescale(b, sb, s);
  return x < y ? -1 : x > y ? 1 : 0;
}
