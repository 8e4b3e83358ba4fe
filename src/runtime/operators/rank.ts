/**
 * Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY p ORDER BY o) <= N` (Flink's Rank
 * with ROW_NUMBER; `= 1` is a deduplication that keeps the first or last row by o).
 *
 * State per partition: its rows sorted by the ORDER BY columns, each distinct row with how many
 * times it is live. Rows that sort equal are ordered by their content, so the result does not
 * depend on arrival order (which differs with parallelism). With an insert-only input only the
 * first N rows are kept (a row pushed out can never come back, as Flink's AppendOnlyTopN); with an
 * updating input every live row is kept, as a retraction may bring row N + 1 back up.
 *
 * Output per input batch, per partition it changed, comparing the top N before and after:
 * - with the row number: per position, -U(old, i)/+U(new, i) when its row changed, +I(new, i)
 *   when it was empty, -D(old, i) when it became empty;
 * - without it (not read downstream): -D for rows that left the top N, +I for rows that entered.
 *
 * State: one keyed value state with the job's state TTL (as Flink's rank functions): partition key
 * → the partition, its entries sorted. A batch mutates the partitions it reads from the state in
 * place and writes each one it changed back once, at the end of the batch (a partition left empty
 * is deleted). A row that changes nothing (it sorts below an append-only top N, or retracts an
 * unknown row) writes nothing, so it does not restart the partition's time to live.
 *
 * Snapshots: the state layer's (by key group); the operator has no state of its own. Checkpoints of
 * earlier versions (one blob with every partition and the hash of its key) are still restored.
 */
import { keyPart, rowMapKey, valuesMapKey } from '../../state/key-part.js';
import { deserializeState } from '../../state/serde.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, RowKind, rowOf, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import type { ValueState } from '../../state/state-backend.js';

export interface RankConfig {
  readonly partitionKeys: readonly number[];
  readonly orderKeys: readonly { readonly index: number; readonly descending: boolean }[];
  /** N: rows ranked 1..N are output. */
  readonly limit: number;
  /** Whether the row number column is output (else its value is not read downstream). */
  readonly outputRank: boolean;
  /** The input never retracts: keep only the first N rows per partition. */
  readonly insertOnlyInput: boolean;
}

/**
 * A distinct row of a partition and how many times it is live. Rows that sort equal by the ORDER
 * BY columns are ordered by their identity (compareRowIds).
 */
interface Entry {
  readonly row: unknown[];
  count: number;
}

/** A partition's entries, sorted by the ORDER BY columns, then by id (plain data: it is the state's value). */
type Partition = Entry[];

/** The snapshot of weir versions before the state layer: every partition with the hash of its key. */
interface StateV1 {
  readonly v: 1;
  readonly partitions: [unknown, number, [unknown[], number][]][];
}

/**
 * A partition as snapshots hold it: `[arity, ...row 1, count 1, ...row 2, count 2, ...]`, all
 * plain values, which pack into columns (V8's serializer takes several times longer over the
 * entry objects).
 */
function flatPartition(p: Partition, arity: number): unknown[] {
  // Filled by push: packed, where `new Array(n)` stays holey (V8 serializes that as sparse).
  const out: unknown[] = [arity];
  for (let j = 0; j < p.length; j++) {
    const e = p[j]!;
    const row = e.row;
    for (let c = 0; c < arity; c++) out.push(row[c]);
    out.push(e.count);
  }
  return out;
}

/** A restored partition: flat (flatPartition) or as held (entry objects: rocksdb, earlier versions). */
function partitionOf(v: unknown): Partition {
  const flat = v as unknown[];
  if (typeof flat[0] !== 'number') return v as Partition;
  const arity = flat[0];
  const p: Partition = [];
  for (let i = 1; i + arity < flat.length; i += arity + 1) p.push({ row: flat.slice(i, i + arity), count: flat[i + arity] as number });
  return p;
}

/** Top-N changes up to this many rows (before and after) are diffed pairwise, not with Maps. */
const SMALL_DIFF = 32;

