/**
 * Calendar arithmetic for DATE (days since epoch), TIME (ms since midnight) and TIMESTAMP
 * (epoch ms, wall clock). The session time zone is UTC: TIMESTAMP and TIMESTAMP_LTZ share one
 * representation and convert to each other unchanged (documented limitation; Flink uses
 * `table.local-time-zone`). Conversions avoid Date objects so the hot path does not allocate.
 */

export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Scratch output of civil(): [year, month (1-12), day]. Read right after the call. */
export const CIVIL = new Int32Array(3);

export function civil(days: number): Int32Array {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  CIVIL[0] = yoe + era * 400 + (m <= 2 ? 1 : 0);
  CIVIL[1] = m;
  CIVIL[2] = d;
  return CIVIL;
}

export const daysOfMs = (ms: number): number => Math.floor(ms / MS_PER_DAY);
export const msOfDay = (ms: number): number => ms - Math.floor(ms / MS_PER_DAY) * MS_PER_DAY;

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** Adds calendar months, clamping the day to the month's end (Jan 31 + 1 month = Feb 28/29). */
export function addMonthsToDays(days: number, months: number): number {
  const c = civil(days);
  const total = c[0] * 12 + (c[1] - 1) + months;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  return daysFromCivil(y, m, Math.min(c[2], daysInMonth(y, m)));
}

export function addMonthsToMs(ms: number, months: number): number {
  const d = daysOfMs(ms);
  return addMonthsToDays(d, months) * MS_PER_DAY + (ms - d * MS_PER_DAY);
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
function pad(n: number, w: number): string {
  const s = String(Math.abs(n));
  return (n < 0 ? '-' : '') + (s.length >= w ? s : '0'.repeat(w - s.length) + s);
}

export function formatDate(days: number): string {
  const c = civil(days);
  return `${pad(c[0], 4)}-${pad2(c[1])}-${pad2(c[2])}`;
}

/** 'HH:mm:ss' plus `precision` fractional digits (digits past milliseconds are zeros). */
export function formatTime(msOfDayValue: number, precision = 0): string {
  const h = Math.floor(msOfDayValue / 3_600_000);
  const mi = Math.floor(msOfDayValue / 60_000) % 60;
  const s = Math.floor(msOfDayValue / 1000) % 60;
  let out = `${pad2(h)}:${pad2(mi)}:${pad2(s)}`;
  if (precision > 0) {
    const frac = `${pad(msOfDayValue % 1000, 3)}000000`;
    out += `.${frac.slice(0, precision)}`;
  }
  return out;
}

/** Flink's CAST(ts AS STRING): 'yyyy-MM-dd HH:mm:ss' plus `precision` fractional digits. */
export function formatTimestamp(ms: number, precision = 3): string {
  const d = daysOfMs(ms);
  return `${formatDate(d)} ${formatTime(ms - d * MS_PER_DAY, precision)}`;
}

const DATE_RE = /^(-?\d{1,9})-(\d{1,2})-(\d{1,2})$/;
const TIME_RE = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?$/;
const TS_RE = /^(-?\d{1,9})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?$/;

function validDate(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

const fracMs = (frac: string | undefined): number => (frac ? Math.floor(Number(`${frac}00`.slice(0, 3))) : 0);

/** 'yyyy-MM-dd' (leading/trailing blanks ignored) to days, or undefined. */
export function parseDate(text: string): number | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const y = Number(m[1]),
    mo = Number(m[2]),
    d = Number(m[3]);
  return validDate(y, mo, d) ? daysFromCivil(y, mo, d) : undefined;
}

/** 'HH:mm[:ss[.fff]]' to ms since midnight, or undefined. */
export function parseTime(text: string): number | undefined {
  const m = TIME_RE.exec(text.trim());
  if (!m) return undefined;
  const h = Number(m[1]),
    mi = Number(m[2]),
    s = Number(m[3] ?? 0);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return h * 3_600_000 + mi * 60_000 + s * 1000 + fracMs(m[4]);
}

/** 'yyyy-MM-dd[( |T)HH:mm[:ss[.fffffffff]]]' to epoch ms (truncated to ms), or undefined. */
export function parseTimestamp(text: string): number | undefined {
  const m = TS_RE.exec(text.trim());
  if (!m) return undefined;
  const y = Number(m[1]),
    mo = Number(m[2]),
    d = Number(m[3]);
  if (!validDate(y, mo, d)) return undefined;
  const h = Number(m[4] ?? 0),
    mi = Number(m[5] ?? 0),
    s = Number(m[6] ?? 0);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return daysFromCivil(y, mo, d) * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + fracMs(m[7]);
}

// ------------------------------------------------------------------ Java-style patterns

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Token = { lit: string } | { field: string; count: number };

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "'") {
      let j = i + 1;
      let lit = '';
      for (; j < pattern.length; j++) {
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            lit += "'";
            j++;
            continue;
          }
          break;
        }
        lit += pattern[j];
      }
      out.push({ lit: j === i + 1 ? "'" : lit });
      i = j + 1;
    } else if (/[A-Za-z]/.test(ch)) {
      let j = i;
      while (pattern[j] === ch) j++;
      out.push({ field: ch, count: j - i });
      i = j;
    } else {
      out.push({ lit: ch });
      i++;
    }
  }
  return out;
}

