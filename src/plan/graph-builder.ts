/**
 * Collects a job's vertices and edges as the translators plan them: every vertex gets its id (in
 * topological order, as inputs are planned first) and a uid derived from its kind, its canonical
 * text and its inputs' uids; an operator vertex instantiates its operator through the registry.
 */
import type { JobEdge, JobGraph, JobVertex, Partitioning } from '../runtime/job-graph.js';
import { instantiateOperator, type OperatorSpec } from '../runtime/operators/registry.js';
import type { Source } from '../runtime/source.js';
import type { SourceWatermarkSpec } from '../runtime/watermark.js';
import type { Schema } from '../model/types.js';
import type { ChangelogMode } from './logical.js';
import { schemaText, sha256Hex, UidAllocator } from './uid.js';

/** A vertex as its consumers see it. */
export interface Planned {
  readonly id: number;
  readonly uid: string;
  readonly parallelism: number;
  readonly mode: ChangelogMode;
  readonly schema: Schema;
}

interface VertexCommon {
  readonly uidKind: string;
  readonly canonical: string;
  readonly name: string;
  readonly description: string;
  readonly parallelism: number;
  readonly schema: Schema;
  readonly mode: ChangelogMode;
  readonly inputs: readonly { readonly from: Planned; readonly partitioning: Partitioning }[];
}

export type VertexSpec = VertexCommon & ({ readonly source: Source; readonly watermarks?: SourceWatermarkSpec } | { readonly operator: OperatorSpec });

/** Forward when the parallelism stays, else round-robin: for inputs that need no key. */
export function exchange(from: Planned, parallelism: number): Partitioning {
  return from.parallelism === parallelism ? { kind: 'forward' } : { kind: 'rebalance' };
}

export class GraphBuilder {
  private readonly vertices: JobVertex[] = [];
  private readonly edges: JobEdge[] = [];
  private readonly uids = new UidAllocator();

  /** `stateTtlMs`: table.exec.state.ttl, handed to every operator's state backend. */
  constructor(private readonly stateTtlMs = 0) {}

  graph(jobName: string): JobGraph {
    const fingerprint = sha256Hex(this.vertices.map((v) => `${v.uid}(${schemaText(v.outputSchema)})`).join('\n'));
    return Object.freeze({ jobName, fingerprint, vertices: Object.freeze([...this.vertices]), edges: Object.freeze([...this.edges]) });
  }

  add(spec: VertexSpec): Planned {
    const id = this.vertices.length;
    const uid = this.uids.allocate(
      spec.uidKind,
      spec.canonical,
      spec.inputs.map((i) => i.from.uid),
    );
    const base = {
      id,
      uid,
      name: spec.name,
      description: spec.description,
      parallelism: spec.parallelism,
      outputSchema: spec.schema,
      changelogMode: spec.mode,
    };
    if ('source' in spec) {
      const wm = spec.watermarks ? { watermarks: spec.watermarks } : {};
      this.vertices.push(Object.freeze({ ...base, kind: 'source' as const, source: spec.source, ...wm }));
    } else {
      const { operator } = spec;
      this.vertices.push(
        Object.freeze({
          ...base,
          kind: 'operator' as const,
          createOperator: () => instantiateOperator(operator),
          isSink: operator.kind === 'sink',
          stateTtlMs: this.stateTtlMs,
        }),
      );
    }
    spec.inputs.forEach((inp, targetInput) => {
      this.edges.push(Object.freeze({ source: inp.from.id, target: id, targetInput, partitioning: inp.partitioning }));
    });
    return { id, uid, parallelism: spec.parallelism, mode: spec.mode, schema: spec.schema };
  }
}
