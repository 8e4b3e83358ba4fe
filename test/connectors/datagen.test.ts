import { describe, expect, it, vi } from 'vitest';
import { DatagenSource } from '../../connectors/datagen/datagen-source.js';
import { type } from '../../src/model/types.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import { drain, errorOf, makeTable, schemaOf, sourceContext } from './table-helper.js';

const COLUMNS = [
  ['id', type('BIGINT', false)],
  ['qty', type('INT')],
  ['price', type('DECIMAL', true, 10, 2)],
  ['name', type('VARCHAR', true, 20)],
  ['ok', type('BOOLEAN')],
  ['score', type('DOUBLE')],
  ['ts', type('TIMESTAMP', true, 3)],
  ['day', type('DATE')],
] as const;

const FAST = { connector: 'datagen', 'rows-per-second': '100000000' };

/** Settles `p` while advancing the fake clock 1 ms at a time (only timers the code set fire). */
async function onFakeClock<T>(p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  await vi.advanceTimersByTimeAsync(0);
  while (!done) await vi.advanceTimersByTimeAsync(1);
  return settled;
}
const BASE_TIME = Date.UTC(2024, 0, 1);

function source(options: Record<string, string>, columns: readonly (readonly [string, ReturnType<typeof type>])[] = COLUMNS, names?: string[]) {
  const t = makeTable('gen', columns, { ...FAST, ...options });
  const schema = schemaOf(t, names);
  return { src: new DatagenSource(t, schema, () => BASE_TIME), schema };
}

async function readAll(options: Record<string, string>, parallelism = 1, names?: string[]): Promise<unknown[][][]> {
  const { src, schema } = source(options, COLUMNS, names);
  const splits = await src.enumerate(parallelism, []);
  const out: unknown[][][] = [];
  for (const s of splits) {
    const r = src.createReader(sourceContext(schema));
    await r.assign([s], []);
    out.push(await drain(r));
  }
  return out;
}

