/**
 * Event-time SESSION window aggregation (Flink's session WindowAggregate / merging windows).
 *
 * Per group key, every row opens the window [t, t + gap); windows that intersect (touching
 * counts, as Flink's TimeWindow.intersects) merge into one session [min start, max end). When the
 * watermark reaches a session's end - 1 the session fires: one +I row for the key, then its state
 * is dropped. Output is insert-only.
 *
 * A row is late, dropped and counted ('late-rows-dropped') when, after merging, its session's
 * end - 1 <= the current watermark, that is when no open session of its key absorbs it (as
 * Flink's WindowOperator checks the merged window).
 *
 * Aggregate functions have no merge, so a session keeps the aggregate input values of its rows
 * (m per row, `undefined` where FILTER rejected the row) and accumulates them when it fires.
 *
 * State: per key its open sessions (start, end, values) and the hash the exchange routes it by.
 * The keys are the operator's keyed state under the state layer's contract (a KeyGroupedStructure
 * registered with ctx.state): a snapshot buckets them by the key group of their hash, so a restore
 * with any parallelism gets exactly the key groups the subtask owns. The operator's own snapshot
 * holds only the watermark (v 2), so a restored job neither fires a session twice nor lets a
 * replayed late row reopen one; several old subtasks' watermarks restore to the lowest.
 * Checkpoints of earlier versions (v 1: one blob with the watermark and every key) still restore,
 * keeping the keys whose hash routes to this subtask.
 */
import { compileAggregateInputs, type AggregateInputs } from '../../expr/aggregate-inputs.js';
import type { RowFn } from '../../expr/bound.js';
import { valuesMapKey } from '../../state/key-part.js';
import { nullWindowTime, restoreWatermark } from './event-time.js';
import { deserializeState, serializeState } from '../../state/serde.js';
import { internalError, unreachable } from '../../errors.js';
import { BatchBuilder, RowKind, type ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, OperatorMetrics, Output, SnapshotResult } from '../operator.js';
import { hashRow, subtaskOfHash } from '../../model/partition.js';
import { bucketByKeyGroup } from '../../state/key-group-buckets.js';
import type { KeyGroupedStructure } from '../../state/state-backend.js';
import type { AggregateSpec } from './keyed-aggregate.js';
import type { WindowOutputColumn } from './window-aggregate.js';

export interface SessionWindowAggregateConfig {
  /** Input column of the rowtime (epoch millis, never NULL). */
  readonly timeCol: number;
  /** The session gap in milliseconds. */
  readonly gap: number;
  /** Output group columns, in order; the 'key' ones are the session key, in this order. */
  readonly groups: readonly WindowOutputColumn[];
  /** Insert-only aggregate variants: the input is insert-only. */
  readonly aggs: readonly AggregateSpec[];
}

interface Session {
  start: number;
  end: number;
  /** m aggregate input values per row. */
  values: unknown[];
}

interface KeyState {
  readonly hash: number;
  readonly keys: unknown[];
  /** Open sessions, disjoint, by start. */
  sessions: Session[];
}

/** The operator's snapshot before the state layer: the watermark and every key. */
interface StateV1 {
  readonly v: 1;
  /** The watermark the operator had seen; -Infinity is stored as null. */
  readonly watermark: number | null;
  readonly keys: KeyState[];
}

/** The operator's own snapshot: the keys' sessions are the state layer's (a KeyState[] per key group). */
interface StateV2 {
  readonly v: 2;
  /** The watermark the operator had seen; -Infinity is stored as null. */
  readonly watermark: number | null;
}

const STAR_VALUE = 1;

export class SessionWindowAggregateOperator implements Operator, KeyGroupedStructure {
  private readonly keyCols: number[];
  private readonly fns: AggregateSpec['fn'][];
  private argCol: number[] = [];
  private argFn: (RowFn | null)[] = [];
  private filterFn: AggregateInputs['filterFn'] = [];
  private output!: Output;
  private metrics!: OperatorMetrics;
  private builder!: BatchBuilder;
  private readonly byKey = new Map<unknown, KeyState>();
  private watermark = -Infinity;
  /** No session ends before this (a lower bound): watermarks below it fire nothing. */
  private minEnd = Infinity;