/** Day of week of a day number: 0 = Sunday. */
export const weekday = (days: number): number => (((days + 4) % 7) + 7) % 7;

export type Formatter = (ms: number) => string;
export type Parser = (text: string) => number | undefined;

const formatterCache = new Map<string, Formatter>();
const parserCache = new Map<string, Parser>();

/** A formatter for a Java DateTimeFormatter/SimpleDateFormat pattern ('yyyy-MM-dd HH:mm:ss'), cached. */
export function patternFormatter(pattern: string): Formatter {
  let f = formatterCache.get(pattern);
  if (f) return f;
  const tokens = tokenize(pattern);
  f = (ms: number): string => {
    const days = daysOfMs(ms);
    const tod = ms - days * MS_PER_DAY;
    const c = civil(days);
    const y = c[0],
      mo = c[1],
      d = c[2];
    let s = '';
    for (const t of tokens) {
      if ('lit' in t) {
        s += t.lit;
        continue;
      }
      const n = t.count;
      switch (t.field) {
        case 'y':
        case 'u':
          s += n === 2 ? pad(y % 100, 2) : pad(y, n);
          break;
        case 'M':
        case 'L':
          s += n >= 4 ? MONTHS[mo - 1] : n === 3 ? MONTHS[mo - 1].slice(0, 3) : pad(mo, n);
          break;
        case 'd':
          s += pad(d, n);
          break;
        case 'D':
          s += pad(days - daysFromCivil(y, 1, 1) + 1, n);
          break;
        case 'H':
          s += pad(Math.floor(tod / 3_600_000), n);
          break;
        case 'k':
          s += pad(Math.floor(tod / 3_600_000) || 24, n);
          break;
        case 'h':
          s += pad(Math.floor(tod / 3_600_000) % 12 || 12, n);
          break;
        case 'K':
          s += pad(Math.floor(tod / 3_600_000) % 12, n);
          break;
        case 'm':
          s += pad(Math.floor(tod / 60_000) % 60, n);
          break;
        case 's':
          s += pad(Math.floor(tod / 1000) % 60, n);
          break;
        case 'S':
          s += `${pad(tod % 1000, 3)}000000`.slice(0, n);
          break;
        case 'a':
          s += tod < 43_200_000 ? 'AM' : 'PM';
          break;
        case 'E': {
          const w = WEEKDAYS[weekday(days)];
          s += n >= 4 ? w : w.slice(0, 3);
          break;
        }
        case 'X':
          s += 'Z';
          break;
        case 'x':
        case 'Z':
          s += '+0000';
          break;
        default:
          s += t.field.repeat(n);
      }
    }
    return s;
  };
  if (formatterCache.size > 256) formatterCache.clear();
  formatterCache.set(pattern, f);
  return f;
}

