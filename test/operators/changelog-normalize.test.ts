/**
 * ChangelogNormalizeOperator without any external service: an upsert stream (as postgres-cdc and
 * upsert sources emit it) in, a complete changelog out; held rows snapshotted and restored.
 */
import { describe, expect, it } from 'vitest';
import { isWeirError } from '../../src/errors.js';
import { type Schema, type } from '../../src/model/types.js';
import { RowKind, UNCHANGED_VALUE, type ChangeBatch } from '../../src/model/changelog.js';
import { ChangelogNormalizeOperator, type ChangelogNormalizeConfig } from '../../src/runtime/operators/changelog-normalize.js';
import { hashRow, subtaskOfHash } from '../../src/model/partition.js';
import { packColumn } from '../../src/state/columns.js';
import { serializeState } from '../../src/state/serde.js';
import { batch, harness, opened, type SubtaskSnapshot } from './harness.js';

/** (id BIGINT, name STRING, qty INT): keyed by id. */
const S: Schema = {
  fields: [
    { name: 'id', type: type('BIGINT', false) },
    { name: 'name', type: type('STRING') },
    { name: 'qty', type: type('INT') },
  ],
};
/** (tbl STRING, id INT, payload BYTES): several tables in one source, keyed by (tbl, id). */
const MULTI: Schema = {
  fields: [
    { name: 'tbl', type: type('STRING', false) },
    { name: 'id', type: type('INT', false) },
    { name: 'payload', type: type('BYTES') },
  ],
};

const SINGLE: ChangelogNormalizeConfig = { keys: [0], tableColumn: -1, tableName: 'orders' };
const COMPOSITE: ChangelogNormalizeConfig = { keys: [0, 1], tableColumn: 0, tableName: 'shards' };

async function normalize(schema: Schema = S, config: ChangelogNormalizeConfig = SINGLE, opts: Parameters<typeof harness>[1] = {}) {
  const h = harness([schema], opts);
  const op = await opened(new ChangelogNormalizeOperator(config), h);
  return { h, op };
}

/** The subtask the hash exchange routes key `id` (column 0) to. */
function subtaskOf(id: unknown, parallelism: number): number {
  return subtaskOfHash(hashRow([[id]], 0, [0]), parallelism);
}

/** A checkpoint of weir before the state layer: every held row in one columnar blob with the hash of its key (column `key`). */
function legacyState(names: string[], key: number, rows: unknown[][]): Uint8Array {
  const n = rows.length;
  const hashes = Uint32Array.from(rows, (r) => hashRow([[r[key]]], 0, [0]));
  const columns = names.map((_, c) =>
    packColumn(
      rows.map((r) => r[c]),
      n,
    ),
  );
  return serializeState({ v: 1, names, n, hashes, columns });
}

/** A size-0 truncate marker, as an upsert source emits it for TRUNCATE. */
function truncate(...tables: string[]): ChangeBatch {
  return { size: 0, kinds: new Uint8Array(0), columns: [[], [], []], truncate: { tables } };
}

