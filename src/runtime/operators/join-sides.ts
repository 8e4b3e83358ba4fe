/**
 * What the regular, interval and window joins share: input 0 is the left side, input 1 the right,
 * and an output row is the left row's columns then the right row's. The residual condition is
 * compiled over that joined row, which a join loads value by value into `scratch` (one
 * single-value column per output column), so testing a pair allocates nothing.
 */
import type { BoundExpr } from '../../expr/bound.js';
import { compilePredicate } from '../../expr/compile.js';
import { internalError } from '../../errors.js';
import { BatchBuilder, type RowKind } from '../../model/changelog.js';
import type { OperatorContext } from '../operator.js';

export interface JoinSides {
  /** Columns of the left and the right input. */
  readonly arity: [number, number];
  /** Builds output rows of left then right columns. */
  readonly builder: BatchBuilder;
  /** The joined row the residual reads. */
  readonly scratch: unknown[][];
  /** The residual condition over `scratch`, or null without one. */
  readonly residual: ((cols: readonly unknown[][], row: number) => boolean) | null;
}

/** The planner pairs the equi-join keys of both sides; an empty or uneven pairing is its bug. */
export function checkJoinKeys(leftKeys: readonly number[], rightKeys: readonly number[], message: string): void {
  if (leftKeys.length === 0 || leftKeys.length !== rightKeys.length) throw internalError(message);
}

/** Sets up the joined row of a join named `name` (for errors) from its two input schemas. */
export function openJoinSides(name: string, ctx: OperatorContext, residual: BoundExpr | undefined): JoinSides {
  const l = ctx.inputSchemas[0]?.fields.length;
  const r = ctx.inputSchemas[1]?.fields.length;
  if (l === undefined || r === undefined) throw internalError(`${name}: needs two input schemas`);
  return {
    arity: [l, r],
    builder: new BatchBuilder(l + r),
    scratch: Array.from({ length: l + r }, () => [null]),
    residual: residual ? compilePredicate(residual) : null,
  };
}

/** Appends `times` copies of (left, right); a null side is padded with NULLs (outer joins). */
export function appendJoined(
  b: BatchBuilder,
  arity: readonly [number, number],
  kind: RowKind,
  left: readonly unknown[] | null,
  right: readonly unknown[] | null,
  times = 1,
): void {
  const [l, r] = arity;
  for (let t = 0; t < times; t++) {
    b.startRow(kind);
    for (let c = 0; c < l; c++) b.set(c, left === null ? null : left[c]);
    for (let c = 0; c < r; c++) b.set(l + c, right === null ? null : right[c]);
  }
}
