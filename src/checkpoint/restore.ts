import { userError } from '../errors.js';
import type { Logger } from '../log.js';
import type { JobGraph } from '../runtime/job-graph.js';
import type { JsonValue } from '../runtime/operator.js';
import type { SplitPosition } from '../runtime/source.js';
import { keyGroupRange } from '../model/partition.js';
import { type CheckpointMetadata, type SubtaskStateEntry, sourcePositionsOf } from './metadata.js';
import { loadStateFile } from './state-files.js';
import { readSections } from './state-sections.js';

/** What one subtask gets back from the restored checkpoint. */
export interface SubtaskRestore {
  /** Operator (non-keyed) state: see OperatorContext.restoredState. */
  readonly state: readonly Uint8Array[];
  /** The keyed state's sections of the key groups the subtask owns (for its state backend). */
  readonly keyed: readonly Uint8Array[];
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
   * parallelism: every old subtask's operator state, the sections of the key groups the subtask
   * now owns out of every old subtask's file (only those are read), and the committables of old
   * subtasks j with j % parallelism === subtask. Reads and verifies the state files.
   */
  forOperator(uid: string, subtask: number, parallelism: number): Promise<SubtaskRestore>;
  /** Every split position recorded for a source uid (empty for an unknown uid). */
  sourcePositions(uid: string): readonly SplitPosition[];
}

const EMPTY: SubtaskRestore = { state: [], keyed: [], committables: [] };

interface LoadedOperator {
  readonly parallelism: number;
  /** By old subtask index. */
  readonly files: (SubtaskStateEntry | undefined)[];
  readonly committables: JsonValue[][];
}

/**
 * Checks that every piece of state in the checkpoint belongs to an operator of `graph` (same uid
 * and kind); the state files are read when a subtask asks for its part. Unmapped state is a STATE_NOT_MAPPED user error unless
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
    const files: (SubtaskStateEntry | undefined)[] = new Array(op.parallelism).fill(undefined);
    const committables: JsonValue[][] = Array.from({ length: op.parallelism }, () => []);
    for (const st of op.subtasks) {
      if (st.subtask >= op.parallelism) continue;
      if (st.stateFile !== null) files[st.subtask] = st;
      committables[st.subtask] = st.committables as JsonValue[];
    }
    loaded.set(uid, { parallelism: op.parallelism, files, committables });
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
    async forOperator(uid, subtask, parallelism) {
      const op = loaded.get(uid);
      if (op === undefined) return EMPTY;
      const same = op.parallelism === parallelism;
      const { start, end } = keyGroupRange(subtask, parallelism);
      const owned = (kg: number): boolean => kg >= start && kg <= end;
      const state: Uint8Array[] = [];
      const keyed: Uint8Array[] = [];
      for (const st of same ? [op.files[subtask]] : op.files) {
        if (st === undefined) continue;
        if (st.sections === undefined) {
          state.push(await loadStateFile(path, st));
          continue;
        }
        const part = await readSections(path, st, true, owned);
        if (part.operator !== undefined) state.push(part.operator);
        keyed.push(...part.keyed);
      }
      if (same) return { state, keyed, committables: op.committables[subtask] ?? [] };
      const committables: JsonValue[] = [];
      for (let j = 0; j < op.parallelism; j++) if (j % parallelism === subtask) committables.push(...op.committables[j]);
      return { state, keyed, committables };
    },
    sourcePositions(uid) {
      return positions.get(uid) ?? [];
    },
  };
}
