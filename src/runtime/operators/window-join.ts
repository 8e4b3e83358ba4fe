/**
 * Window join (Flink's WindowJoin): two insert-only window aggregates joined on window_start,
 * window_end and other keys. Rows of both sides are buffered per (window_end, key); when the
 * watermark reaches window_end - 1 every pair of the window's left and right rows with equal keys
 * that passes the residual condition is emitted as +I, then (outer joins) each row that matched
 * nothing, padded with NULLs. Each window is emitted once and its state dropped: insert-only
 * output and state bounded by the open windows.
 *
 * The window aggregates below emit a window's rows before they forward the watermark that fired
 * them, so both sides' rows are here before the combined watermark passes the window; a row whose
 * window_end - 1 is at or behind the watermark is late, dropped and counted ('late-rows-dropped').
 * A row with a NULL key matches nothing (kept alone for the outer side, dropped otherwise).
 *
 * State: the pending windows, each key with the hash the exchange routed it by and both sides'
 * rows, are keyed state under the state layer's contract (a KeyGroupedStructure registered with
 * ctx.state): a snapshot buckets the keys by key group, and a restore with any parallelism gets
 * exactly the key groups the subtask owns. A NULL-key row is kept under a key of its own
 * (`\u0001` and a counter); a restore gives every such key a new number, as key groups of several
 * old subtasks may hold the same one. The operator's own snapshot holds only the watermark; a
 * restore takes the lowest of the old subtasks'. Checkpoints of earlier weir versions hold
 * everything in one blob per subtask (StateV1), still read and filtered by subtask.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { keyPart } from '../../state/key-part.js';
import { fireDueWindows, restoreWatermark, windowOf } from './event-time.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { bucketByKeyGroup } from '../../state/key-group-buckets.js';
import type { KeyGroupedStructure } from '../../state/state-backend.js';
import { internalError } from '../../errors.js';
import { type BatchBuilder, RowKind, rowOf, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { appendJoined, checkJoinKeys, openJoinSides } from './join-sides.js';

export interface WindowJoinConfig {
  readonly joinType: 'inner' | 'left' | 'right' | 'full';
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  /** The window_end column of each input (among the keys). */
  readonly leftEnd: number;
  readonly rightEnd: number;
  /** The rest of the condition, over the output row (left columns then right columns). */
  readonly residual?: BoundExpr;
}

interface Entry {
  readonly hash: number;
  readonly rows: [unknown[][], unknown[][]];
}

/** Operator state of earlier weir versions: the watermark and every pending window. */
interface StateV1 {
  readonly v: 1;
  readonly watermark: number | null;
  readonly windows: [number, [string, Entry][]][];
  /** Counter for the keys of NULL-key rows (unique, so they never match). */
  readonly nullKeys: number;
}

/** Operator state since the state layer: the windows are keyed state. */
interface StateV2 {
  readonly v: 2;
  readonly watermark: number | null;
}

/** One key group's keys in a snapshot. */
type KeyGroupData = [end: number, key: string, entry: Entry][];

/** The first character of the key of a NULL-key row, which no `keyPart` starts with. */
const NULL_KEY = '\u0001';

export class WindowJoinOperator implements Operator, KeyGroupedStructure {
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private arity: [number, number] = [0, 0];
  private residual: ((cols: readonly unknown[][], row: number) => boolean) | null = null;
  private scratch: unknown[][] = [];
  private readonly windows = new Map<number, Map<string, Entry>>();
  private watermark = -Infinity;
  private nullKeys = 0;

