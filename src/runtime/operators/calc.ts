/**
 * Calc: projection plus optional filter, compiled once per operator instance into one function
 * that maps a whole batch (row kinds preserved). Stateless.
 */
import { compileCalc } from '../../expr/compile.js';
import type { BoundExpr } from '../../expr/bound.js';
import type { ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, Output, SnapshotResult } from '../operator.js';

export class CalcOperator implements Operator {
  private fn: ((batch: ChangeBatch) => ChangeBatch | null) | undefined;
  private output: Output | undefined;

  constructor(
    private readonly projections: readonly BoundExpr[],
    private readonly filter: BoundExpr | undefined,
  ) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.fn = compileCalc(this.projections, this.filter);
    this.output = ctx.output;
  }

  process(batch: ChangeBatch, _input = 0): void {
    const out = this.fn!(batch);
    if (out !== null) this.output!.emit(out);
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
