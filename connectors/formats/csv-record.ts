/**
 * CSV records per RFC 4180: fields separated by a delimiter, optionally enclosed in quotes, a
 * quote inside a quoted field doubled. A quoted field may span lines; the file reader finds record
 * ends with `csvRecordEnd` (byte level: quote and newline are ASCII, so UTF-8 cannot fool it).
 */
import { ConvertError } from './value-convert.js';

/**
 * Index of the '\n' that ends the record starting at `start`, or -1 when `buf[start..end)`
 * holds no complete record yet. `quote` is the quote byte, or -1 when quoting is disabled.
 */
export function csvRecordEnd(buf: Uint8Array, start: number, end: number, quote: number): number {
  if (quote < 0) {
    const nl = buf.indexOf(0x0a, start);
    return nl < end ? nl : -1;
  }
  let inQuotes = false;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b === quote) inQuotes = !inQuotes;
    else if (b === 0x0a && !inQuotes) return i;
  }
  return -1;
}

/**
 * Splits one record (without its line end) into fields. An empty unquoted field is null, an empty
 * quoted one ("") the empty string, as DuckDB and PostgreSQL write them. `out` is reused between
 * calls to avoid an array per record. Throws ConvertError on an unterminated quote or text after
 * a closing quote.
 */
export function parseCsvRecord(line: string, delimiter: string, quote: string | undefined, out: (string | null)[]): (string | null)[] {
  out.length = 0;
  const n = line.length;
  let i = 0;
  for (;;) {
    if (quote !== undefined && line[i] === quote) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf(quote, j);
        if (q < 0) throw new ConvertError('unterminated quoted field');
        value += line.slice(j, q);
        if (line[q + 1] === quote) {
          value += quote;
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === n) return out;
      if (line[i] !== delimiter) throw new ConvertError(`unexpected ${JSON.stringify(line[i])} after a closing quote`);
      i++;
      continue;
    }
    const d = line.indexOf(delimiter, i);
    if (d < 0) {
      out.push(i === n ? null : line.slice(i));
      return out;
    }
    out.push(d === i ? null : line.slice(i, d));
    i = d + 1;
  }
}
