/**
 * The snapshot format of keyed-aggregate's group table: columnar (see src/state/columns.ts), one
 * element per group. The state layer stores one such snapshot per key group; checkpoints of earlier
 * weir versions hold one per subtask (in OperatorContext.restoredState), read by `unpackGroups` too.
 * Incremental checkpoints store GroupChanges per changed key group on top of a full snapshot.
 */
import type { AggregateFunction } from '../../expr/aggregates.js';
import { internalError, userError } from '../../errors.js';
import { KEY_GROUPS, keyGroupOf } from '../../model/partition.js';
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

/**
 * One key group's changes since the previous snapshot (full or changes), what
 * snapshotKeyGroupChanges gives and applyKeyGroupChanges takes. Applied deletes first, then puts: a
 * key whose group was dropped and created again within one change set is in both.
 */
export interface GroupChanges {
  /** Groups created or changed, with their values as of the snapshot (as a full snapshot holds them); null: none. */
  readonly puts: GroupsV2 | null;
  /** Keys whose group is gone (row count back to 0, or expired by the state TTL); null: none. */
  readonly deletes: GroupDeletes | null;
}

/** `n` keys of dropped groups: their hashes and one column per group key column. */
export interface GroupDeletes {
  readonly n: number;
  readonly hashes: Uint32Array;
  readonly keys: readonly PackedColumn[];
}

/**
 * Items `items` (indexes into `hashes`) bucketed by key group, a counting sort: the items of key
 * group kg are `order[starts[kg] .. starts[kg + 1])`, in their order in `items`.
 */
export function bucketByKeyGroup(hashes: ArrayLike<number>, items: Int32Array): { starts: Int32Array; order: Int32Array } {
  const starts = new Int32Array(KEY_GROUPS + 1);
  for (let i = 0; i < items.length; i++) starts[keyGroupOf(hashes[items[i]]) + 1]++;
  for (let kg = 0; kg < KEY_GROUPS; kg++) starts[kg + 1] += starts[kg];
  const order = new Int32Array(items.length);
  const fill = starts.slice(0, KEY_GROUPS);
  for (let i = 0; i < items.length; i++) order[fill[keyGroupOf(hashes[items[i]])]++] = items[i];
  return { starts, order };
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

/** Packs the removed keys `sel` (`n` of them): key k of removed key r is `keys[r * keyCount + k]`. */
export function packDeletes(hashes: ArrayLike<number>, keys: readonly unknown[], keyCount: number, n: number, sel: Int32Array): GroupDeletes {
  const h = new Uint32Array(n);
  for (let i = 0; i < n; i++) h[i] = hashes[sel[i]];
  return { n, hashes: h, keys: Array.from({ length: keyCount }, (_, k) => packColumn(keys, n, sel, keyCount, k)) };
}

/** The keys of packed deletes (none for null), checking they have `keyCount` columns; one array, refilled per key. */
export function* deletedKeys(d: GroupDeletes | null, keyCount: number): Iterable<unknown[]> {
  if (d === null) return;
  if (d.keys.length !== keyCount) throw internalError(`keyed aggregate changes delete keys of ${d.keys.length} columns, the operator has ${keyCount}`);
  const keys = d.keys.map((c) => unpackColumn(c, d.n));
  const row: unknown[] = new Array(keyCount);
  for (let i = 0; i < d.n; i++) {
    for (let k = 0; k < keyCount; k++) row[k] = keys[k][i];
    yield row;
  }
}

/**
 * Per aggregate call, what turns a restored accumulator into the operator's (null: none needed):
 * state of the retractable variant restored into the insert-only one is converted; the other way
 * round fails, insert-only accumulators lack what retraction needs (e.g. MIN/MAX keep no multiset).
 */
export function accConverters(fns: readonly AggregateFunction<unknown>[], retractable: readonly boolean[]): (((acc: unknown) => unknown) | null)[] {
  return fns.map((fn, j) => {
    if (retractable[j] === fn.retractable) return null;
    if (!retractable[j]) {
      throw userError(
        'STATE_INCOMPATIBLE',
        `the checkpointed state of ${fn.name} (aggregate call ${j + 1}) was built from an insert-only input, but the input now produces updates and deletes, which that state cannot retract; start the job without restoring this checkpoint`,
      );
    }
    if (fn.fromRetractable === undefined) throw internalError(`${fn.name}: insert-only aggregate cannot convert retractable state`);
    return fn.fromRetractable.bind(fn);
  });
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

/** Whether a group's result `now[0 .. m)` differs from its previous one, `before[at .. at + m)`. */
export function resultChanged(before: readonly unknown[], at: number, now: readonly unknown[], m: number): boolean {
  for (let j = 0; j < m; j++) if (before[at + j] !== now[j]) return true;
  return false;
}
