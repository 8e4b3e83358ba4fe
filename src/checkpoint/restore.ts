import { userError } from '../errors.js';
import type { Logger } from '../log.js';
import type { JobGraph } from '../runtime/job-graph.js';
import type { JsonValue } from '../runtime/operator.js';
import type { SplitPosition } from '../runtime/source.js';
import { type CheckpointMetadata, sourcePositionsOf } from './metadata.js';
import { loadStateFile } from './state-files.js';

/** What one subtask gets back from the restored checkpoint. */
export interface SubtaskRestore {
  readonly state: readonly Uint8Array[];
  readonly committables: readonly JsonValue[];
}

/**
 * A checkpoint mapped onto a job graph: state bytes loaded and verified, ready to hand to
 * operators and sources of any parallelism.
 */
export interface RestorePlan {
  readonly path: string;
  readonly checkpointId: number;
  readonly metadata: CheckpointMetadata;
  /**
   * Same parallelism as in the checkpoint: the subtask's own state and committables. Different
   * parallelism: every old subtask's state (keyed operators keep their own key groups) and the
   * committables of old subtasks j with j % parallelism === subtask.
   */
  forOperator(uid: string, subtask: number, parallelism: number): SubtaskRestore;
  /** Every split position recorded for a source uid (empty for an unknown uid). */
  sourcePositions(uid: string): readonly SplitPosition[];
}

const EMPTY: SubtaskRestore = { state: [], committables: [] };

interface LoadedOperator {
  readonly parallelism: number;
  /** By old subtask index. */
  readonly state: (Uint8Array | undefined)[];
  readonly committables: JsonValue[][];
}

/**
 * Checks that every piece of state in the checkpoint belongs to an operator of `graph` (same uid
 * and kind), then loads the state files. Unmapped state is a STATE_NOT_MAPPED user error unless
 * `allowNonRestoredState`, which drops it with a log line.
 */
export async function loadRestorePlan(
  path: string,
  metadata: CheckpointMetadata,
  graph: JobGraph,
  allowNonRestoredState: boolean,
  log: Logger,
): Promise<RestorePlan> {
  const operatorUids = new Set(graph.vertices.filter((v) => v.kind === 'operator').map((v) => v.uid));
  const sourceUids = new Set(graph.vertices.filter((v) => v.kind === 'source').map((v) => v.uid));
  const known = graph.vertices.map((v) => `${v.uid} (${v.name})`).join(', ');
  const unmapped = (uid: string, name: string): void => {
    if (allowNonRestoredState) {
      // info: the CLI prints this as a plain warning line
      log.info({ uid, name, checkpoint: path }, 'skipping checkpoint state that maps to no operator (allowNonRestoredState)');
      return;
    }
    throw userError(
      'STATE_NOT_MAPPED',
      `checkpoint state of operator ${uid} (${name}) cannot be mapped to the new job (operators: ${known}); use --allow-non-restored-state to skip it`,
      { details: { uid, checkpoint: path } },
    );
  };

  const loaded = new Map<string, LoadedOperator>();
  for (const [uid, op] of Object.entries(metadata.operators)) {
    const hasState = op.subtasks.some((s) => s.stateFile !== null || s.committables.length > 0);
    if (!hasState) continue;
    if (!operatorUids.has(uid)) {
      unmapped(uid, op.name);
      continue;
    }
    const state: (Uint8Array | undefined)[] = new Array(op.parallelism).fill(undefined);
    const committables: JsonValue[][] = Array.from({ length: op.parallelism }, () => []);
    for (const st of op.subtasks) {
      if (st.subtask >= op.parallelism) continue;
      if (st.stateFile !== null) state[st.subtask] = await loadStateFile(path, st);
      committables[st.subtask] = st.committables as JsonValue[];
    }
    loaded.set(uid, { parallelism: op.parallelism, state, committables });
  }
  const positions = new Map<string, SplitPosition[]>();
  for (const [uid, src] of Object.entries(metadata.sources)) {
    if (src.positions.length === 0) continue;
    if (!sourceUids.has(uid)) {
      unmapped(uid, src.name);
      continue;
    }
    positions.set(uid, sourcePositionsOf(metadata, uid));
  }
  if (metadata.fingerprint !== graph.fingerprint) {
    log.info({ checkpoint: path }, 'restoring a checkpoint of a different plan; state is mapped by operator uid');
  }

  return {
    path,
    checkpointId: metadata.checkpointId,
    metadata,
    forOperator(uid, subtask, parallelism) {
      const op = loaded.get(uid);
      if (op === undefined) return EMPTY;
      if (op.parallelism === parallelism) {
        const own = op.state[subtask];
        return { state: own === undefined ? [] : [own], committables: op.committables[subtask] ?? [] };
      }
      const state = op.state.filter((s): s is Uint8Array => s !== undefined);
      const committables: JsonValue[] = [];
      for (let j = 0; j < op.parallelism; j++) if (j % parallelism === subtask) committables.push(...op.committables[j]);
      return { state, committables };
    },
    sourcePositions(uid) {
      return positions.get(uid) ?? [];
    },
  };
}
