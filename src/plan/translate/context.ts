/** What a translator of one logical node kind gets: the planning config and the graph it adds vertices to. */
import type { Planned, VertexSpec } from '../graph-builder.js';
import type { LogicalNode } from '../logical.js';
import type { PlanConfig } from '../physical-config.js';

export interface TranslateContext {
  readonly config: PlanConfig;
  /** The vertex producing `node`; a node shared by several parents (a reused scan) is planned once. */
  plan(node: LogicalNode): Planned;
  add(spec: VertexSpec): Planned;
}

/** Turns one logical node (its inputs through ctx.plan) into vertices; returns the one producing its rows. */
export type Translator<N extends LogicalNode> = (node: N, ctx: TranslateContext) => Planned;
