import type { Expr, Pos } from './ir.js';
import type { Locator } from './locator.js';
import type { NspNode } from './nsp-node.js';
import type { RewriteTables } from './rewrite.js';

/** What the converters of each kind of expression need from the converter that drives them. */
export interface ExprConvertContext {
  readonly loc: Locator;
  readonly tables: RewriteTables;
  /** The position of token `i`, or the last position when it was not found (-1). */
  at(i: number): Pos;
  expr(n: NspNode): Expr;
  /** Runs `fn` within the parentheses after token `nameAt`, if they are there. */
  inParens<T>(nameAt: number, fn: (close: number) => T): T;
}
