/**
 * Same-length rewriting of a query or expression before node-sql-parser sees it. Offsets are kept
 * (every edit replaces text by text of equal length), so parser errors still map onto the file.
 * - CAST/TRY_CAST targets are parsed by weir's own type parser (node-sql-parser knows neither
 *   TIMESTAMP_LTZ nor `WITH LOCAL TIME ZONE` nor `NOT NULL`) and replaced by a placeholder;
 *   the parsed type is recorded under the offset of the CAST keyword.
 * - `agg(...) FILTER (WHERE cond)` is blanked out and recorded under the offset of the call's `)`.
 * - Backslashes in string literals are neutralized: Flink strings have no backslash escapes,
 *   node-sql-parser's do. String values are always taken from weir's tokens.
 * - Time-unit arguments (`TIMESTAMPADD(HOUR, ...)`, `FLOOR(ts TO HOUR)`) become placeholder
 *   identifiers (and `TO` a comma); the unit is recorded under the unit token's offset.
 * - Window TVF calls in FROM (`TABLE(TUMBLE(TABLE t, ...))`) are read by ./window-tvf.ts and
 *   replaced by a placeholder table name; the query converter turns it back into a WindowTvfRef.
 * - `ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)`: the OVER clause is read by
 *   ./over-clause.ts, blanked out and recorded under the offset of the call's `)`.
 * - Flink constructs node-sql-parser cannot parse and weir does not support yet (OVER, temporal
 *   joins, table functions) are reported as unsupported instead of as confusing syntax errors.
 */
import type { SqlType } from '../model/types.js';
import { TokenCursor } from './cursor.js';
import { parseTypeAt } from './data-type.js';
import type { StatementContext } from './nsp-node.js';
import { notYet, parseError, unsupported } from './sql-errors.js';
import { matchingParen, type Token } from './tokenizer.js';
import { isWindowTvfAt, placeholderName, readWindowTvf, type WindowTvfSyntax } from './window-tvf.js';
import { isRankingOver, readOverClause, type OverSyntax } from './over-clause.js';

/** A FILTER (WHERE ...) clause: the condition is tokens [condStart, condEnd); condEnd is its `)`. */
export interface FilterClause {
  readonly filterToken: number;
  readonly condStart: number;
  readonly condEnd: number;
}

/** Side tables shared by every segment of one statement, keyed by statement-local offsets. */
export interface RewriteTables {
  readonly castTypes: Map<number, SqlType>;
  readonly filters: Map<number, FilterClause>;
  /** Time-unit arguments, upper-cased, by the offset of the unit token. */
  readonly units: Map<number, string>;
  /** Window TVF calls in FROM, by the offset of their `TABLE` keyword (see ./window-tvf.ts). */
  readonly tvfs: Map<number, WindowTvfSyntax>;
  /** `OVER (...)` of ranking functions, by the offset of the call's `)` (see ./over-clause.ts). */
  readonly overs: Map<number, OverSyntax>;
}

export function newRewriteTables(): RewriteTables {
  return { castTypes: new Map(), filters: new Map(), units: new Map(), tvfs: new Map(), overs: new Map() };
}

const TIME_UNITS = new Set([
  'MILLENNIUM',
  'CENTURY',
  'DECADE',
  'YEAR',
  'QUARTER',
  'MONTH',
  'WEEK',
  'DAY',
  'HOUR',
  'MINUTE',
  'SECOND',
  'MILLISECOND',
  'MICROSECOND',
  'NANOSECOND',
]);

const NOT_YET: Readonly<Record<string, string>> = {
  LATERAL: 'LATERAL TABLE (table function join)',
  UNNEST: 'UNNEST',
  MATCH_RECOGNIZE: 'MATCH_RECOGNIZE',
};

const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.upper === w;
const isOp = (t: Token | undefined, op: string): boolean => t !== undefined && t.kind === 'op' && t.text === op;

