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