  constructor(readonly config: SessionWindowAggregateConfig) {
    this.keyCols = config.groups.flatMap((g) => (g.kind === 'key' ? [g.index] : []));
    this.fns = config.aggs.map((a) => a.fn);
    if (!(config.gap > 0)) throw internalError(`session window aggregate: invalid gap ${config.gap}`);
  }

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
    this.metrics = ctx.metrics;
    this.builder = new BatchBuilder(this.config.groups.length + this.config.aggs.length);
    ({ argCol: this.argCol, argFn: this.argFn, filterFn: this.filterFn } = compileAggregateInputs(this.config.aggs));
    this.watermark = restoreWatermark(ctx.restoredState, (bytes) => this.restore(bytes, ctx.subtaskIndex, ctx.parallelism));
    ctx.state.registerStructure('sessions', this);
  }

  process(batch: ChangeBatch, _input = 0): void {
    const n = batch.size;
    const cols = batch.columns;
    const kinds = batch.kinds;
    const times = cols[this.config.timeCol] as (number | null)[];
    const keyCols = this.keyCols;
    const g = keyCols.length;
    const m = this.fns.length;
    const argCols = this.argCol.map((c) => (c >= 0 ? cols[c] : null));
    const { argFn, filterFn } = this;
    const gap = this.config.gap;
    let late = 0;
    const rowKeys = new Array<unknown>(g);
    for (let row = 0; row < n; row++) {
      if (kinds[row] !== RowKind.INSERT && kinds[row] !== RowKind.UPDATE_AFTER) {
        throw internalError('session window aggregate: a retraction (-U/-D) reached a window aggregate, whose input must be insert-only');
      }
      const t = times[row];
      if (t === null || t === undefined) {
        throw nullWindowTime();
      }
      for (let k = 0; k < g; k++) rowKeys[k] = cols[keyCols[k]!]![row];
      const mapKey = valuesMapKey(rowKeys);
      let state = this.byKey.get(mapKey);
      // Merge [t, t + gap) with every open session it intersects.
      let start = t;
      let end = t + gap;
      const sessions = state?.sessions;
      let first = -1;
      let count = 0;
      if (sessions !== undefined) {
        for (let i = 0; i < sessions.length; i++) {
          const s = sessions[i]!;
          if (s.start <= end && s.end >= start) {
            if (first < 0) first = i;
            count++;
            if (s.start < start) start = s.start;
            if (s.end > end) end = s.end;
          } else if (s.start > end) break;
        }
      }
      if (end - 1 <= this.watermark) {
        late++;
        continue;
      }
      if (state === undefined) {
        state = { hash: g === 0 ? 0 : hashRow(cols, row, keyCols), keys: rowKeys.slice(), sessions: [] };
        this.byKey.set(mapKey, state);
      }
      let session: Session;
      if (count === 0) {
        session = { start, end, values: [] };
        let at = 0;
        while (at < state.sessions.length && state.sessions[at]!.start < start) at++;
        state.sessions.splice(at, 0, session);
      } else {
        session = state.sessions[first]!;
        for (let i = 1; i < count; i++) {
          const other = state.sessions[first + i]!.values;
          for (let j = 0; j < other.length; j++) session.values.push(other[j]);
        }
        if (count > 1) state.sessions.splice(first + 1, count - 1);
        session.start = start;
        session.end = end;
      }
      if (end < this.minEnd) this.minEnd = end;
      const values = session.values;
      for (let j = 0; j < m; j++) {
        const ff = filterFn[j];
        if (ff !== null && !ff(cols, row)) {
          values.push(undefined);
          continue;
        }
        const ac = argCols[j];
        const af = argFn[j];
        values.push(ac !== null ? ac![row] : af !== null ? af(cols, row) : STAR_VALUE);
      }
    }
    if (late > 0) this.metrics.inc('late-rows-dropped', late);
  }

  /** Fires every session whose end - 1 <= the watermark, then forwards the watermark. */
  onWatermark(timestamp: number): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
    if (this.minEnd - 1 <= this.watermark) {
      let minEnd = Infinity;
      const due: [number, KeyState, Session][] = [];
      for (const [mapKey, state] of this.byKey) {
        let kept = 0;
        for (const s of state.sessions) {
          if (s.end - 1 <= this.watermark) due.push([s.end, state, s]);
          else {
            state.sessions[kept++] = s;
            if (s.end < minEnd) minEnd = s.end;
          }
        }
        state.sessions.length = kept;
        if (kept === 0) this.byKey.delete(mapKey);
      }
      this.minEnd = minEnd;
      // Oldest sessions first, as windows fire in time order.
      due.sort((a, b) => a[0] - b[0]);
      for (const [, state, s] of due) this.fire(state, s);
      const out = this.builder.take();
      if (out !== null) this.output.emit(out);
    }
  }

  private fire(state: KeyState, s: Session): void {
    const b = this.builder;
    const columns = this.config.groups;
    const fns = this.fns;
    const m = fns.length;
    b.startRow(RowKind.INSERT);
    let k = 0;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      switch (col.kind) {
        case 'key':
          b.set(c, state.keys[k++]);
          break;
        case 'window_start':
          b.set(c, s.start);
          break;
        case 'window_end':
          b.set(c, s.end);
          break;
        case 'window_time':
          b.set(c, s.end - 1);
          break;
        default:
          unreachable(col);
      }
    }
    const values = s.values;
    for (let j = 0; j < m; j++) {
      const fn = fns[j]!;
      let acc = fn.create();
      for (let i = j; i < values.length; i += m) {
        const v = values[i];
        if (v !== undefined) acc = fn.accumulate(acc, v);
      }
      b.set(columns.length + j, fn.getValue(acc));
    }
  }

  snapshotState(_checkpointId = 0): SnapshotResult {
    const state: StateV2 = { v: 2, watermark: this.watermark === -Infinity ? null : this.watermark };
    return { state: serializeState(state) };
  }

  /** KeyGroupedStructure: the keys with open sessions, bucketed by the key group of their hash. */
  snapshotKeyGroups(): Iterable<readonly [number, KeyState[]]> {
    return bucketByKeyGroup(this.keysWithHashes());
  }

  private *keysWithHashes(): Iterable<[number, KeyState]> {
    for (const state of this.byKey.values()) yield [state.hash, state];
  }

  /** KeyGroupedStructure: one key group's keys, as snapshotKeyGroups gave them. */
  restoreKeyGroup(_keyGroup: number, data: unknown): void {
    this.restoreKeys(data as KeyState[], null);
  }

  /** Non-keyed state: the watermark (v 2), or a whole snapshot of an earlier weir (v 1); returns the watermark. */
  private restore(bytes: Uint8Array, subtask: number, parallelism: number): number {
    const s = deserializeState<StateV1 | StateV2>(bytes);
    if (s.v === 1) this.restoreKeys(s.keys, (hash) => subtaskOfHash(hash, parallelism) === subtask);
    else if (s.v !== 2) throw internalError(`session window aggregate state has unknown version ${String((s as { v: unknown }).v)}`);
    return s.watermark ?? -Infinity;
  }

  /** Adds restored keys (those `keep` accepts, all without it). */
  private restoreKeys(keys: readonly KeyState[], keep: ((hash: number) => boolean) | null): void {
    const g = this.keyCols.length;
    for (const state of keys) {
      if (state.keys.length !== g) throw internalError(`session window aggregate state has ${state.keys.length} keys, the operator ${g}`);
      if (keep !== null && !keep(state.hash)) continue;
      this.byKey.set(valuesMapKey(state.keys), state);
      for (const sess of state.sessions) if (sess.end < this.minEnd) this.minEnd = sess.end;
    }
  }

  /** Keys with open sessions (KeyGroupedStructure). */
  get size(): number {
    return this.byKey.size;
  }

  /** Open sessions of all keys, for tests. */
  get openSessions(): number {
    let n = 0;
    for (const s of this.byKey.values()) n += s.sessions.length;
    return n;
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
