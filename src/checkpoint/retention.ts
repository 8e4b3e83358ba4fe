import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { removeFolder } from './durable-files.js';
import { listDirs } from './folder-probes.js';
import { CHK_RE, jobDir, SHARED_FILE_RE, SHARED_PREFIX, sharedFolder } from './layout.js';
import { hasMetadataFile, readMetadata } from './metadata-files.js';
import type { CheckpointMetadata } from './metadata.js';

/**
 * Keeps the `numRetained` newest complete checkpoints (folders with a metadata file) and deletes every
 * chk folder with a smaller id, complete or not. Savepoints are never touched. Returns the deleted
 * folder names.
 */
export async function applyRetention(checkpointDir: string, jobName: string, numRetained: number): Promise<string[]> {
  const dir = jobDir(checkpointDir, jobName);
  const ids: { id: number; complete: boolean }[] = [];
  for (const name of await listDirs(dir)) {
    const m = CHK_RE.exec(name);
    if (m) ids.push({ id: Number(m[1]), complete: await hasMetadataFile(join(dir, name)) });
  }
  const complete = ids
    .filter((x) => x.complete)
    .map((x) => x.id)
    .sort((a, b) => b - a);
  if (complete.length <= numRetained) return [];
  const keepFrom = complete[numRetained - 1];
  const deleted: string[] = [];
  for (const { id } of ids) {
    if (id < keepFrom) {
      await removeFolder(join(dir, `chk-${id}`));
      deleted.push(`chk-${id}`);
    }
  }
  return deleted;
}

/** The shared state files (names inside the shared folder) a checkpoint's metadata names. */
export function sharedFilesOf(metadata: CheckpointMetadata): Set<string> {
  const out = new Set<string>();
  const add = (file: string | null | undefined): void => {
    if (file?.startsWith(SHARED_PREFIX)) out.add(file.slice(SHARED_PREFIX.length));
  };
  for (const op of Object.values(metadata.operators)) {
    for (const st of op.subtasks) {
      add(st.stateFile);
      for (const s of st.sections ?? []) add(s[4]);
    }
  }
  return out;
}

/**
 * Deletes the shared state files (incremental checkpoints) that no complete checkpoint left in the
 * job folder names, among those written by checkpoints up to `upToId` (a newer checkpoint may be
 * writing its files right now). A file is therefore kept exactly as long as some retained
 * checkpoint needs it: the reference count is recomputed from the metadata that is there, which
 * also holds after a crash. Savepoints never name shared files. Returns the deleted names.
 */
export async function sweepSharedFiles(checkpointDir: string, jobName: string, upToId: number): Promise<string[]> {
  const shared = sharedFolder(checkpointDir, jobName);
  const names = await readdir(shared).catch(() => null);
  if (names === null || names.length === 0) return [];
  const dir = jobDir(checkpointDir, jobName);
  const referenced = new Set<string>();
  for (const name of await listDirs(dir)) {
    if (!CHK_RE.test(name) || !(await hasMetadataFile(join(dir, name)))) continue;
    // A complete checkpoint whose metadata cannot be read stops the sweep (it throws): deleting
    // files it may need is worse than keeping unneeded ones until retention removes it.
    for (const f of sharedFilesOf(await readMetadata(join(dir, name)))) referenced.add(f);
  }
  const deleted: string[] = [];
  for (const name of names) {
    const m = SHARED_FILE_RE.exec(name);
    if (m === null || Number(m[1]) > upToId || referenced.has(name)) continue;
    await rm(join(shared, name), { force: true });
    deleted.push(name);
  }
  return deleted;
}
