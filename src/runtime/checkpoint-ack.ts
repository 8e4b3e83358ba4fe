import type { KeyedStateSnapshot } from '../state/state-backend.js';
import type { SnapshotResult } from './operator.js';
import type { SplitPosition } from './source.js';

/** What a subtask reports for barrier n: operators their snapshot, sources their positions. */
export type CheckpointAck =
  | {
      readonly kind: 'operator';
      readonly result: SnapshotResult;
      /** The subtask's keyed state, by key group (from the state layer). */
      readonly keyed?: KeyedStateSnapshot;
      /** With incremental keyed state: the checkpoint its changes are since. */
      readonly base?: number;
      /** How long the subtask's processing was blocked by its snapshot (ms, fractional). */
      readonly syncMs?: number;
    }
  | { readonly kind: 'source'; readonly positions: readonly SplitPosition[] };