/** Returns the rewritten text of tokens [start, end) (from tokens[start].start to tokens[end-1].end). */
export function rewriteSegment(ctx: StatementContext, start: number, end: number, tables: RewriteTables): string {
  const { tokens, src } = ctx;
  const base = tokens[start]!.start;
  const chars = src.text.slice(base, tokens[end - 1]!.end).split('');
  const replace = (from: number, to: number, by: string): void => {
    for (let k = from; k < to; k++) chars[k - base] = k - from < by.length ? by[k - from]! : ' ';
  };
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    if (t.kind === 'dstring') {
      throw unsupported(`double-quoted text ${t.text}`, src.pos(t.start), "use 'single quotes' for strings and `backticks` for identifiers");
    }
    if (t.kind === 'quoted' && t.value.includes('`')) {
      throw unsupported('a backtick inside a quoted identifier', src.pos(t.start));
    }
    if (t.kind === 'string' && t.text.includes('\\')) {
      replace(t.start, t.end, t.text.replace(/\\/g, '_'));
      continue;
    }
    if ((isWord(t, 'CAST') || isWord(t, 'TRY_CAST')) && isOp(tokens[i + 1], '(')) {
      recordCast(ctx, i, end, tables, replace);
      continue;
    }
    if (t.kind === 'word' && isWindowTvfAt(tokens, i, end)) {
      const tvf = readWindowTvf(ctx, i, end);
      tables.tvfs.set(t.start, tvf);
      replace(t.start, tokens[tvf.end]!.end, placeholderName(t.start));
      i = tvf.end;
      continue;
    }
    if (isRankingOver(tokens, i, start)) {
      const over = readOverClause(ctx, i, end);
      tables.overs.set(tokens[i - 1]!.start, over);
      replace(t.start, tokens[over.end]!.end, '');
      i = over.end;
      continue;
    }
    if (t.kind === 'word') checkNotYet(ctx, i, end);
    if ((isWord(t, 'TIMESTAMPADD') || isWord(t, 'TIMESTAMPDIFF')) && isOp(tokens[i + 1], '(')) {
      const unit = tokens[i + 2];
      if (unit && unit.kind === 'word' && TIME_UNITS.has(unit.upper)) {
        tables.units.set(unit.start, unit.upper);
        replace(unit.start, unit.end, 'x'.repeat(unit.end - unit.start));
      }
      i += 2;
      continue;
    }
    if ((isWord(t, 'FLOOR') || isWord(t, 'CEIL') || isWord(t, 'CEILING')) && isOp(tokens[i + 1], '(')) {
      const close = matchingParen(tokens, i + 1, end);
      const to = tokens[close - 2];
      const unit = tokens[close - 1];
      if (close > i + 4 && isWord(to, 'TO') && unit && unit.kind === 'word' && TIME_UNITS.has(unit.upper)) {
        tables.units.set(unit.start, unit.upper);
        replace(to!.start, to!.end, ',');
        replace(unit.start, unit.end, 'x'.repeat(unit.end - unit.start));
      }
      continue;
    }
    if (isWord(t, 'FILTER') && i > start && isOp(tokens[i - 1], ')') && isOp(tokens[i + 1], '(') && isWord(tokens[i + 2], 'WHERE')) {
      const close = matchingParen(tokens, i + 1, end);
      if (close < 0) throw parseError("expected ')' to close FILTER (WHERE ...)", src.pos(tokens[i + 1]!.start));
      if (close === i + 3) throw parseError('expected a condition after FILTER (WHERE', src.pos(tokens[close]!.start));
      tables.filters.set(tokens[i - 1]!.start, { filterToken: i, condStart: i + 3, condEnd: close });
      replace(t.start, tokens[close]!.end, '');
      // The condition is rewritten when it is parsed on its own.
      i = close;
    }
  }
  return chars.join('');
}

function recordCast(ctx: StatementContext, castAt: number, end: number, tables: RewriteTables, replace: (from: number, to: number, by: string) => void): void {
  const { tokens, src } = ctx;
  const close = matchingParen(tokens, castAt + 1, end);
  if (close < 0) return; // unbalanced: node-sql-parser reports it
  let depth = 0;
  let as = -1;
  for (let j = castAt + 2; j < close; j++) {
    const t = tokens[j]!;
    if (isOp(t, '(')) depth++;
    else if (isOp(t, ')')) depth--;
    else if (depth === 0 && isWord(t, 'AS')) {
      as = j;
      break;
    }
  }
  if (as < 0 || as + 1 >= close) return; // malformed: node-sql-parser reports it
  const cursor = new TokenCursor(src, tokens, as + 1, close);
  const target = parseTypeAt(cursor, 'after AS in CAST');
  if (!cursor.done) throw cursor.expected("')'", 'after the CAST target type');
  tables.castTypes.set(tokens[castAt]!.start, target);
  replace(tokens[as + 1]!.start, tokens[close - 1]!.end, 'INT');
}

/** Throws SQL_UNSUPPORTED for a Flink construct at token i that weir does not handle yet. */
function checkNotYet(ctx: StatementContext, i: number, end: number): void {
  const { tokens, src } = ctx;
  const t = tokens[i]!;
  const next = i + 1 < end ? tokens[i + 1] : undefined;
  const what = NOT_YET[t.upper];
  if (what) throw notYet(what, src.pos(t.start));
  if (t.upper === 'OVER' && i > 0 && isOp(tokens[i - 1], ')') && next && (isOp(next, '(') || next.kind === 'word')) {
    throw notYet('OVER (window aggregation)', src.pos(t.start));
  }
  if (t.upper === 'FOR' && isWord(next, 'SYSTEM_TIME')) {
    throw notYet('FOR SYSTEM_TIME AS OF (temporal join)', src.pos(t.start));
  }
  if (t.upper === 'TABLE' && next && isOp(next, '(')) {
    throw notYet('TABLE(...) other than the window table-valued functions TUMBLE, HOP, CUMULATE and SESSION', src.pos(t.start));
  }
}