describe('datagen', () => {
  it('generates every type within its bounds', async () => {
    const [rows] = await readAll({
      'number-of-rows': '500',
      'fields.qty.min': '1',
      'fields.qty.max': '5',
      'fields.price.min': '0.5',
      'fields.price.max': '2.00',
      'fields.name.length': '7',
      'fields.score.min': '-1',
      'fields.score.max': '1',
      'fields.ts.max-past': '1 h',
      'fields.id.kind': 'sequence',
      'fields.id.start': '100',
      'fields.id.end': '1000000',
    });
    expect(rows).toHaveLength(500);
    rows.forEach(([id, qty, price, name, ok, score, ts, day], i) => {
      expect(id).toBe(100 + i);
      expect(Number.isInteger(qty) && (qty as number) >= 1 && (qty as number) <= 5).toBe(true);
      expect(typeof price).toBe('bigint');
      expect((price as bigint) >= 50n && (price as bigint) <= 200n).toBe(true);
      expect(name).toMatch(/^[A-Za-z0-9]{7}$/);
      expect(typeof ok).toBe('boolean');
      expect((score as number) >= -1 && (score as number) <= 1).toBe(true);
      expect((ts as number) <= BASE_TIME + i / 100000 + 1 && (ts as number) >= BASE_TIME - 3_600_000).toBe(true);
      expect(day).toBe(Math.floor(BASE_TIME / 86_400_000));
    });
    expect(new Set(rows.map((r) => r[1])).size).toBe(5);
    expect(new Set(rows.map((r) => r[4])).size).toBe(2);
  });

  it('is deterministic: same seed, same rows; another seed, other rows', async () => {
    const opts = { 'number-of-rows': '300' };
    const a = await readAll(opts);
    const b = await readAll(opts);
    expect(b).toEqual(a);
    const c = await readAll({ ...opts, seed: '7' });
    expect(c[0].map((r) => r[1])).not.toEqual(a[0].map((r) => r[1]));
  });

  it('gives the same values for a row whatever the parallelism and projection', async () => {
    const opts = { 'number-of-rows': '100', 'fields.id.kind': 'sequence', 'fields.id.start': '0', 'fields.id.end': '1000' };
    const [single] = await readAll(opts, 1);
    const parts = await readAll(opts, 3, ['name', 'id', 'qty']);
    expect(parts.map((p) => p.length)).toEqual([34, 33, 33]);
    const byId = new Map(single.map((r) => [r[0], r]));
    for (const part of parts)
      for (const [name, id, qty] of part) {
        expect(name).toBe(byId.get(id)![3]);
        expect(qty).toBe(byId.get(id)![1]);
      }
    // split k of n covers rows k, k + n, ...
    expect(parts[1].slice(0, 3).map((r) => r[1])).toEqual([1, 4, 7]);
  });

  it('resumes from a position with exactly the rows that would have come next', async () => {
    const opts = { 'number-of-rows': '5000' };
    const { src, schema } = source(opts);
    const [split] = await src.enumerate(1, []);
    const full = await drain(
      await (async () => {
        const r = src.createReader(sourceContext(schema));
        await r.assign([split], []);
        return r;
      })(),
    );

    const r1 = src.createReader(sourceContext(schema));
    await r1.assign([split], []);
    const first = await drain(r1, 2048);
    const positions: SplitPosition[] = r1.positions();
    expect(positions[0].position).toBe(first.length);
    expect(positions[0].finished).toBeUndefined();

    // A restart: enumerate returns the restored splits; a new reader resumes at the position.
    const { src: src2 } = source(opts);
    const splits2 = await src2.enumerate(4, positions);
    expect(splits2).toEqual([split]);
    const r2 = src2.createReader(sourceContext(schema));
    await r2.assign(splits2, positions);
    const rest = await drain(r2);
    expect([...first, ...rest]).toEqual(full);
    expect(r2.positions()[0]).toMatchObject({ position: 5000, finished: true });
  });

  it('ends a sequence at its end and is bounded only when it must end', async () => {
    const { src } = source({ 'fields.id.kind': 'sequence', 'fields.id.start': '-2', 'fields.id.end': '2500' });
    expect(src.bounded).toBe(true);
    const [rows] = await readAll({ 'fields.id.kind': 'sequence', 'fields.id.start': '-2', 'fields.id.end': '2500' }, 1, ['id']);
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 2503 }, (_, i) => i - 2));
    const parts = await readAll({ 'fields.id.kind': 'sequence', 'fields.id.start': '1', 'fields.id.end': '10', 'number-of-rows': '4' }, 2, ['id']);
    expect(parts).toEqual([
      [[1], [3]],
      [[2], [4]],
    ]);
    expect(source({}).src.bounded).toBe(false);
  });

  it('produces NULLs at the null-rate', async () => {
    const [rows] = await readAll({ 'number-of-rows': '4000', 'fields.qty.null-rate': '0.25' }, 1, ['qty']);
    const nulls = rows.filter((r) => r[0] === null).length;
    expect(nulls).toBeGreaterThan(800);
    expect(nulls).toBeLessThan(1200);
  });

  // The throttle reads performance.now() and sleeps with setTimeout: both are faked, so the
  // elapsed time is the source's own pacing, not how busy the machine is.
  it('throttles to rows-per-second', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { src, schema } = source({ 'rows-per-second': '200' });
      const r = src.createReader(sourceContext(schema));
      await r.assign(await src.enumerate(1, []), []);
      const t0 = performance.now();
      const rows = await onFakeClock(drain(r, 60));
      const elapsed = performance.now() - t0;
      // 200 rows/s in batches of 4 rows (20 ms worth), the first at once: 60 rows take 14 x 20 ms.
      expect(rows).toHaveLength(60);
      expect(elapsed).toBe(280);
    } finally {
      vi.useRealTimers();
    }
  });

  it('emits throttled rows in batches of ~20 ms, the first at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { src, schema } = source({ 'rows-per-second': '5000' });
      const r = src.createReader(sourceContext(schema));
      await r.assign(await src.enumerate(1, []), []);
      const t0 = performance.now();
      const first = await onFakeClock(r.poll());
      expect(performance.now() - t0).toBe(0);
      expect(first && first !== 'end' ? first.size : 0).toBe(100);
      let rows = 0;
      let batches = 0;
      while (rows < 1000) {
        const b = await onFakeClock(r.poll());
        if (b && b !== 'end') {
          rows += b.size;
          batches++;
        }
      }
      expect(batches).toBe(10);
      expect(performance.now() - t0).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects options that name no column or do not fit the column', () => {
    const e = errorOf(() => source({ 'fields.nme.kind': 'random' }));
    expect(e.code).toBe('UNKNOWN_OPTION');
    expect(e.message).toContain("option 'fields.nme.kind' names no column of the table; its columns are: id, qty, price, name, ok, score, ts, day");
    expect(errorOf(() => source({ 'fields.id.kind': 'sequence', 'fields.id.start': '1' })).message).toContain(
      "option 'fields.id.end' is required when 'fields.id.kind' is 'sequence'",
    );
    expect(errorOf(() => source({ 'fields.ts.kind': 'sequence', 'fields.ts.start': '1', 'fields.ts.end': '2' })).message).toContain(
      'a sequence cannot generate column',
    );
    expect(errorOf(() => source({ 'fields.name.min': '1' })).message).toContain("option 'fields.name.min' does not apply to column 'name'");
    expect(errorOf(() => source({ 'fields.qty.min': '10', 'fields.qty.max': '1' })).message).toContain("option 'fields.qty.max' must be >= 'fields.qty.min'");
    expect(errorOf(() => source({ 'fields.qty.max': '1e10' })).message).toContain('must be an integer within the range of INT');
    expect(errorOf(() => source({ 'rows-per-second': 'fast' })).message).toBe("table 'gen': option 'rows-per-second' must be a positive integer, got 'fast'");
  });
});
