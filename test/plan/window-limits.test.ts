import { describe, expect, it } from 'vitest';
import { MAX_WINDOWS_PER_ROW } from '../../src/plan/window-spec.js';
import { errorOf, plan } from './helpers.js';

/**
 * Window arguments are checked at plan time (issue 12): HOP with a slide of 1 s and a size of
 * 100000000 s ran out of heap, and CUMULATE with a huge max size killed the process with a V8
 * fatal error, because every row was put into size / slide windows one by one.
 */
const DDL = `CREATE TABLE bids (k STRING, price INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'test-source');
CREATE TABLE out2 (ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'test-append');
CREATE TABLE rows_out (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3)) WITH ('connector' = 'test-append');
`;

/** `line:column code message` of the planning error, lines counted from the statement after the DDL. */
const at = (sql: string): string => {
  const e = errorOf(() => plan(`${DDL}${sql}`));
  expect(e.domain).toBe('user');
  return `${(e.position?.line ?? 0) - 3}:${e.position?.column} ${e.code} ${e.message}`;
};

/** 1-based column of `needle` (its last occurrence) in `sql`. */
const col = (sql: string, needle: string): number => sql.lastIndexOf(needle) + 1;

const tvfAgg = (call: string) => `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(${call}) GROUP BY window_start, window_end;`;
const tvfRows = (call: string) => `INSERT INTO rows_out SELECT k, window_start, window_end FROM TABLE(${call});`;

