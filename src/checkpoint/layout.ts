import { basename, dirname, join, resolve } from 'node:path';
import { userError } from '../errors.js';
import { hashString } from '../model/partition.js';

/**
 * Checkpoint storage on a local directory. Layout (easy to move to object storage: files are
 * written once and never modified; the metadata is the commit point):
 *   <checkpointDir>/<jobName>/chk-<n>/_metadata        (with its own checksum)
 *   <checkpointDir>/<jobName>/chk-<n>/_metadata.copy   (the same bytes, read when _metadata fails)
 *   <checkpointDir>/<jobName>/chk-<n>/<uid>-<subtask>.state
 *   <checkpointDir>/<jobName>/savepoints/<name>/(same files)
 * With incremental checkpoints a checkpoint's state files go to the job's shared folder instead,
 * named for the checkpoint that wrote them, so later checkpoints can name their sections too:
 *   <checkpointDir>/<jobName>/shared/chk-<n>-<uid>-<subtask>.state
 * (a savepoint is always whole and keeps its files in its own folder).
 */
export const METADATA_FILE = '_metadata';
/**
 * A second copy of `_metadata`. Sinks commit a checkpoint once its metadata is durable, so a
 * checkpoint whose only metadata file is damaged could not be restored without replaying what
 * those sinks already committed (duplicates in append sinks); with two copies one damaged file
 * costs nothing.
 */
export const METADATA_COPY = '_metadata.copy';
export const METADATA_NAMES = [METADATA_FILE, METADATA_COPY] as const;
export const SAVEPOINTS = 'savepoints';
export const SHARED = 'shared';
/** A shared state file's name: the id of the checkpoint that wrote it. */
export const SHARED_FILE_RE = /^chk-(\d+)-.+\.state$/;
/** How a checkpoint's metadata names a shared state file (relative to the checkpoint folder). */
export const SHARED_PREFIX = `../${SHARED}/`;
export const CHK_RE = /^chk-(\d+)$/;
export const SAVEPOINT_DEFAULT_RE = /^savepoint-(\d+)-/;

export function jobDir(checkpointDir: string, jobName: string): string {
  return join(checkpointDir, jobName);
}

export function checkpointFolder(checkpointDir: string, jobName: string, id: number): string {
  return join(checkpointDir, jobName, `chk-${id}`);
}

export function savepointFolder(checkpointDir: string, jobName: string, name: string): string {
  return join(checkpointDir, jobName, SAVEPOINTS, name);
}

export function defaultSavepointName(id: number, now: number = Date.now()): string {
  return `savepoint-${id}-${now}`;
}

/** Savepoint names become folder names: keep them to a safe character set. */
export function validateSavepointName(name: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === '.' || name === '..') {
    throw userError('INVALID_SAVEPOINT_NAME', `invalid savepoint name '${name}': use letters, digits, '.', '_' and '-' (at most 200 characters)`);
  }
}

/** `<uid>-<subtask>.state`, with the uid made file-name safe (and a hash suffix when it had to be changed). */
export function stateFileName(uid: string, subtask: number): string {
  let safe = uid;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(uid)) {
    safe = `${uid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)}_${hashString(uid).toString(16)}`;
  }
  return `${safe}-${subtask}.state`;
}

export function sharedFolder(checkpointDir: string, jobName: string): string {
  return join(checkpointDir, jobName, SHARED);
}

/** The metadata's name for the shared state file checkpoint `id` writes for a subtask. */
export function sharedStateFileName(id: number, uid: string, subtask: number): string {
  return `${SHARED_PREFIX}chk-${id}-${stateFileName(uid, subtask)}`;
}

export function folderOf(path: string): string {
  const abs = resolve(path);
  return (METADATA_NAMES as readonly string[]).includes(basename(abs)) ? dirname(abs) : abs;
}

/**
 * The folder under the checkpoint dir where the rocksdb state backend keeps its working stores by
 * default (state.backend.local-dir overrides it): <checkpointDir>/.local-state/<job>/. Working
 * files, never part of a checkpoint; a subtask deletes its own when it ends, and the next run
 * deletes those a killed process left.
 */
export const LOCAL_STATE_DIR = '.local-state';
