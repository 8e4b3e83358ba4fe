import { join } from 'node:path';
import { removeFolder } from './durable-files.js';
import { listDirs } from './folder-probes.js';
import { CHK_RE, jobDir } from './layout.js';
import { hasMetadataFile } from './metadata-files.js';

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
