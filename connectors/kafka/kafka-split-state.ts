/**
 * A reader's state per split and how it maps to the checkpointed position `{ offset, end?, start? }`.
 * `offset` is the next offset not handed out by poll(), so a restore re-reads nothing that was
 * emitted; `end` is fixed at the first start, so a restored bounded read ends at the same place;
 * `start` is where an upsert-kafka partition was first read: on a restore the partition is re-read
 * silently from `start` to `offset` to rebuild the last row per key (compacted topics keep exactly that).
 */
import { userError } from '../../src/errors.js';
import type { JsonValue } from '../../src/runtime/operator.js';
import type { SplitPosition } from '../../src/runtime/source.js';
import type { KafkaSplit } from './kafka-splits.js';
import type { UpsertState } from './message-decoder.js';

export interface SplitState {
  readonly split: KafkaSplit;
  readonly topic: string;
  readonly partition: number;
  /** Next offset not handed out by poll(): the position. */
  emitted: number;
  /** Next offset to fetch (>= emitted). */
  fetchOffset: number;
  /** Bounded reads end before this offset. */
  readonly end: number | undefined;
  /** upsert-kafka: where this job started reading the partition. */
  readonly start: number;
  /** upsert-kafka: offsets below are replayed into `upsert` without emitting rows. */
  readonly replayUntil: number;
  finished: boolean;
  readonly upsert: UpsertState | undefined;
}

interface Position {
  offset?: unknown;
  end?: unknown;
  start?: unknown;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** A split read for the first time, from `start` (to `end` when bounded). */
export function freshSplitState(split: KafkaSplit, start: number, end: number | undefined, upsert: boolean): SplitState {
  return {
    split,
    topic: split.topic,
    partition: split.partition,
    emitted: start,
    fetchOffset: start,
    end,
    start,
    replayUntil: start,
    finished: end !== undefined && start >= end,
    upsert: upsert ? new Map() : undefined,
  };
}

/** A split continued from a checkpoint's position. */
export function restoredSplitState(split: KafkaSplit, r: SplitPosition, upsert: boolean): SplitState {
  const p = (r.position ?? {}) as Position;
  const offset = num(p.offset);
  if (offset === undefined) throw userError('BAD_CHECKPOINT', `the checkpoint has no Kafka offset for ${split.id} (position ${JSON.stringify(r.position)})`);
  const end = num(p.end);
  const start = upsert ? (num(p.start) ?? offset) : offset;
  return {
    split,
    topic: split.topic,
    partition: split.partition,
    emitted: offset,
    fetchOffset: start,
    end,
    start,
    replayUntil: offset,
    finished: r.finished === true || (end !== undefined && offset >= end),
    upsert: upsert ? new Map() : undefined,
  };
}

/** The position to checkpoint: exactly the rows poll() has returned so far. */
export function splitPosition(s: SplitState, upsert: boolean): SplitPosition {
  const position: Record<string, JsonValue> = { offset: s.emitted };
  if (s.end !== undefined) position.end = s.end;
  if (upsert) position.start = s.start;
  return { split: s.split, position, ...(s.finished ? { finished: true } : {}) };
}

/** The splits a reader owns, in assignment order, and by id for fetch responses. */
export class SplitStates {
  readonly all: SplitState[] = [];
  private readonly byId = new Map<string, SplitState>();

  add(s: SplitState): void {
    this.all.push(s);
    this.byId.set(s.split.id, s);
  }

  get(id: string): SplitState | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get allFinished(): boolean {
    return this.all.every((s) => s.finished);
  }
}
