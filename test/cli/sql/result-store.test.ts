import { describe, expect, it } from 'vitest';
import { RowKind, type ChangeBatch } from '../../../src/model/changelog.js';
import { ResultStore } from '../../../src/cli/sql/result-store.js';

/** The materialized result of the `table` mode. */

function batch(rows: [number, ...unknown[]][]): ChangeBatch {
  const arity = rows[0]!.length - 1;
  const columns: unknown[][] = Array.from({ length: arity }, (_, c) => rows.map((r) => r[c + 1]));
  return { size: rows.length, kinds: Uint8Array.from(rows.map((r) => r[0])), columns };
}

describe('ResultStore', () => {
  it('applies an update in place, deletes equal rows, keeps duplicates apart', () => {
    const s = new ResultStore(2);
    s.apply(
      batch([
        [RowKind.INSERT, 'a', 1],
        [RowKind.INSERT, 'b', 1],
        [RowKind.INSERT, 'c', 10n],
      ]),
    );
    s.apply(
      batch([
        [RowKind.UPDATE_BEFORE, 'a', 1],
        [RowKind.UPDATE_AFTER, 'a', 2],
      ]),
    );
    expect(s.rows).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 10n],
    ]);
    s.apply(
      batch([
        [RowKind.INSERT, 'b', 1],
        [RowKind.DELETE, 'c', 10n],
        [RowKind.DELETE, 'x', 0],
      ]),
    );
    expect(s.rows).toEqual([
      ['a', 2],
      ['b', 1],
      ['b', 1],
    ]);
    s.apply(
      batch([
        [RowKind.DELETE, 'b', 1],
        [RowKind.INSERT, null, null],
      ]),
    );
    expect(s.rows).toEqual([
      ['a', 2],
      ['b', 1],
      [null, null],
    ]);
    expect(s.changes).toBe(10);
  });

  it('drops the oldest rows beyond its limit', () => {
    const s = new ResultStore(1, 2);
    s.apply(
      batch([
        [RowKind.INSERT, 1],
        [RowKind.INSERT, 2],
        [RowKind.INSERT, 3],
      ]),
    );
    expect(s.rows).toEqual([[2], [3]]);
  });
});