describe('changelog normalize', () => {
  it('turns upserts into +I, then -U/+U pairs, and drops repeats and -U rows', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'a', 10], ['+U', 2, 'b', 20], ['+U', 1, 'a', 11]));
    expect(h.take()).toEqual(['+I[1, a, 10]', '+I[2, b, 20]', '-U[1, a, 10]', '+U[1, a, 11]']);
    // A replayed change (the same row again) is emitted once; -U carries nothing the held row lacks.
    op.process(batch(['+U', 1, 'a', 11], ['-U', 2, 'b', 20], ['+I', 2, 'b', 20]));
    expect(h.take()).toEqual([]);
    op.process(batch(['-U', 2, 'zzz', 0], ['+U', 2, null, 21]));
    expect(h.take()).toEqual(['-U[2, b, 20]', '+U[2, null, 21]']);
    expect(op.size).toBe(2);
  });

  it('turns a key-only -D into a -D of the full held row; a -D of an unknown key emits nothing', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'a', 10], ['+I', 2, 'b', 20]));
    h.take();
    op.process(batch(['-D', 1, null, null], ['-D', 7, null, null], ['-D', 1, null, null]));
    expect(h.take()).toEqual(['-D[1, a, 10]']);
    // The key comes back as a new row: +I, not an update of the deleted one.
    op.process(batch(['+U', 1, 'again', 1]));
    expect(h.take()).toEqual(['+I[1, again, 1]']);
    expect(op.size).toBe(2);
  });

  it('fills UNCHANGED_VALUE placeholders from the held row', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'long toasted text', 10]));
    h.take();
    op.process(batch(['+U', 1, UNCHANGED_VALUE, 11]));
    expect(h.take()).toEqual(['-U[1, long toasted text, 10]', '+U[1, long toasted text, 11]']);
    // Only the placeholder changed nothing: the filled row equals the held one, so nothing is emitted.
    op.process(batch(['+U', 1, UNCHANGED_VALUE, 11]));
    expect(h.take()).toEqual([]);
    // The filled value is held too: a later -D carries it.
    op.process(batch(['-D', 1, null, null]));
    expect(h.take()).toEqual(['-D[1, long toasted text, 11]']);
  });

  it('an UNCHANGED_VALUE with no held row is a user error naming the table and the fix', async () => {
    const { op } = await normalize();
    let err: unknown;
    try {
      op.process(batch(['+U', 5, UNCHANGED_VALUE, 1]));
    } catch (e) {
      err = e;
    }
    expect(isWeirError(err) && err.code).toBe('CDC_UNCHANGED_TOAST');
    expect((err as Error).message).toContain("table 'orders'");
    expect((err as Error).message).toContain('column 2');
    expect((err as Error).message).toContain('REPLICA IDENTITY FULL');
  });

  it('a truncate marker deletes every held row of the truncated tables only', async () => {
    const { h, op } = await normalize(MULTI, COMPOSITE);
    const bytes = (n: number) => new Uint8Array([n, 255]);
    op.process(batch(['+I', 'public.a', 1, bytes(1)], ['+I', 'public.b', 1, bytes(2)], ['+I', 'public.a', 2, null], ['+I', 'public.c', 9, bytes(3)]));
    expect(h.take()).toHaveLength(4);
    op.process(truncate('public.a', 'public.c'));
    expect(h.take().sort()).toEqual(['-D[public.a, 1, 1,255]', '-D[public.a, 2, null]', '-D[public.c, 9, 3,255]']);
    expect(op.size).toBe(1);
    // A truncated key starts over with +I; the untouched table still updates.
    op.process(batch(['+I', 'public.a', 1, bytes(1)], ['+U', 'public.b', 1, bytes(4)]));
    expect(h.take()).toEqual(['+I[public.a, 1, 1,255]', '-U[public.b, 1, 2,255]', '+U[public.b, 1, 4,255]']);
  });

  it('without a table column a truncate marker deletes every held row, in batches of at most 4096', async () => {
    const { h, op } = await normalize();
    const n = 10_000;
    const rows = Array.from({ length: n }, (_, i) => ['+I', i, `n${i}`, i]);
    op.process(batch(...rows));
    h.batches.length = 0;
    op.process(truncate('orders'));
    expect(h.batches.map((b) => b.size)).toEqual([4096, 4096, 1808]);
    expect(h.batches.every((b) => b.kinds.every((k) => k === RowKind.DELETE))).toBe(true);
    const deleted = h.take().map((r) => Number(/^-D\[(\d+),/.exec(r)![1]));
    expect(deleted.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(op.size).toBe(0);
  });

  it('keeps several keys apart: a composite key, equal bytes, and values that only look alike', async () => {
    const { h, op } = await normalize(MULTI, COMPOSITE);
    op.process(batch(['+I', 'public.a', 1, new Uint8Array([1])], ['+I', 'public.b', 1, new Uint8Array([1])], ['+I', 'public.a1', 1, null]));
    expect(h.take()).toHaveLength(3);
    // Equal bytes in a new array are the same row; different bytes update only that key.
    op.process(batch(['+U', 'public.a', 1, new Uint8Array([1])], ['+U', 'public.b', 1, new Uint8Array([2])]));
    expect(h.take()).toEqual(['-U[public.b, 1, 1]', '+U[public.b, 1, 2]']);
    op.process(batch(['-D', 'public.a', 1, null]));
    expect(h.take()).toEqual(['-D[public.a, 1, 1]']);
    expect(op.size).toBe(2);
  });

  it('applies many keys over several batches like a materialized upsert table', async () => {
    const { h, op } = await normalize();
    // A deterministic mix of upserts and key-only deletes over 50 keys in 40 batches.
    const expected = new Map<number, [string, number]>();
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const materialized = new Map<number, string>();
    for (let b = 0; b < 40; b++) {
      const rows: unknown[][] = [];
      for (let i = 0; i < 25; i++) {
        const id = Math.floor(rnd() * 50);
        if (rnd() < 0.25) {
          rows.push(['-D', id, null, null]);
          expected.delete(id);
        } else {
          const v: [string, number] = [`v${Math.floor(rnd() * 3)}`, id];
          rows.push([rnd() < 0.5 ? '+I' : '+U', id, ...v]);
          expected.set(id, v);
        }
      }
      op.process(batch(...rows));
      // The output is a valid changelog: +I only for absent keys, -U/-D exactly the held row.
      for (const r of h.take()) {
        const m = /^([-+][IUD])\[(\d+), (.*)\]$/.exec(r)!;
        const [kind, id, rest] = [m[1], Number(m[2]), m[3]];
        if (kind === '+I') expect(materialized.has(id)).toBe(false);
        if (kind === '-U' || kind === '-D') {
          expect(materialized.get(id)).toBe(rest);
          materialized.delete(id);
        }
        if (kind === '+I' || kind === '+U') materialized.set(id, rest);
      }
    }
    expect(new Map([...materialized].sort((a, b) => a[0] - b[0]))).toEqual(
      new Map([...expected].sort((a, b) => a[0] - b[0]).map(([id, [name, qty]]) => [id, `${name}, ${qty}`])),
    );
    expect(op.size).toBe(expected.size);
  });

  it('snapshots held rows and continues after a restore as if never stopped', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'a', 10], ['+I', 2, null, 20], ['+I', 3, 'c', null]));
    h.take();
    const snap = await h.snapshot(op);
    const restored = await normalize(S, SINGLE, { restored: [snap] });
    expect(restored.op.size).toBe(3);
    restored.op.process(batch(['+U', 1, 'a', 10], ['+U', 2, UNCHANGED_VALUE, 21], ['-D', 3, null, null], ['+I', 4, 'd', 40]));
    expect(restored.h.take()).toEqual(['-U[2, null, 20]', '+U[2, null, 21]', '-D[3, c, null]', '+I[4, d, 40]']);
  });

  it('snapshots of 2 subtasks restored into 3: each key lands in exactly the subtask the hash exchange routes it to', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => i * 7919);
    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await normalize(S, SINGLE, { subtaskIndex: subtask, parallelism: 2 });
      const mine = ids.filter((id) => subtaskOf(id, 2) === subtask);
      op.process(batch(...mine.map((id) => ['+I', id, `n${id}`, id % 13])));
      op.process(batch(...mine.map((id) => ['+U', id, `n${id}`, id % 17])));
      old.push(await h.snapshot(op));
    }
    const parallelism = 3;
    const kept: number[][] = [];
    for (let subtask = 0; subtask < parallelism; subtask++) {
      const r = await normalize(S, SINGLE, { restored: old, subtaskIndex: subtask, parallelism });
      const routed = ids.filter((id) => subtaskOf(id, parallelism) === subtask);
      expect(r.op.size).toBe(routed.length);
      // Delete every key routed here: the subtask answers with -D of the row held for each.
      r.op.process(batch(...routed.map((id) => ['-D', id, null, null])));
      expect(r.h.take()).toEqual(routed.map((id) => `-D[${id}, n${id}, ${id % 17}]`));
      kept.push(routed);
    }
    expect(kept.flat().sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    expect(kept.every((k) => k.length > 0)).toBe(true);
  });

  it('restores a checkpoint of an earlier version (one columnar blob) at another parallelism, by column name', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => i * 31);
    // Written as (name, id, qty); read now as (id, name, qty, note).
    const old = legacyState(
      ['name', 'id', 'qty'],
      1,
      ids.map((id) => [`n${id}`, id, id % 5]),
    );
    const evolved: Schema = { fields: [...S.fields, { name: 'note', type: type('STRING') }] };
    const kept: number[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const h = harness([evolved], { restoredState: [old], subtaskIndex: subtask, parallelism: 2 });
      const op = await opened(new ChangelogNormalizeOperator(SINGLE), h);
      const routed = ids.filter((id) => subtaskOf(id, 2) === subtask);
      expect(op.size).toBe(routed.length);
      op.process(batch(...routed.map((id) => ['+U', id, `n${id}`, id % 5, 'x'])));
      expect(h.take()).toEqual(routed.flatMap((id) => [`-U[${id}, n${id}, ${id % 5}, null]`, `+U[${id}, n${id}, ${id % 5}, x]`]));
      // From now on the rows are in the state layer's snapshot, with the names beside them.
      const r = await normalize(evolved, SINGLE, { restored: [await h.snapshot(op)], subtaskIndex: subtask, parallelism: 2 });
      r.op.process(batch(...routed.map((id) => ['-D', id, null, null, null])));
      expect(r.h.take()).toEqual(routed.map((id) => `-D[${id}, n${id}, ${id % 5}, x]`));
      kept.push(...routed);
    }
    expect(kept.sort((a, b) => a - b)).toEqual(ids);
  });

  it('with the state TTL a held row expires when its key was last written longer ago', async () => {
    const { h, op } = await normalize(S, SINGLE, { ttlMs: 1000 });
    h.backend.advanceTime(10_000);
    op.process(batch(['+I', 1, 'a', 10], ['+I', 2, 'b', 20]));
    h.take();
    h.backend.advanceTime(10_600);
    op.process(batch(['+U', 2, 'b', 21]));
    h.take();
    h.backend.advanceTime(11_100);
    // Key 1 is gone: its -D finds nothing and a new row of it is an insert; key 2 was written at 10 600.
    op.process(batch(['-D', 1, null, null], ['+U', 1, 'a', 11], ['-D', 2, null, null]));
    expect(h.take()).toEqual(['+I[1, a, 11]', '-D[2, b, 21]']);
    expect(h.counters.get('state-keys-expired')).toBe(1);
  });

  it('maps restored rows by column name: reordered columns keep their values, an added column reads NULL', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'a', 10], ['+I', 2, 'b', 20]));
    h.take();
    const snap = await h.snapshot(op);
    // The table gained a column and the source now reads (qty, note, id, name).
    const evolved: Schema = { fields: [S.fields[2], { name: 'note', type: type('STRING') }, S.fields[0], S.fields[1]] };
    const r = await normalize(evolved, { keys: [2], tableColumn: -1, tableName: 'orders' }, { restored: [snap] });
    r.op.process(batch(['+U', 11, UNCHANGED_VALUE, 1, 'a'], ['-D', null, null, 2, null]));
    expect(r.h.take()).toEqual(['-U[10, null, 1, a]', '+U[11, null, 1, a]', '-D[20, null, 2, b]']);
  });

  it('maps by column name after a rescale too; old subtasks that disagree on the columns fail the restore', async () => {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const old: SubtaskSnapshot[] = [];
    for (let subtask = 0; subtask < 2; subtask++) {
      const { h, op } = await normalize(S, SINGLE, { subtaskIndex: subtask, parallelism: 2 });
      op.process(batch(...ids.filter((id) => subtaskOf(id, 2) === subtask).map((id) => ['+I', id, `n${id}`, id])));
      old.push(await h.snapshot(op));
    }
    const evolved: Schema = { fields: [S.fields[0], { name: 'note', type: type('STRING') }, S.fields[2], S.fields[1]] };
    const r = await normalize(evolved, SINGLE, { restored: old });
    expect(r.op.size).toBe(ids.length);
    r.op.process(batch(...ids.map((id) => ['-D', id, null, null, null])));
    expect(r.h.take()).toEqual(ids.map((id) => `-D[${id}, null, ${id}, n${id}]`));

    const other = await normalize(evolved, SINGLE, { subtaskIndex: 1, parallelism: 2 });
    const mixed = [old[0]!, await other.h.snapshot(other.op)];
    const h3 = harness([S], { restored: mixed });
    await expect(new ChangelogNormalizeOperator(SINGLE).open(h3.ctx)).rejects.toThrow(/restored subtasks disagree on the columns/);
  });

  it('a restore whose state lacks a key column fails instead of guessing', async () => {
    const { h, op } = await normalize();
    op.process(batch(['+I', 1, 'a', 10]));
    h.take();
    const snap = await h.snapshot(op);
    const renamed: Schema = { fields: [{ name: 'order_id', type: type('BIGINT', false) }, S.fields[1], S.fields[2]] };
    const h2 = harness([renamed], { restored: [snap] });
    await expect(new ChangelogNormalizeOperator(SINGLE).open(h2.ctx)).rejects.toThrow(/lacks key column 'order_id'/);
  });

  it('forwards watermarks', async () => {
    const { h, op } = await normalize();
    h.advanceWatermark(op, 1234);
    expect(h.watermarks).toEqual([1234]);
  });
});
