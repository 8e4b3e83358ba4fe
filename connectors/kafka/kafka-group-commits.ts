/**
 * Mirrors checkpointed positions into the consumer group ('properties.group.id'), for monitoring
 * only: a restore uses the checkpoint. Positions are captured with each barrier and committed
 * when a checkpoint completes, never before (nothing is acknowledged before its checkpoint).
 */
import type { Logger } from '../../src/log.js';
import type { Cluster } from './kafka-internals.js';
import { commitGroupOffsets } from './kafka-offsets.js';
import type { SplitState } from './kafka-split-state.js';

/** Captures kept for commits (one per captured barrier). */
const MAX_SNAPSHOTS = 16;

type Snapshot = Map<string, { topic: string; partition: number; offset: number }>;

export class GroupOffsetCommits {
  private readonly snapshots: Snapshot[] = [];

  constructor(
    private readonly groupId: string | undefined,
    private readonly log: Logger,
  ) {}

  /** Called with the positions handed to a barrier. */
  capture(splits: readonly SplitState[]): void {
    if (this.groupId === undefined) return;
    const snapshot: Snapshot = new Map();
    for (const s of splits) snapshot.set(s.split.id, { topic: s.topic, partition: s.partition, offset: s.emitted });
    this.snapshots.push(snapshot);
    if (this.snapshots.length > MAX_SNAPSHOTS) this.snapshots.shift();
  }

  /**
   * The reader cannot tell which captured positions belong to which checkpoint id, so it commits
   * the oldest uncommitted capture: never ahead of a completed checkpoint, at most one behind
   * after an aborted one. A failed commit is only logged: the checkpoint has the positions.
   */
  async commitOldest(cluster: Cluster | undefined): Promise<void> {
    const groupId = this.groupId;
    const snap = this.snapshots.shift();
    if (groupId === undefined || snap === undefined || !cluster) return;
    try {
      await commitGroupOffsets(cluster, groupId, snap);
    } catch (e) {
      this.log.warn({ err: e, groupId }, 'committing offsets to the Kafka consumer group failed (they are only for monitoring; the checkpoint has them)');
    }
  }
}
