import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import '../../connectors/index.js';
import { explainGraph } from '../../src/plan/explain.js';
import { planJob } from '../../src/plan/physical.js';
import { queryDuckDb } from '../support/duckdb-read.js';
import { load, maskUids } from './helpers.js';
import { runBoundedJob } from '../support/bounded-job.js';

/**
 * Golden end-to-end SESSION window tests: datagen rows with an event time derived from the id,
 * out of order by up to 3 s (under the 5 s watermark delay, so nothing is late), with a 30 s pause
 * every 97 ids; sessions per key k = id % 3 with a 10 s gap, via the SESSION window TVF with
 * PARTITION BY and via the legacy GROUP BY SESSION(...). The expected sessions are computed here.
 */
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const N = 1200;
const GAP = 10_000;
const ts = (id: number): number => id * 1000 + Math.floor(id / 97) * 30_000 + ((id * 7) % 4) * 1000;

const SRC = `
CREATE TABLE src (
  id BIGINT,
  k AS id % 3,
  ts AS TO_TIMESTAMP_LTZ(id * 1000 + id / 97 * 30000 + id * 7 % 4 * 1000, 3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '${N}', 'rows-per-second' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '${N}'
);`;

const QUERY = (path: string) => `
CREATE TABLE tvf (k BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT, total BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
CREATE TABLE legacy (k BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3), cnt BIGINT, total BIGINT) WITH ('connector' = 'duckdb', 'path' = '${path}');
EXECUTE STATEMENT SET BEGIN
  INSERT INTO tvf SELECT k, window_start, window_end, COUNT(*), SUM(id)
    FROM TABLE(SESSION(TABLE src PARTITION BY k, DESCRIPTOR(ts), INTERVAL '10' SECOND))
    GROUP BY k, window_start, window_end;
  INSERT INTO legacy SELECT k, SESSION_START(ts, INTERVAL '10' SECOND), SESSION_END(ts, INTERVAL '10' SECOND), COUNT(*), SUM(id)
    FROM src GROUP BY SESSION(ts, INTERVAL '10' SECOND), k;
END;`;

async function run(parallelism: number): Promise<{ db: string; counters: Record<string, number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-session-e2e-'));
  dirs.push(dir);
  const db = join(dir, 'out.duckdb');
  const { status } = await runBoundedJob(SRC + QUERY(db), { jobName: 'session-e2e', parallelism, checkpointDir: join(dir, 'chk') });
  return { db, counters: status.counters ?? {} };
}

/** [k, start, end, count, sum] of every session, by key and start. */
function expected(): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < 3; k++) {
    const rows: [number, number][] = [];
    for (let id = 1; id <= N; id++) if (id % 3 === k) rows.push([ts(id), id]);
    rows.sort((a, b) => a[0] - b[0]);
    let cur: number[] | undefined;
    for (const [t, id] of rows) {
      // Touching windows merge: a row at exactly the session's end joins it.
      if (cur && t <= cur[2]!) {
        cur[2] = Math.max(cur[2]!, t + GAP);
        cur[3]!++;
        cur[4]! += id;
      } else {
        if (cur) out.push(cur);
        cur = [k, t, t + GAP, 1, id];
      }
    }
    if (cur) out.push(cur);
  }
  return out;
}

describe('SESSION windows end to end (datagen -> session window aggregate -> DuckDB)', () => {
  it('EXPLAIN shows the session window, hashed on its key', () => {
    const { catalog, inserts } = load(SRC + QUERY('/tmp/unused.duckdb'));
    const text = maskUids(explainGraph(planJob(inserts, catalog, { jobName: 'session-explain', parallelism: 2 })));
    // Both the TVF and the legacy form plan the same window aggregate, fed by a hash exchange on k.
    const sessions = text.split('\n[').filter((op) => op.includes('window=[SESSION(time_col=[ts], gap=[10 s])], groupBy=[k], aggs=[COUNT(*), SUM(id)]'));
    expect(sessions).toHaveLength(2);
    for (const op of sessions) expect(op).toMatch(/input: \[\d+\] Calc via HASH\[k\]/);
  });

  it.each([1, 2])(
    'the SESSION TVF with PARTITION BY and the legacy GROUP BY SESSION, out-of-order rows, parallelism %i',
    async (p) => {
      const { db, counters } = await run(p);
      const exp = expected();
      // The data has sessions of several rows and several sessions per key.
      expect(exp.length).toBeGreaterThan(20);
      expect(exp.every((s) => s[3]! > 1)).toBe(true);
      expect(
        Object.entries(counters)
          .filter(([name]) => name.includes('late'))
          .reduce((a, [, v]) => a + v, 0),
      ).toBe(0);
      const q = (t: string) => `SELECT k, epoch_ms(ws), epoch_ms(we), cnt, total FROM ${t} ORDER BY k, ws`;
      expect(await queryDuckDb(db, q('tvf'))).toEqual(exp);
      expect(await queryDuckDb(db, q('legacy'))).toEqual(exp);
    },
    600_000,
  );
});