const isNumericField = (t: Token | undefined): boolean =>
  t !== undefined && 'field' in t && 'yuMdDHhkKmsS'.includes(t.field) && !(t.field === 'M' && t.count >= 3);

/** A strict parser for a Java pattern; returns epoch ms (UTC) or undefined when the text does not match. */
export function patternParser(pattern: string): Parser {
  let p = parserCache.get(pattern);
  if (p) return p;
  const tokens = tokenize(pattern);
  p = (text: string): number | undefined => {
    let i = 0;
    let y = 1970,
      mo = 1,
      d = 1,
      h = 0,
      mi = 0,
      s = 0,
      ms = 0,
      pm = -1,
      offsetMin = 0,
      doy = -1;
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k];
      if ('lit' in t) {
        if (text.startsWith(t.lit, i)) {
          i += t.lit.length;
          continue;
        }
        return undefined;
      }
      if (t.field === 'M' && t.count >= 3) {
        const idx = MONTHS.findIndex((name) => text.startsWith(t.count >= 4 ? name : name.slice(0, 3), i));
        if (idx < 0) return undefined;
        mo = idx + 1;
        i += t.count >= 4 ? MONTHS[idx].length : 3;
        continue;
      }
      if (t.field === 'E') {
        const idx = WEEKDAYS.findIndex((name) => text.startsWith(t.count >= 4 ? name : name.slice(0, 3), i));
        if (idx < 0) return undefined;
        i += t.count >= 4 ? WEEKDAYS[idx].length : 3;
        continue;
      }
      if (t.field === 'a') {
        const ap = text.slice(i, i + 2).toUpperCase();
        if (ap !== 'AM' && ap !== 'PM') return undefined;
        pm = ap === 'PM' ? 1 : 0;
        i += 2;
        continue;
      }
      if (t.field === 'X' || t.field === 'Z' || t.field === 'x') {
        if (text[i] === 'Z') {
          i++;
          continue;
        }
        const m = /^([+-])(\d{2}):?(\d{2})?/.exec(text.slice(i));
        if (!m) return undefined;
        offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
        i += m[0].length;
        continue;
      }
      const max = isNumericField(tokens[k + 1]) ? t.count : 9;
      let j = i;
      while (j < text.length && j - i < max && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      if (j === i) return undefined;
      const digits = text.slice(i, j);
      const v = Number(digits);
      i = j;
      switch (t.field) {
        case 'y':
        case 'u':
          y = t.count === 2 && digits.length === 2 ? 2000 + v : v;
          break;
        case 'M':
        case 'L':
          mo = v;
          break;
        case 'd':
          d = v;
          break;
        case 'D':
          doy = v;
          break;
        case 'H':
        case 'k':
          h = v === 24 && t.field === 'k' ? 0 : v;
          break;
        case 'h':
        case 'K':
          h = v % 12;
          if (pm < 0) pm = 0;
          break;
        case 'm':
          mi = v;
          break;
        case 's':
          s = v;
          break;
        case 'S':
          ms = Math.floor(Number(`${digits}00`.slice(0, 3)));
          break;
        default:
          return undefined;
      }
    }
    if (text.slice(i).trim() !== '') return undefined;
    if (pm === 1 && h < 12) h += 12;
    if (h > 23 || mi > 59 || s > 59) return undefined;
    let days: number;
    if (doy > 0) days = daysFromCivil(y, 1, 1) + doy - 1;
    else {
      if (!validDate(y, mo, d)) return undefined;
      days = daysFromCivil(y, mo, d);
    }
    return days * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offsetMin * 60_000;
  };
  if (parserCache.size > 256) parserCache.clear();
  parserCache.set(pattern, p);
  return p;
}
