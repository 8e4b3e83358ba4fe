/**
 * What an operator subtask's ack becomes in a checkpoint: its metadata entry and the state file
 * to write. With incremental keyed state the file holds only the subtask's new sections, and the
 * entry chains them after the sections of the last completed checkpoint (named in their files).
 */
import type { SnapshotResult } from '../runtime/operator.js';
import type { KeyedStateSnapshot } from '../state/state-backend.js';
import { sharedStateFileName, stateFileName } from './layout.js';
import type { StateSection, SubtaskStateEntry } from './metadata.js';
import { sha256Hex } from './state-files.js';
import { layoutSections, withChain } from './state-sections.js';

export interface SubtaskState {
  readonly entry: SubtaskStateEntry;
  /** The state file's content (undefined: the subtask writes no file), after the spool file's. */
  readonly content: Uint8Array | readonly Uint8Array[] | undefined;
  /** A local file the state file starts with: moved into the checkpoint, not copied (KeyedStateSnapshot.spooled). */
  readonly spool?: string;
  /** Bytes a restore reads for the subtask (its chain included). */
  readonly fullBytes: number;
}

export function subtaskState(
  checkpointId: number,
  uid: string,
  subtask: number,
  result: SnapshotResult,
  keyed: KeyedStateSnapshot | undefined,
  /** The file goes to the job's shared folder (incremental checkpoints). */
  shared: boolean,
  /** Earlier sections this subtask's new ones follow (incremental keyed state). */
  chain: readonly StateSection[],
): SubtaskState {
  const entry: SubtaskStateEntry = { subtask, stateFile: null, bytes: 0, sha256: null, committables: result.committables ?? [] };
  const state = result.state;
  const file = keyed === undefined ? undefined : layoutSections(state, keyed.sections, keyed.spooled);
  const hasFile = file !== undefined ? file.bytes > 0 || chain.length > 0 : state !== undefined && state.length > 0;
  if (!hasFile) return { entry, content: undefined, fullBytes: 0 };
  entry.stateFile = shared ? sharedStateFileName(checkpointId, uid, subtask) : stateFileName(uid, subtask);
  if (file !== undefined) {
    entry.bytes = file.bytes;
    entry.sections = withChain(chain, file.sections);
  } else {
    entry.bytes = state!.length;
    entry.sha256 = sha256Hex(state!);
  }
  const spool = keyed?.spooled?.path;
  return { entry, content: file?.chunks ?? state!, ...(spool !== undefined ? { spool } : {}), fullBytes: entry.bytes + chain.reduce((n, s) => n + s[2], 0) };
}
