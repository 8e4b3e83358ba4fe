import type { AggregateFunction } from './aggregates.js';
import type { BoundExpr, RowFn } from './bound.js';
import { compilePredicate, compileRowFn } from './compile.js';

/** An aggregate call's input as operators read it per row: a column, or a compiled function. */
export interface AggregateInputs {
  /** Per call: the input column of its argument, or -1 (a function, or COUNT(*)). */
  readonly argCol: number[];
  /** Per call: the compiled argument when it is not a plain column. */
  readonly argFn: (RowFn | null)[];
  /** Per call: its FILTER (WHERE ...), compiled. */
  readonly filterFn: (((cols: readonly unknown[][], row: number) => boolean) | null)[];
  /** Per call: the input column of its FILTER when that is a plain column (read without a call), or -1. */
  readonly filterCol: number[];
}

/** Compiles the first argument and the FILTER of each aggregate call, once per operator. */
export function compileAggregateInputs(aggs: readonly { readonly args: readonly BoundExpr[]; readonly filter?: BoundExpr }[]): AggregateInputs {
  const out: AggregateInputs = { argCol: [], argFn: [], filterFn: [], filterCol: [] };
  for (const a of aggs) {
    const arg: BoundExpr | undefined = a.args[0];
    out.argCol.push(arg?.kind === 'input' ? arg.index : -1);
    out.argFn.push(arg && arg.kind !== 'input' ? compileRowFn(arg) : null);
    out.filterFn.push(a.filter ? compilePredicate(a.filter) : null);
    out.filterCol.push(a.filter?.kind === 'input' ? a.filter.index : -1);
  }
  return out;
}

/** What COUNT(*) accumulates per row. */
export const STAR_VALUE = 1;

/** AggregateInputs resolved against one batch's columns (a column array where the input is one). */
export interface BatchInputs {
  readonly argCols: (unknown[] | null)[];
  readonly argFn: AggregateInputs['argFn'];
  readonly filterCols: (unknown[] | null)[];
  readonly filterFn: AggregateInputs['filterFn'];
}

export function batchInputs(inputs: AggregateInputs, cols: readonly unknown[][]): BatchInputs {
  return {
    argCols: inputs.argCol.map((c) => (c >= 0 ? (cols[c] as unknown[]) : null)),
    argFn: inputs.argFn,
    filterCols: inputs.filterCol.map((c) => (c >= 0 ? (cols[c] as unknown[]) : null)),
    filterFn: inputs.filterFn,
  };
}

/**
 * Accumulates (or retracts) row `row` into the accumulators `acc[base ...]`, one per aggregate
 * call of `fns`, each call only when its FILTER holds: the per-row step every group aggregate
 * (slot table or value on disk) shares.
 */
export function applyRow(
  fns: readonly AggregateFunction<unknown>[],
  b: BatchInputs,
  cols: readonly unknown[][],
  row: number,
  acc: unknown[],
  base: number,
  accumulate: boolean,
): void {
  for (let j = 0; j < fns.length; j++) {
    const fc = b.filterCols[j];
    if (fc !== null) {
      if (fc[row] !== true) continue;
    } else {
      const ff = b.filterFn[j];
      if (ff !== null && !ff(cols, row)) continue;
    }
    const ac = b.argCols[j];
    const af = b.argFn[j];
    const v = ac !== null ? ac[row] : af !== null ? af(cols, row) : STAR_VALUE;
    acc[base + j] = accumulate ? fns[j].accumulate(acc[base + j], v) : fns[j].retract(acc[base + j], v);
  }
}
