/**
 * The snapshot format of keyed-aggregate's group table: columnar (see src/state/columns.ts), one
 * element per group. The state layer stores one such snapshot per key group; checkpoints of earlier
 * weir versions hold one per subtask (in OperatorContext.restoredState), read by `unpackGroups` too.
 */
import { internalError } from '../../errors.js';
import { packColumn, unpackColumn, type PackedColumn } from '../../state/columns.js';

/** Layout before columnar snapshots: parallel arrays, one element per group. */
interface GroupsV1 {
  readonly v: 1;
  readonly hashes: number[];
  readonly keys: (readonly unknown[])[];
  readonly counts: number[];
  /** Accumulators of the retractable aggregate variants. */
  readonly accs: unknown[][];
}

/** Columnar: `n` groups; every column has one value per group, in the same order. */
export interface GroupsV2 {
  readonly v: 2;
  readonly n: number;
  readonly hashes: Uint32Array;
  readonly counts: PackedColumn;
  /** One column per group key column. */
  readonly keys: readonly PackedColumn[];
  /** One column of accumulators per aggregate call. */
  readonly accs: readonly PackedColumn[];
  /** Per aggregate call: whether its accumulators are those of the retractable variant. */
  readonly retractable: readonly boolean[];
}

/** The group table as the snapshot reads it (row-major, see KeyedAggregateOperator). */
export interface GroupTable {
  readonly hashes: Uint32Array;
  /** [2 * slot] the group's live input rows. */
  readonly meta: Float64Array;
  /** `width` values per slot: `keyCount` key values, then the accumulators. */
  readonly data: readonly unknown[];
  readonly width: number;
  readonly keyCount: number;
  readonly retractable: readonly boolean[];
}

/** Packs the groups in slots `sel` (`n` of them). */
export function packGroups(t: GroupTable, n: number, sel: Int32Array): GroupsV2 {
  const hashes = new Uint32Array(n);
  for (let i = 0; i < n; i++) hashes[i] = t.hashes[sel[i]];
  const g = t.keyCount;
  return {
    v: 2,
    n,
    hashes,
    counts: packColumn(t.meta, n, sel, 2, 0),
    keys: Array.from({ length: g }, (_, k) => packColumn(t.data as unknown[], n, sel, t.width, k)),
    accs: t.retractable.map((_, j) => packColumn(t.data as unknown[], n, sel, t.width, g + j)),
    retractable: t.retractable,
  };
}

/** Unpacked groups: column k of `keys`, column j of `accs`, one element per group. */
export interface Groups {
  readonly n: number;
  readonly hashes: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
  readonly keys: readonly ArrayLike<unknown>[];
  readonly accs: readonly ArrayLike<unknown>[];
  readonly retractable: readonly boolean[];
}

/** Reads either format, checking it has `keyCount` key and `aggCount` aggregate columns. */
export function unpackGroups(s: GroupsV1 | GroupsV2, keyCount: number, aggCount: number): Groups {
  if (s.v === 1) {
    return {
      n: s.hashes.length,
      hashes: s.hashes,
      counts: s.counts,
      keys: Array.from({ length: keyCount }, (_, k) => s.keys.map((kv) => kv[k])),
      accs: Array.from({ length: aggCount }, (_, j) => s.accs.map((a) => a[j])),
      retractable: Array.from({ length: aggCount }, () => true),
    };
  }
  if (s.v !== 2) throw internalError(`keyed aggregate state has unknown version ${String((s as { v: unknown }).v)}`);
  if (s.keys.length !== keyCount || s.accs.length !== aggCount) {
    throw internalError(`keyed aggregate state has ${s.keys.length} key and ${s.accs.length} aggregate columns, the operator ${keyCount} and ${aggCount}`);
  }
  const n = s.n;
  return {
    n,
    hashes: s.hashes,
    counts: unpackColumn(s.counts, n) as ArrayLike<number>,
    keys: s.keys.map((c) => unpackColumn(c, n)),
    accs: s.accs.map((c) => unpackColumn(c, n)),
    retractable: s.retractable,
  };
}
