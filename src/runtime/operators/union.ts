/** Union (ALL): every input's batches are forwarded unchanged. Stateless. */
import type { ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, Output, SnapshotResult } from '../operator.js';

export class UnionOperator implements Operator {
  private output: Output | undefined;

  async open(ctx: OperatorContext): Promise<void> {
    this.output = ctx.output;
  }

  process(batch: ChangeBatch, _input = 0): void {
    if (batch.size > 0) this.output!.emit(batch);
  }

  onWatermark(): void {}

  snapshotState(_checkpointId = 0): SnapshotResult {
    return {};
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async close(): Promise<void> {}
}
