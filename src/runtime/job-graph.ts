import type { Schema } from '../model/types.js';
import type { Operator } from './operator.js';
import type { Source } from './source.js';
import type { SourceWatermarkSpec } from './watermark.js';

/**
 * The physical operator DAG the planner produces and the runtime executes. Vertex ids are
 * topologically ordered (every edge goes from a lower id to a higher one).
 */
export interface JobGraph {
  readonly jobName: string;
  /** Hash of the normalized plan (operator uids and schemas), recorded in checkpoints. */
  readonly fingerprint: string;
  readonly vertices: readonly JobVertex[];
  readonly edges: readonly JobEdge[];
}

interface VertexBase {
  readonly id: number;
  /**
   * Stable id derived from the plan (operator kind + its definition + its inputs' uids), so the
   * same SQL restores onto the same operators. Keys state in checkpoints.
   */
  readonly uid: string;
  /** Short name for EXPLAIN and the status line: 'Source: orders', 'KeyedAggregate', 'Sink: out'. */
  readonly name: string;
  /** One-line detail for EXPLAIN (keys, expressions, options without secrets). */
  readonly description: string;
  readonly parallelism: number;
  readonly outputSchema: Schema;
  /** 'insert-only' when the vertex only emits +I; 'updating' when it may emit -U/+U/-D. */
  readonly changelogMode: 'insert-only' | 'updating';
}

export interface SourceVertex extends VertexBase {
  readonly kind: 'source';
  readonly source: Source;
  /** The table declares a WATERMARK: the source task generates watermarks per split. */
  readonly watermarks?: SourceWatermarkSpec;
}

export interface OperatorVertex extends VertexBase {
  readonly kind: 'operator';
  /** A new instance per subtask (and per restart). */
  createOperator(): Operator;
  /** Sinks take part in two-phase commit; the job is done when all sinks have closed. */
  readonly isSink: boolean;
  /** table.exec.state.ttl in ms for the keyed states that declare a TTL (0 or absent: none). */
  readonly stateTtlMs?: number;
}

export type JobVertex = SourceVertex | OperatorVertex;

export type Partitioning =
  /** Subtask i to subtask i (same parallelism on both ends). */
  | { readonly kind: 'forward' }
  /** By hash of the key columns: `subtaskOfHash(hashRow(cols, row, keys), parallelism)`. */
  | { readonly kind: 'hash'; readonly keys: readonly number[] }
  /** Round-robin by batch (different parallelism, no key). */
  | { readonly kind: 'rebalance' }
  | { readonly kind: 'broadcast' };

export interface JobEdge {
  readonly source: number;
  readonly target: number;
  /** Input index at the target (0 for single-input operators; 0/1 for joins; 0..n-1 for union). */
  readonly targetInput: number;
  readonly partitioning: Partitioning;
}