  constructor(readonly config: WindowJoinConfig) {
    checkJoinKeys(config.leftKeys, config.rightKeys, 'window join: invalid keys');
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    ({ arity: this.arity, builder: this.builder, scratch: this.scratch, residual: this.residual } = openJoinSides('window join', ctx, this.config.residual));
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => this.restore(bytes, ctx.subtaskIndex, ctx.parallelism));
    ctx.state.registerStructure('windows', this);
  }

  process(batch: ChangeBatch, input: number): void {
    if (input !== 0 && input !== 1) throw internalError(`window join: no input ${input}`);
    const left = input === 0;
    const keys = left ? this.config.leftKeys : this.config.rightKeys;
    const { joinType } = this.config;
    const keepsUnmatched = left ? joinType === 'left' || joinType === 'full' : joinType === 'right' || joinType === 'full';
    const cols = batch.columns;
    const ends = cols[left ? this.config.leftEnd : this.config.rightEnd] as number[];
    const arity = this.arity[input];
    let late = 0;
    for (let row = 0; row < batch.size; row++) {
      if (batch.kinds[row] !== RowKind.INSERT && batch.kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('window join: a retraction reached a window join, whose inputs must be insert-only');
      }
      const end = ends[row]!;
      if (end - 1 <= this.watermark) {
        late++;
        continue;
      }
      let key = '';
      let nullKey = false;
      for (let k = 0; k < keys.length; k++) {
        const v = cols[keys[k]!]![row];
        if (v === null) nullKey = true;
        key += keyPart(v);
      }
      if (nullKey) {
        if (!keepsUnmatched) continue;
        key = `\u0001${this.nullKeys++}`; // NULL_KEY
      }
      const w = windowOf(this.windows, end);
      let e = w.get(key);
      if (e === undefined) {
        e = { hash: hashRow(cols, row, keys), rows: [[], []] };
        w.set(key, e);
      }
      e.rows[input].push(rowOf(cols, row, arity));
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
  }

  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
    const fire = (_end: number, entries: Map<string, Entry>) => {
      for (const e of entries.values()) this.joinEntry(e);
    };
    if (fireDueWindows(this.windows, this.watermark, fire)) {
      const out = this.builder.take();
      if (out !== null) this.output.emit(out);
    }
  }

  private joinEntry(e: Entry): void {
    const [ls, rs] = e.rows;
    const { joinType } = this.config;
    const [la, ra] = this.arity;
    const pred = this.residual;
    const scratch = this.scratch;
    const rightMatched = joinType === 'right' || joinType === 'full' ? new Array<boolean>(rs.length).fill(false) : undefined;
    for (const l of ls) {
      let matched = false;
      if (pred !== null) for (let c = 0; c < la; c++) scratch[c]![0] = l[c];
      for (let j = 0; j < rs.length; j++) {
        const r = rs[j]!;
        if (pred !== null) {
          for (let c = 0; c < ra; c++) scratch[la + c]![0] = r[c];
          if (!pred(scratch, 0)) continue;
        }
        matched = true;
        if (rightMatched) rightMatched[j] = true;
        this.emit(l, r);
      }
      if (!matched && (joinType === 'left' || joinType === 'full')) this.emit(l, null);
    }
    if (rightMatched) rightMatched.forEach((m, j) => m || this.emit(null, rs[j]!));
  }

  private emit(l: unknown[] | null, r: unknown[] | null): void {
    appendJoined(this.builder, this.arity, RowKind.INSERT, l, r);
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV2 = { v: 2, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  /** KeyGroupedStructure: the keys of the pending windows, bucketed by key group. */
  snapshotKeyGroups(): Iterable<readonly [number, KeyGroupData]> {
    return bucketByKeyGroup(this.entries());
  }

  private *entries(): Iterable<[number, KeyGroupData[number]]> {
    for (const [end, w] of this.windows) for (const [key, e] of w) yield [e.hash, [end, key, e]];
  }

  /** KeyGroupedStructure: one key group's keys, as snapshotKeyGroups gave them. */
  restoreKeyGroup(_keyGroup: number, data: unknown): void {
    for (const [end, key, e] of data as KeyGroupData) this.adopt(end, key.startsWith(NULL_KEY) ? `${NULL_KEY}${this.nullKeys++}` : key, e);
  }

  /** Keys held over all pending windows (KeyGroupedStructure). */
  get size(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.size;
    return n;
  }

  /** The operator's own snapshot: the watermark, and (StateV1, an earlier weir) the windows of this subtask. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): number {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 2) return s.watermark ?? -Infinity;
    if (s.v !== 1) throw internalError(`window join state has unknown version ${String((s as { v: unknown }).v)}`);
    // NULL-key rows of several old subtasks may share a counter value: offset them apart.
    const offset = this.nullKeys;
    this.nullKeys += s.nullKeys;
    for (const [end, entries] of s.windows) {
      for (const [key, e] of entries) {
        if (subtaskOfHash(e.hash, parallelism) !== subtask) continue;
        this.adopt(end, key.startsWith(NULL_KEY) ? `${NULL_KEY}${offset + Number(key.slice(1))}` : key, e);
      }
    }
    return s.watermark ?? -Infinity;
  }

  private adopt(end: number, key: string, e: Entry): void {
    const w = windowOf(this.windows, end);
    w.set(key, e);
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
