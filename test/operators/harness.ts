/** A hand-driven OperatorContext for operator unit tests. */
import type { Schema } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';
import { keyGroupRange } from '../../src/model/partition.js';
import { HeapKeyedStateBackend } from '../../src/state/heap-backend.js';
import type { KeyGroupSection } from '../../src/state/state-backend.js';
import { ROW_KIND_SHORT, rowAt, type ChangeBatch, type RowKind } from '../../src/model/changelog.js';
import { forwardedWatermark, type Operator, type OperatorContext } from '../../src/runtime/operator.js';

/** What a checkpoint keeps of one subtask: its operator state and its keyed state's sections. */
export interface SubtaskSnapshot {
  readonly state?: Uint8Array;
  readonly keyed: readonly KeyGroupSection[];
}

export interface Harness {
  readonly ctx: OperatorContext;
  readonly backend: HeapKeyedStateBackend;
  readonly batches: ChangeBatch[];
  readonly watermarks: number[];
  readonly counters: Map<string, number>;
  /** As the task does: `op.onWatermark(timestamp)`, then records what the task would forward. */
  advanceWatermark(op: Operator, timestamp: number): void;
  /** Every emitted row as `+I[a, 1]`, in order; then forgets them. */
  take(): string[];
  /** As the task does at a barrier: the operator's snapshotState, then its keyed state's. */
  snapshot(op: Operator): Promise<SubtaskSnapshot>;
}

export function harness(
  inputSchemas: readonly Schema[],
  opts: {
    subtaskIndex?: number;
    parallelism?: number;
    restoredState?: readonly Uint8Array[];
    /** Snapshots of the old subtasks: operator state as restoredState, the key groups this subtask owns to its backend. */
    restored?: readonly SubtaskSnapshot[];
    ttlMs?: number;
    /** execution.checkpointing.incremental: the backend records changes for incremental snapshots. */
    incremental?: boolean;
  } = {},
): Harness {
  const batches: ChangeBatch[] = [];
  const watermarks: number[] = [];
  const counters = new Map<string, number>();
  const subtaskIndex = opts.subtaskIndex ?? 0;
  const parallelism = opts.parallelism ?? 1;
  const keyGroups = keyGroupRange(subtaskIndex, parallelism);
  const restored = opts.restored ?? [];
  const backend = new HeapKeyedStateBackend({
    keyGroups,
    ttlMs: opts.ttlMs ?? 0,
    restored: restored.flatMap((s) => s.keyed.filter((k) => k.keyGroup >= keyGroups.start && k.keyGroup <= keyGroups.end).map((k) => k.bytes)),
    onExpired: (n) => void counters.set('state-keys-expired', (counters.get('state-keys-expired') ?? 0) + n),
    label: 'test operator',
    incremental: opts.incremental ?? false,
  });
  const ctx: OperatorContext = {
    jobName: 'test',
    operatorUid: 'op-test',
    subtaskIndex,
    parallelism,
    restoredState: opts.restoredState ?? restored.flatMap((s) => (s.state === undefined ? [] : [s.state])),
    state: backend,
    restoredCommittables: [],
    restoredCheckpointId: 0,
    output: {
      emit: (b) => void batches.push(b),
      emitWatermark: (t) => void watermarks.push(t),
    },
    inputSchemas,
    log: silentLogger,
    metrics: { inc: (name, by = 1) => void counters.set(name, (counters.get(name) ?? 0) + by) },
  };
  return {
    ctx,
    backend,
    batches,
    watermarks,
    counters,
    advanceWatermark(op, timestamp) {
      op.onWatermark(timestamp);
      const forward = forwardedWatermark(op, timestamp);
      if (forward !== undefined) watermarks.push(forward);
    },
    take() {
      const out: string[] = [];
      for (const b of batches) for (let i = 0; i < b.size; i++) out.push(`${ROW_KIND_SHORT[b.kinds[i]]}[${rowAt(b, i).map(show).join(', ')}]`);
      batches.length = 0;
      return out;
    },
    async snapshot(op) {
      const r = await op.snapshotState(1);
      return { ...(r.state === undefined ? {} : { state: r.state }), keyed: backend.snapshot().sections };
    },
  };
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

const KIND: Record<string, RowKind> = { '+I': 0, '-U': 1, '+U': 2, '-D': 3 };

/** A batch from rows written as `['+I', 'a', 1]`. */
export function batch(...rows: unknown[][]): ChangeBatch {
  const arity = rows.length ? rows[0].length - 1 : 0;
  const columns: unknown[][] = Array.from({ length: arity }, () => []);
  const kinds = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    kinds[i] = KIND[r[0] as string];
    for (let c = 0; c < arity; c++) columns[c].push(r[c + 1]);
  });
  return { size: rows.length, kinds, columns };
}

export async function opened<T extends Operator>(op: T, h: Harness): Promise<T> {
  await op.open(h.ctx);
  return op;
}
