/**
 * The keyed-aggregate operator the planner asks for: with the heap backend the slot table
 * (KeyedAggregateOperator, keyed-aggregate.ts), with a backend on disk (`ctx.state.prefetches`)
 * groups in a value state (DiskKeyedAggregateOperator, keyed-aggregate-disk.ts). Which one runs
 * is known only at open(), when the state backend is.
 *
 * Checkpoints restore across the two: the disk operator imports the slot table's structure
 * `groups`, and here the slot table takes what a checkpoint of the disk operator holds in value
 * state `group` (and empties it, so the next snapshot holds each group once).
 */
import type { ChangeBatch } from '../../model/changelog.js';
import type { Operator, OperatorContext, SnapshotResult } from '../operator.js';
import { COUNT, DiskKeyedAggregateOperator, GROUP_STATE, HASH, KEYS, VARIANT } from './keyed-aggregate-disk.js';
import { type KeyedAggregateConfig, KeyedAggregateOperator } from './keyed-aggregate.js';

export class KeyedAggregate implements Operator {
  private impl: KeyedAggregateOperator | DiskKeyedAggregateOperator | null = null;
  private disk: DiskKeyedAggregateOperator | null = null;

  constructor(readonly config: KeyedAggregateConfig) {}

  async open(ctx: OperatorContext): Promise<void> {
    if (ctx.state.prefetches) {
      this.impl = this.disk = new DiskKeyedAggregateOperator(this.config);
      await this.disk.open(ctx);
      return;
    }
    const table = new KeyedAggregateOperator(this.config);
    this.impl = table;
    await table.open(ctx);
    await importValueState(table, ctx, this.config);
  }

  private get op(): KeyedAggregateOperator | DiskKeyedAggregateOperator {
    return this.impl!;
  }

  prefetch(batch: ChangeBatch): void {
    this.disk?.prefetch(batch);
  }

  process(batch: ChangeBatch, input: number): void {
    this.op.process(batch, input);
  }

  onWatermark(): void {}

  snapshotState(checkpointId: number): SnapshotResult {
    return this.op.snapshotState(checkpointId);
  }

  notifyCheckpointComplete(): Promise<void> {
    return this.op.notifyCheckpointComplete();
  }

  close(): Promise<void> {
    return this.impl?.close() ?? Promise.resolve();
  }

  /** Number of live groups (for tests and metrics). */
  get groupCount(): number {
    return this.op.groupCount;
  }
}

/** Moves the groups a checkpoint of the disk operator restored (value state `group`) into the slot table. */
async function importValueState(table: KeyedAggregateOperator, ctx: OperatorContext, config: KeyedAggregateConfig): Promise<void> {
  const state = ctx.state.valueState<unknown, unknown[]>(GROUP_STATE);
  if (state.size === 0) return;
  const g = config.groupKeys.length;
  const m = config.aggs.length;
  // Groups by VARIANT (what their accumulators are): nearly always one.
  const byVariant = new Map<string, { hashes: number[]; counts: number[]; keys: unknown[][]; accs: unknown[][] }>();
  const taken: [unknown, number][] = [];
  await state.forEach((value, key) => {
    const variant = value[VARIANT] as string;
    let v = byVariant.get(variant);
    if (v === undefined) {
      v = { hashes: [], counts: [], keys: Array.from({ length: g }, () => []), accs: Array.from({ length: m }, () => []) };
      byVariant.set(variant, v);
    }
    v.hashes.push(value[HASH] as number);
    v.counts.push(value[COUNT] as number);
    for (let k = 0; k < g; k++) v.keys[k].push(value[KEYS + k]);
    for (let j = 0; j < m; j++) v.accs[j].push(value[KEYS + g + j]);
    taken.push([key, value[HASH] as number]);
  });
  for (const [key, hash] of taken) state.delete(key, hash);
  for (const [variant, v] of byVariant) {
    const retractable = Array.from(variant, (c) => c === '1');
    table.restoreGroups({ n: v.hashes.length, ...v, retractable }, null);
  }
}
