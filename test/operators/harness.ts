/** A hand-driven OperatorContext for operator unit tests. */
import type { Schema } from '../../src/model/types.js';
import { silentLogger } from '../../src/log.js';
import { ROW_KIND_SHORT, rowAt, type ChangeBatch, type RowKind } from '../../src/model/changelog.js';
import { forwardedWatermark, type Operator, type OperatorContext } from '../../src/runtime/operator.js';

export interface Harness {
  readonly ctx: OperatorContext;
  readonly batches: ChangeBatch[];
  readonly watermarks: number[];
  readonly counters: Map<string, number>;
  /** As the task does: `op.onWatermark(timestamp)`, then records what the task would forward. */
  advanceWatermark(op: Operator, timestamp: number): void;
  /** Every emitted row as `+I[a, 1]`, in order; then forgets them. */
  take(): string[];
}

export function harness(
  inputSchemas: readonly Schema[],
  opts: { subtaskIndex?: number; parallelism?: number; restoredState?: readonly Uint8Array[] } = {},
): Harness {
  const batches: ChangeBatch[] = [];
  const watermarks: number[] = [];
  const counters = new Map<string, number>();
  const ctx: OperatorContext = {
    jobName: 'test',
    operatorUid: 'op-test',
    subtaskIndex: opts.subtaskIndex ?? 0,
    parallelism: opts.parallelism ?? 1,
    restoredState: opts.restoredState ?? [],
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
