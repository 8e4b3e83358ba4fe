/**
 * The snapshot in primary-key chunks, and the bookkeeping that keeps it exact across restarts.
 *
 * A run reads chunks `WHERE pk > last ORDER BY pk LIMIT n` inside one exported snapshot taken at
 * LSN L (a temporary slot's consistent point). A crash ends the run: the restarted job cannot use
 * that snapshot again (it dies with the slot's connection), so it starts a new run from the last
 * key a completed checkpoint covers, in a new snapshot at L' > L. The checkpoint records the runs
 * as segments: keys up to `upTo` were read as of `lsn`. The stream then starts at the persistent
 * slot's position (before every segment's LSN) and a change to key k committed at c is emitted
 * only when c >= lsn(segment of k) (the exported snapshot holds every commit before its slot's
 * consistent point; the slot decodes every commit from it): it is already in what the snapshot read otherwise. Every key
 * thus sees exactly the changes after the snapshot that read it (the DBLog idea, with one
 * watermark per run instead of per chunk).
 */
import { parseDecimal } from '../../src/expr/decimal.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import { quoteIdent, type CapturedTable } from './cdc-setup.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';

export type KeyText = readonly string[];
type Cmp = (a: string, b: string) => number;

export interface Segment {
  /** Last key of the segment (inclusive); null: every key after the previous segment. */
  upTo: KeyText | null;
  readonly lsn: Lsn;
}

const INT_TYPES = /^(smallint|integer|bigint|real|double precision)$/;
const TEXT_TYPES = /^(text|character varying|character|varchar|char|name)\b/;

/** PostgreSQL's order of a key column's text, as the chunk queries sort (text in COLLATE "C"). */
function comparator(pgType: string): Cmp {
  if (INT_TYPES.test(pgType)) return (a, b) => Number(a) - Number(b);
  if (pgType.startsWith('numeric')) {
    return (a, b) => {
      const x = parseDecimal(a, 40)!;
      const y = parseDecimal(b, 40)!;
      return x < y ? -1 : x > y ? 1 : 0;
    };
  }
  // uuid, dates and timestamps in ISO text sort as their bytes; text sorts in COLLATE "C".
  return (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class KeyOrder {
  private readonly cmps: Cmp[];
  constructor(table: CapturedTable) {
    this.cmps = table.primaryKey.map((k) => comparator(table.columns.find((c) => c.name === k)!.type));
  }
  compare(a: KeyText, b: KeyText): number {
    for (let i = 0; i < this.cmps.length; i++) {
      const d = this.cmps[i](a[i], b[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
}

/** The chunk query: every column as text, keys after $1..$k in primary-key order. */
export function chunkQuery(table: CapturedTable, columns: readonly string[], first: boolean, limit: number): string {
  const pkExpr = table.primaryKey.map((k) => {
    const t = table.columns.find((c) => c.name === k)!.type;
    return TEXT_TYPES.test(t) ? `${quoteIdent(k)} COLLATE "C"` : quoteIdent(k);
  });
  // Aliased: ORDER BY "id" would otherwise sort by the text output column of that name.
  const select = columns.map((c, i) => `${quoteIdent(c)}::text AS _c${i}`).join(', ');
  const where = first ? '' : ` WHERE (${pkExpr.join(', ')}) > (${table.primaryKey.map((_, i) => `$${i + 1}`).join(', ')})`;
  return `SELECT ${select} FROM ${table.qualified}${where} ORDER BY ${pkExpr.join(', ')} LIMIT ${limit}`;
}

/** Decides per key and commit LSN whether a streamed change is new to what the snapshot read. */
export class SegmentFilter {
  constructor(
    readonly segments: Segment[],
    private readonly order: KeyOrder,
  ) {}

  /** The highest LSN of any segment: changes committed at or after it are always emitted. */
  get horizon(): Lsn {
    let m = 0n;
    for (const s of this.segments) if (s.lsn > m) m = s.lsn;
    return m;
  }

  /** True when the change committed at `commitLsn` to `key` must be emitted. */
  pass(key: KeyText, commitLsn: Lsn): boolean {
    for (const s of this.segments) {
      if (s.upTo === null || this.order.compare(key, s.upTo) <= 0) return commitLsn >= s.lsn;
    }
    // A key after every segment has not been read by any snapshot yet (cannot happen once done).
    return true;
  }
}

export function segmentsToJson(segments: readonly Segment[]): JsonValue {
  return segments.map((s) => ({ upTo: s.upTo === null ? null : [...s.upTo], lsn: formatLsn(s.lsn) }));
}

export function segmentsFromJson(v: unknown): Segment[] {
  if (!Array.isArray(v)) return [];
  return v.map((s: { upTo: string[] | null; lsn: string }) => ({ upTo: s.upTo, lsn: parseLsn(s.lsn) }));
}
