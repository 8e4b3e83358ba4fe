import { describe, expect, it } from 'vitest';
import { explainGraph } from '../../src/plan/explain.js';
import { createdSources, errorOf, maskUids, plan } from './helpers.js';

const DDL = `
CREATE TABLE bids (
  id BIGINT,
  k STRING,
  price INT,
  ts TIMESTAMP(3),
  plain TIMESTAMP(3),
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'test-source', 'scan.watermark.idle-timeout' = '30 s');
CREATE TABLE nowm (k STRING, ts TIMESTAMP(3)) WITH ('connector' = 'test-source');
CREATE TABLE out (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, total INT) WITH ('connector' = 'test-append');
CREATE TABLE out2 (ws TIMESTAMP(3), n BIGINT) WITH ('connector' = 'test-append');
`;

const explain = (sql: string, parallelism = 2): string => maskUids(explainGraph(plan(DDL + sql, parallelism)));
const error = (sql: string) => errorOf(() => plan(DDL + sql));
/** `line:column message` with lines counted from the INSERT (DDL is 13 lines). */
const at = (sql: string): string => {
  const e = error(`\n${sql}`);
  return `${(e.position?.line ?? 0) - DDL.split('\n').length}:${e.position?.column} ${e.message}`;
};

describe('window aggregation planning', () => {
  it('EXPLAIN: the source generates watermarks; hash on the key into an insert-only WindowAggregate; an append sink takes it', () => {
    expect(
      explain(`INSERT INTO out SELECT k, window_start, window_end, COUNT(*), SUM(price)
        FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY k, window_start, window_end;`),
    ).toBe(
      `Job 'test' (fingerprint #)

[0] Source: bids
    uid: source-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, price INT, ts TIMESTAMP(3))
    connector=test-source, table=bids, fields=[k, price, ts], watermark=[TIMESTAMPADD('SECOND', -5, ts)], idleTimeout=[30000 ms]

[1] WindowAggregate
    uid: window-aggregate-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, window_start TIMESTAMP(3) NOT NULL, window_end TIMESTAMP(3) NOT NULL, EXPR$3 BIGINT NOT NULL, EXPR$4 INT)
    window=[TUMBLE(time_col=[ts], size=[1 min])], groupBy=[k], aggs=[COUNT(*), SUM(price)], properties=[window_start, window_end]
    input: [0] Source: bids via HASH[k]

[2] Sink: out
    uid: sink-#
    parallelism: 2, changelog: insert-only
    schema: (k STRING, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, total INT)
    connector=test-source, table=out
    input: [1] WindowAggregate via FORWARD`.replace('connector=test-source, table=out', 'connector=test-append, table=out'),
    );
  });

  it('a global window aggregate runs at parallelism 1; HOP, CUMULATE and legacy windows describe their sizes', () => {
    const hop = explain(
      `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;`,
    );
    expect(hop).toContain('window=[HOP(time_col=[ts], size=[1 min], slide=[10 s])], aggs=[COUNT(*)]');
    expect(hop).toMatch(/\[\d\] WindowAggregate\n.*\n {4}parallelism: 1, changelog: insert-only/);
    expect(
      explain(
        `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '1' DAY)) GROUP BY window_start, window_end;`,
      ),
    ).toContain('window=[CUMULATE(time_col=[ts], max_size=[1 d], step=[1 h])]');
    expect(
      explain(
        `INSERT INTO out2 SELECT HOP_START(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND), COUNT(*) FROM bids GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '15' SECOND);`,
      ),
    ).toContain('window=[HOP(time_col=[ts], size=[15 s], slide=[5 s])]');
  });

  it('the source always reads the WATERMARK column, even when the query does not use it', () => {
    createdSources.length = 0;
    plan(`${DDL} INSERT INTO out2 SELECT plain, id FROM bids;`);
    expect(createdSources.at(-1)).toEqual({ table: 'bids', fields: ['id', 'ts', 'plain'] });
  });

  it('errors say what to change, with line:column', () => {
    const tumble = (table: string, col: string, interval = "INTERVAL '1' MINUTE") =>
      `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE ${table}, DESCRIPTOR(${col}), ${interval})) GROUP BY window_start, window_end;`;
    expect(at(tumble('nowm', 'ts'))).toBe(
      "1:89 column 'ts' is not a time attribute: TUMBLE needs a column with a watermark; add WATERMARK FOR ts AS ts - INTERVAL '5' SECOND to table 'nowm', or use window_time of an earlier window",
    );
    expect(at(tumble('bids', 'price'))).toBe(
      "1:89 the time column of TUMBLE must be a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column with a WATERMARK, but 'price' is INT",
    );
    expect(at(tumble('bids', 'plain'))).toMatch(/^1:89 column 'plain' is not a time attribute/);
    expect(at(tumble('bids', 'nope'))).toMatch(/^1:89 column 'nope' not found/);
    expect(at(tumble('bids', 'pt'))).toMatch(/^1:89 processing-time windows .* are not supported yet/);
    expect(at(tumble('bids', 'ts', "INTERVAL '0' MINUTE"))).toBe("1:94 the size of TUMBLE must be a positive interval, got INTERVAL '0' MINUTE");
    expect(at(tumble('bids', 'ts', "INTERVAL '-1' MINUTE"))).toMatch(/^1:94 the size of TUMBLE must be a positive interval/);
    expect(at(tumble('bids', 'ts', '5'))).toBe("1:94 the size of TUMBLE must be an INTERVAL such as INTERVAL '1' MINUTE");
    expect(
      at(
        `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '7' SECOND, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;`,
      ),
    ).toMatch(/^1:112 the size of HOP must be an integral multiple of its slide, but got size 60000 ms and slide 7000 ms/);
    expect(at(`INSERT INTO out2 SELECT window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\nGROUP BY window_end;`)).toBe(
      '2:10 window_start is missing from GROUP BY: a window aggregation groups by both window_start and window_end; add window_start to GROUP BY',
    );
    expect(
      at(
        `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(SESSION(TABLE bids PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;`,
      ),
    ).toMatch(/^1:\d+ the SESSION window is partitioned by k: add it to GROUP BY/);
    expect(
      at(
        `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(SESSION(TABLE bids PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, id;`,
      ),
    ).toMatch(/^1:\d+ a SESSION window with PARTITION BY groups by window_start, window_end and exactly its PARTITION BY columns/);
    expect(at(`INSERT INTO out2 SELECT HOP_START(ts, INTERVAL '1' MINUTE), COUNT(*) FROM bids GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);`)).toBe(
      '1:25 HOP_START does not match the group window TUMBLE(...) of GROUP BY; use TUMBLE_START',
    );
    expect(at(`INSERT INTO out2 SELECT TUMBLE_START(k, INTERVAL '1' MINUTE), COUNT(*) FROM bids GROUP BY TUMBLE(k, INTERVAL '1' MINUTE);`)).toMatch(
      /^1:98 the time column of TUMBLE must be a TIMESTAMP/,
    );
    expect(
      at(
        `INSERT INTO out2 SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, window_time + INTERVAL '1' SECOND;`,
      ),
    ).toMatch(/window_start, window_end and window_time can only be used as plain GROUP BY columns/);
    // TUMBLE/HOP/CUMULATE rows can be read directly (one row per window); SESSION windows only exist merged.
    expect(at(`INSERT INTO out2 SELECT window_start, 1 FROM TABLE(SESSION(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' MINUTE));`)).toMatch(
      /a SESSION window TVF must be followed by GROUP BY window_start, window_end/,
    );
  });

  it('an invalid idle timeout names the option', () => {
    const e = errorOf(() =>
      plan(`CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'test-source', 'scan.watermark.idle-timeout' = 'soon');
        CREATE TABLE o (ts TIMESTAMP(3)) WITH ('connector' = 'test-append');
        INSERT INTO o SELECT ts FROM t;`),
    );
    expect(e.message).toBe("option 'scan.watermark.idle-timeout' of table 't' must be a duration such as '30 s' or '500 ms', got 'soon'");
  });
});