describe('window arguments', () => {
  it('rejects a HOP or CUMULATE that puts a row into more windows than the limit, naming it', () => {
    const hop = "HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '100000000' SECOND)";
    const size = "INTERVAL '100000000'";
    expect(at(tvfAgg(hop))).toBe(
      `1:${col(tvfAgg(hop), size)} WINDOW_ARGUMENTS HOP with size 100000000000 ms and slide 1000 ms puts every row into 100000000 windows; weir allows at most ${MAX_WINDOWS_PER_ROW} windows per row (size / slide): use a larger slide or a smaller size`,
    );
    // The window TVF read directly (one output row per window) is checked the same way.
    expect(at(tvfRows(hop))).toMatch(
      new RegExp(`^1:${col(tvfRows(hop), size)} WINDOW_ARGUMENTS HOP with size 100000000000 ms .* at most 10000 windows per row`),
    );
    const cumulate = "CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '9999999999' SECOND)";
    expect(at(tvfRows(cumulate)).replace(/^1:\d+ /, '')).toMatch(
      /^WINDOW_ARGUMENTS CUMULATE with max size 9999999999000 ms and step 1000 ms puts every row into 9999999999 windows; weir allows at most 10000 windows per row \(max size \/ step\)/,
    );
    // Legacy group window: GROUP BY HOP(ts, slide, size).
    expect(
      at(
        `INSERT INTO out2 SELECT HOP_START(ts, INTERVAL '1' SECOND, INTERVAL '1' DAY), COUNT(*) FROM bids GROUP BY HOP(ts, INTERVAL '1' SECOND, INTERVAL '1' DAY);`,
      ),
    ).toMatch(/^1:\d+ WINDOW_ARGUMENTS HOP with size 86400000 ms and slide 1000 ms puts every row into 86400 windows/);
  });

  it('accepts a HOP or CUMULATE exactly at the limit', () => {
    expect(() => plan(DDL + tvfAgg(`HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '${MAX_WINDOWS_PER_ROW}' SECOND)`))).not.toThrow();
    expect(() => plan(DDL + tvfRows(`CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' DAY)`))).not.toThrow();
    expect(() => plan(DDL + tvfAgg(`HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '${MAX_WINDOWS_PER_ROW + 1}' SECOND)`))).toThrow(
      /at most 10000 windows per row/,
    );
  });

  it('requires positive intervals and, as Flink, a size that is an integral multiple of the slide or step', () => {
    const cumulate = tvfAgg("CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '7' SECOND, INTERVAL '1' MINUTE)");
    expect(at(cumulate)).toBe(
      `1:${col(cumulate, "INTERVAL '1' MINUTE")} WINDOW_ARGUMENTS the max size of CUMULATE must be an integral multiple of its step, but got max size 60000 ms and step 7000 ms`,
    );
    expect(at(tvfAgg("HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '1' MINUTE)"))).toMatch(
      /the size of HOP must be an integral multiple of its slide, but got size 60000 ms and slide 120000 ms/,
    );
    const zero = tvfAgg("HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '0' SECOND, INTERVAL '1' MINUTE)");
    expect(at(zero)).toBe(`1:${col(zero, "INTERVAL '0'")} WINDOW_ARGUMENTS the slide of HOP must be a positive interval, got INTERVAL '0' SECOND`);
    expect(at(tvfAgg("TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '0.0001' SECOND)"))).toMatch(
      /the size of TUMBLE must be a positive interval, got INTERVAL '0.0001' SECOND/,
    );
  });

  it('rejects SESSION gaps that are zero or negative, in the TVF and in GROUP BY SESSION', () => {
    expect(at(tvfAgg("SESSION(TABLE bids PARTITION BY k, DESCRIPTOR(ts), INTERVAL '0' SECOND)"))).toMatch(
      /^1:\d+ WINDOW_ARGUMENTS the gap of SESSION must be a positive interval, got INTERVAL '0' SECOND/,
    );
    expect(at(`INSERT INTO out2 SELECT SESSION_START(ts, INTERVAL '-5' SECOND), COUNT(*) FROM bids GROUP BY SESSION(ts, INTERVAL '-5' SECOND);`)).toMatch(
      /^1:\d+ WINDOW_ARGUMENTS the gap of SESSION must be a positive interval, got INTERVAL '-5' SECOND/,
    );
  });

  it('a SESSION TVF read directly is refused at the TVF call', () => {
    const sql = "INSERT INTO rows_out SELECT k, window_start, window_end FROM TABLE(SESSION(TABLE bids PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' MINUTE));";
    expect(at(sql)).toMatch(
      new RegExp(`^1:${col(sql, 'SESSION(')} SQL_UNSUPPORTED a SESSION window TVF must be followed by GROUP BY window_start, window_end`),
    );
  });

  it('time bounds of an interval join that can never hold are refused at the condition', () => {
    const ddl = `CREATE TABLE pays (oid STRING, pts TIMESTAMP(3), WATERMARK FOR pts AS pts) WITH ('connector' = 'test-source');\n`;
    const sql = "INSERT INTO rows_out SELECT b.k, b.ts, p.pts FROM bids b JOIN pays p ON b.k = p.oid AND b.ts BETWEEN p.pts + INTERVAL '1' SECOND AND p.pts;";
    const e = errorOf(() => plan(`${DDL}${ddl}${sql}`));
    expect(e.code).toBe('EMPTY_INTERVAL_JOIN');
    expect(e.position).toEqual({ line: 5, column: col(sql, 'b.ts BETWEEN') });
  });

  it('rejects INTERVAL literals that overflow, wherever they are', () => {
    // The one from the issue: CUMULATE(..., INTERVAL '1' SECOND, INTERVAL '99999999999' SECOND).
    const huge = tvfRows("CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '99999999999' SECOND)");
    expect(at(huge)).toBe(
      `1:${col(huge, "INTERVAL '9")} SQL_TYPE INTERVAL '99999999999' SECOND is out of range: an interval has at most 10 digits before the fraction`,
    );
    const days = `INSERT INTO rows_out SELECT k, ts + INTERVAL '999999999' DAY, ts FROM bids;`;
    expect(at(days)).toBe(`1:${col(days, 'INTERVAL')} SQL_TYPE INTERVAL '999999999' DAY is out of range: at most 104249991 days`);
    const exp = `INSERT INTO rows_out SELECT k, ts - INTERVAL '1e400' HOUR, ts FROM bids;`;
    expect(at(exp)).toBe(`1:${col(exp, 'INTERVAL')} SQL_TYPE invalid INTERVAL value '1e400' for unit HOUR`);
    const hex = tvfAgg("TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '0x10' SECOND)");
    expect(at(hex)).toBe(`1:${col(hex, 'INTERVAL')} SQL_TYPE invalid INTERVAL value '0x10' for unit SECOND`);
  });
});