/**
 * The order of two rows' identities (a row's identity is the concatenation of its columns'
 * `keyPart`s, compared as strings) without building them: a `keyPart` is never a proper prefix of
 * another (strings carry their length, every other kind a terminator), so the first column whose
 * parts differ decides. Columns holding the same value are skipped without a string, so a tie
 * costs a string per side only for the column that breaks it.
 */
export function compareRowIds(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let c = 0; c < n; c++) {
    const x = a[c];
    const y = b[c];
    if (x === y) continue;
    const px = keyPart(x);
    const py = keyPart(y);
    if (px !== py) return px < py ? -1 : 1;
  }
  return a.length - b.length;
}

/** SQL order of two values of one column: NULL first, then by value. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

export class RankOperator implements Operator {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private arity = 0;
  private partitions!: ValueState<unknown, Partition>;
  /** Partitions read by the current batch → their index in the arrays below (in order of first read). */
  private readonly touched = new Map<Partition, number>();
  private readonly touchedKeys: unknown[] = [];
  private readonly touchedHashes: number[] = [];
  /** The top N rows (by position) before the batch. */
  private readonly touchedBefore: unknown[][][] = [];
  /** Whether the batch changed the partition (only then is it written back). */
  private readonly touchedChanged: boolean[] = [];

  /** Scratch of emitDifference: which rows of the other side are matched. */
  private readonly used = new Uint8Array(SMALL_DIFF);

  constructor(readonly config: RankConfig) {
    if (!(config.limit >= 1)) throw internalError(`rank: invalid limit ${config.limit}`);
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    const a = ctx.inputSchemas[0]?.fields.length;
    if (a === undefined) throw internalError('rank: no input schema');
    this.arity = a;
    this.builder = new BatchBuilder(a + 1);
    this.partitions = ctx.state.valueState<unknown, Partition>('partitions', {
      ttl: true,
      encode: (p) => flatPartition(p as Partition, a),
      migrate: partitionOf,
    });
    for (const bytes of ctx.restoredState) this.restore(bytes, ctx.subtaskIndex, ctx.parallelism);
  }

  private compare(a: Entry, b: Entry): number {
    const keys = this.config.orderKeys;
    for (let k = 0; k < keys.length; k++) {
      const { index, descending } = keys[k]!;
      const c = compareValues(a.row[index], b.row[index]);
      if (c !== 0) return descending ? -c : c;
    }
    return compareRowIds(a.row, b.row);
  }

  /** Whether the entries fill all N positions. */
  private full(entries: Partition): boolean {
    let pos = 0;
    for (let i = 0; i < entries.length; i++) pos += entries[i]!.count;
    return pos >= this.config.limit;
  }

  /** Whether row `row` of `cols` sorts strictly after `e` by the ORDER BY columns (a tie is not after). */
  private after(cols: readonly unknown[][], row: number, e: Entry): boolean {
    const keys = this.config.orderKeys;
    for (let k = 0; k < keys.length; k++) {
      const { index, descending } = keys[k]!;
      const c = compareValues(cols[index]![row], e.row[index]);
      if (c !== 0) return descending ? c < 0 : c > 0;
    }
    return false;
  }

  /** Index of the first entry that does not sort before `e`. */
  private lowerBound(entries: readonly Entry[], e: Entry): number {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(entries[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The rows at positions 1..N (a row live twice takes two positions). */
  private topN(p: Partition): unknown[][] {
    const out: unknown[][] = [];
    const limit = this.config.limit;
    for (const e of p) {
      for (let c = 0; c < e.count && out.length < limit; c++) out.push(e.row);
      if (out.length >= limit) break;
    }
    return out;
  }

  prefetch(batch: ChangeBatch): void {
    const cols = batch.columns;
    const keys = this.config.partitionKeys;
    for (let row = 0; row < batch.size; row++) {
      this.partitions.prefetch(rowMapKey(cols, row, keys), keys.length === 0 ? 0 : hashRow(cols, row, keys));
    }
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    if (n === 0) return;
    if (this.config.insertOnlyInput && this.config.limit === 1) {
      this.processFirst(batch);
      return;
    }
    const cols = batch.columns;
    const keys = this.config.partitionKeys;
    const arity = this.arity;
    const limit = this.config.limit;
    const insertOnly = this.config.insertOnlyInput;
    const partitions = this.partitions;
    const touched = this.touched;
    for (let row = 0; row < n; row++) {
      const key = rowMapKey(cols, row, keys);
      // No partition keys: one partition, on the single subtask (key group 0).
      const hash = keys.length === 0 ? 0 : hashRow(cols, row, keys);
      const accumulate = batch.kinds[row] === RowKind.INSERT || batch.kinds[row] === RowKind.UPDATE_AFTER;
      let entries = partitions.get(key, hash);
      // Insert-only and the top N full: a row sorting after its last row can never enter.
      if (insertOnly && entries !== undefined && this.full(entries) && this.after(cols, row, entries[entries.length - 1]!)) continue;
      const values = rowOf(cols, row, arity);
      const probe: Entry = { row: values, count: 1 };
      if (entries === undefined) {
        if (!accumulate) {
          this.metrics.inc('retractions-of-unknown-rows');
          continue;
        }
        entries = [];
        // Held from now on, so the batch's later rows of this key find it.
        partitions.put(key, hash, entries);
      }
      const t = touched.get(entries) ?? this.touch(entries, key, hash, this.topN(entries), false);
      const at = this.lowerBound(entries, probe);
      // The row itself is held when the first entry not before it is not after it either.
      const hit = at < entries.length && this.compare(entries[at]!, probe) === 0 ? entries[at]! : undefined;
      if (accumulate) {
        if (hit) hit.count++;
        else {
          if (insertOnly && at >= limit) continue; // sorts after the top N for good
          entries.splice(at, 0, probe);
        }
        if (insertOnly) {
          // Keep exactly N positions.
          let pos = 0;
          for (let i = 0; i < entries.length; i++) {
            const e = entries[i]!;
            if (pos + e.count > limit) e.count = limit - pos;
            pos += e.count;
            if (e.count <= 0 || pos >= limit) {
              entries.length = e.count <= 0 ? i : i + 1;
              break;
            }
          }
        }
      } else {
        if (!hit) {
          this.metrics.inc('retractions-of-unknown-rows');
          continue;
        }
        if (--hit.count === 0) entries.splice(at, 1);
      }
      this.touchedChanged[t] = true;
    }
    this.flush();
  }

  /**
   * Deduplication of an insert-only input (N = 1): a partition holds one entry, and a row either
   * sorts after it (nothing changes) or takes its place. What `process` does for any N, without
   * the search, the insertion and the top-N lists.
   */
  private processFirst(batch: ChangeBatch): void {
    const n = batch.size;
    const cols = batch.columns;
    const keys = this.config.partitionKeys;
    const arity = this.arity;
    const partitions = this.partitions;
    const touched = this.touched;
    for (let row = 0; row < n; row++) {
      const key = rowMapKey(cols, row, keys);
      const hash = keys.length === 0 ? 0 : hashRow(cols, row, keys);
      let entries = partitions.get(key, hash);
      const top = entries?.[0];
      if (top !== undefined && this.after(cols, row, top)) continue;
      const probe: Entry = { row: rowOf(cols, row, arity), count: 1 };
      // A tie of the ORDER BY columns is decided by the rows' content. The same row again changes
      // no output but is written (as `process` counts it), restarting the partition's TTL.
      const c = top === undefined ? 1 : this.compare(top, probe);
      if (c < 0) continue;
      if (entries === undefined) {
        entries = [];
        partitions.put(key, hash, entries);
      }
      if (!touched.has(entries)) this.touch(entries, key, hash, top === undefined ? [] : [top.row], true);
      if (c > 0) {
        entries.length = 1;
        entries[0] = probe;
      }
    }
    this.flush();
  }

  /**
   * Notes that the batch read partition `p` (its top N before the batch: `before`); returns its
   * index in the touched arrays.
   */
  private touch(p: Partition, key: unknown, hash: number, before: unknown[][], changed: boolean): number {
    const t = this.touchedKeys.length;
    this.touched.set(p, t);
    this.touchedKeys.push(key);
    this.touchedHashes.push(hash);
    this.touchedBefore.push(before);
    this.touchedChanged.push(changed);
    return t;
  }

  private emitRow(kind: RowKind, row: readonly unknown[], rank: number): void {
    const b = this.builder;
    b.startRow(kind);
    for (let c = 0; c < this.arity; c++) b.set(c, row[c]);
    b.set(this.arity, rank);
  }

  private flush(): void {
    for (const [p, t] of this.touched) {
      const before = this.touchedBefore[t]!;
      const after = this.topN(p);
      if (this.config.outputRank) {
        const m = Math.max(before.length, after.length);
        for (let i = 0; i < m; i++) {
          const o = before[i];
          const nw = after[i];
          if (o === nw) continue;
          if (o !== undefined && nw !== undefined) {
            this.emitRow(RowKind.UPDATE_BEFORE, o, i + 1);
            this.emitRow(RowKind.UPDATE_AFTER, nw, i + 1);
          } else if (o !== undefined) this.emitRow(RowKind.DELETE, o, i + 1);
          else this.emitRow(RowKind.INSERT, nw!, i + 1);
        }
      } else if (before.length + after.length <= SMALL_DIFF) {
        this.emitDifference(before, after);
      } else {
        // Multiset difference by row identity (equal rows share one array in the state).
        const counts = new Map<unknown[], number>();
        for (const r of after) counts.set(r, (counts.get(r) ?? 0) + 1);
        for (let i = 0; i < before.length; i++) {
          const r = before[i]!;
          const c = counts.get(r) ?? 0;
          if (c > 0) counts.set(r, c - 1);
          else this.emitRow(RowKind.DELETE, r, i + 1);
        }
        const left = new Map<unknown[], number>();
        for (const r of before) left.set(r, (left.get(r) ?? 0) + 1);
        for (let i = 0; i < after.length; i++) {
          const r = after[i]!;
          const c = left.get(r) ?? 0;
          if (c > 0) left.set(r, c - 1);
          else this.emitRow(RowKind.INSERT, r, i + 1);
        }
      }
      if (p.length === 0) this.partitions.delete(this.touchedKeys[t], this.touchedHashes[t]!);
      else if (this.touchedChanged[t]) this.partitions.put(this.touchedKeys[t], this.touchedHashes[t]!, p);
    }
    this.touched.clear();
    this.touchedKeys.length = 0;
    this.touchedHashes.length = 0;
    this.touchedBefore.length = 0;
    this.touchedChanged.length = 0;
    const out = this.builder.take();
    if (out !== null) this.output.emit(out);
  }

  /**
   * The multiset difference of a small top N (by row identity: equal rows share one array in the
   * state) by pairwise search instead of Maps: -D for rows of `before` not in `after`, then +I for
   * rows of `after` not in `before`, each at its position.
   */
  private emitDifference(before: readonly unknown[][], after: readonly unknown[][]): void {
    this.emitMissing(RowKind.DELETE, before, after);
    this.emitMissing(RowKind.INSERT, after, before);
  }

  /** `kind` for each row of `rows` (at its position) that `others` does not hold (as a multiset). */
  private emitMissing(kind: RowKind, rows: readonly unknown[][], others: readonly unknown[][]): void {
    const used = this.used;
    used.fill(0, 0, others.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      let j = 0;
      while (j < others.length && (used[j] === 1 || others[j] !== r)) j++;
      if (j < others.length) used[j] = 1;
      else this.emitRow(kind, r, i + 1);
    }
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  /** A checkpoint of an earlier version: its partitions routed to this subtask go into the state. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): void {
    const s = deserializeState<StateV1>(bytes);
    if (s.v !== 1) throw internalError(`rank state has unknown version ${String((s as { v: unknown }).v)}`);
    const keys = this.config.partitionKeys;
    for (const [, hash, entries] of s.partitions) {
      if (subtaskOfHash(hash, parallelism) !== subtask || entries.length === 0) continue;
      // Keyed by its rows, not by the snapshot's key: snapshots before the shared key function keyed "no partition keys" 0.
      const key = valuesMapKey(keys.map((k) => entries[0]![0][k]));
      this.partitions.put(
        key,
        hash,
        entries.map(([row, count]) => ({ row, count })),
      );
    }
  }

  /** Live partitions, for tests. */
  get partitionCount(): number {
    return this.partitions.size;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
