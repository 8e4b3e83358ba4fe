import { describe, expect, it } from 'vitest';
import { errorLine, query } from './helpers.js';
import { showQuery } from './show.js';

const show = (sql: string, withPos = false): string => showQuery(query(sql), withPos);

describe('window table-valued functions in FROM', () => {
  it('TUMBLE, HOP, CUMULATE with positions of the function, the table and the time column', () => {
    expect(
      show("SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end", true),
    ).toBe(
      'SELECT@1:1 window_start@1:8, (COUNT@1:22 *) FROM TUMBLE@1:42(TABLE bids@1:55, DESCRIPTOR(ts@1:72), interval:1:MINUTE@1:77) GROUP BY window_start@1:108, window_end@1:122',
    );
    expect(show("SELECT * FROM TABLE(HOP(TABLE db.t, DESCRIPTOR(`ts`), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) AS w")).toBe(
      'SELECT * FROM HOP(TABLE db.t, DESCRIPTOR(ts), interval:5:SECOND, interval:10:SECOND) w',
    );
    expect(show("SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY)) w WHERE a > 1")).toBe(
      'SELECT * FROM CUMULATE(TABLE t, DESCRIPTOR(ts), interval:1:HOUR, interval:1:DAY) w WHERE (> a integer:1)',
    );
  });

  it('SESSION with PARTITION BY', () => {
    expect(show("SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY k, j, DESCRIPTOR(ts), INTERVAL '5' MINUTE))")).toBe(
      'SELECT * FROM SESSION(TABLE t PARTITION BY k, j, DESCRIPTOR(ts), interval:5:MINUTE)',
    );
  });

  it('keeps positions after the call', () => {
    const q = query("SELECT a\nFROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\nWHERE bad_col > 1");
    expect(q.kind === 'select' && q.where?.pos).toEqual({ line: 3, column: 7 });
  });

  it('reports malformed calls with their position', () => {
    expect(errorLine(() => query("SELECT * FROM TABLE(TUMBLE(t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))"))).toMatch(/^1:28: expected TABLE <name>/);
    expect(errorLine(() => query("SELECT * FROM TABLE(TUMBLE(TABLE t, ts, INTERVAL '1' MINUTE))"))).toMatch(/^1:37: .*DESCRIPTOR/);
    expect(errorLine(() => query("SELECT * FROM TABLE(TUMBLE(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' MINUTE))"))).toMatch(
      /PARTITION BY is only allowed in SESSION/,
    );
    expect(errorLine(() => query('SELECT * FROM TABLE(my_function(1))'))).toMatch(/^1:15: .*not supported yet/);
  });
});
