import { join } from 'node:path';
import { userError } from '../errors.js';
import { type CheckpointInfo, listJob, newestFirst } from './checkpoint-list.js';
import { isDirectory } from './folder-probes.js';
import { folderOf, jobDir } from './layout.js';
import { readMetadataChecked } from './metadata-files.js';
import type { CheckpointMetadata } from './metadata.js';
import { verifyStateFiles } from './state-files.js';

export interface ResolvedRestore {
  readonly path: string;
  readonly metadata: CheckpointMetadata;
  /** Lines to show the user: checkpoints skipped (and the duplicates that may cause), a metadata copy used. */
  readonly warnings: string[];
}

export interface ResolveOptions {
  /**
   * false: the caller already resolved and reported this restore point (weir run resolves it, then
   * the job resolves the PATH again): skip reading the state files (the restore verifies what it
   * loads) and do not repeat notes about the metadata.
   */
  readonly verify?: boolean;
  /** The job's sinks as the user knows them (`table (connector)`), named when a skip may duplicate rows. */
  readonly sinks?: readonly string[];
}

function describe(info: CheckpointInfo): string {
  return info.kind === 'checkpoint' ? `checkpoint ${info.name}` : `savepoint ${info.name}`;
}

/** Sink tables recorded in checkpoint metadata (operator names 'Sink: <table>'). */
function sinksInMetadata(infos: readonly CheckpointInfo[]): string[] {
  const names = new Set<string>();
  for (const info of infos) {
    for (const op of Object.values(info.metadata?.operators ?? {})) {
      if (op.name.startsWith('Sink: ')) names.add(op.name.slice('Sink: '.length));
    }
  }
  return [...names];
}

/**
 * The warning owed when restoring skips checkpoints that had completed: their sinks may already
 * have committed them, so what they committed after `fallback` (everything, when starting fresh)
 * is written again. Undefined when no skipped checkpoint had completed (a half-written one was
 * never committed by anyone).
 */
export function skippedCommitWarning(
  skipped: readonly CheckpointInfo[],
  fallback: CheckpointInfo | undefined,
  sinks: readonly string[] | undefined,
): string | undefined {
  const completed = skipped.filter((s) => s.metadataWritten).sort((a, b) => (b.id ?? 0) - (a.id ?? 0));
  if (completed.length === 0) return undefined;
  const named = sinks !== undefined && sinks.length > 0 ? sinks : sinksInMetadata(fallback ? [fallback, ...completed] : completed);
  const sinkText = named.length === 0 ? 'the sinks' : `sink${named.length === 1 ? '' : 's'} ${named.join(', ')}`;
  const one = completed.length === 1;
  const what = `${completed.map(describe).join(', ')} ${one ? 'was' : 'were'} skipped but had completed, so ${one ? 'its' : 'their'} sinks may already have committed ${one ? 'it' : 'them'}`;
  const again = fallback ? `rows committed after ${describe(fallback)} are written again` : 'the job starts fresh and writes every row again';
  return `${what}: ${sinkText} may receive duplicate rows (${again})`;
}

/**
 * Finds what to restore. `spec` 'latest' = the newest valid checkpoint or savepoint of the job by
 * completion time (undefined when there is none); newer corrupt ones are skipped with a warning,
 * and a loud one naming the sinks when a skipped checkpoint had completed. Otherwise `spec` is a
 * path to a chk-<n> folder, one of its metadata files, or a savepoint folder (also accepted
 * relative to the job folder, e.g. `chk-7` or `savepoints/before-upgrade`).
 */
export async function resolveRestore(checkpointDir: string, jobName: string, spec: string, options: ResolveOptions = {}): Promise<ResolvedRestore | undefined> {
  const notes = options.verify !== false;
  if (spec === 'latest') {
    const warnings: string[] = [];
    const skipped: CheckpointInfo[] = [];
    for (let info of (await listJob(checkpointDir, jobName, false)).sort(newestFirst)) {
      if (info.corrupt === undefined && info.metadata !== undefined) {
        const problem = await verifyStateFiles(info.path, info.metadata);
        if (problem === undefined) {
          for (const s of skipped) warnings.push(`${describe(s)} is corrupt (${s.corrupt}); falling back to ${describe(info)}`);
          const loud = skippedCommitWarning(skipped, info, options.sinks);
          if (loud !== undefined) warnings.push(loud);
          if (notes && info.note !== undefined) warnings.push(`${describe(info)}: ${info.note}`);
          return { path: info.path, metadata: info.metadata, warnings };
        }
        info = { ...info, corrupt: problem };
      }
      skipped.push(info);
    }
    return undefined;
  }
  let folder = folderOf(spec);
  if (!(await isDirectory(folder))) {
    const inJob = folderOf(join(jobDir(checkpointDir, jobName), spec));
    if (await isDirectory(inJob)) folder = inJob;
  }
  const { metadata, note } = await readMetadataChecked(folder);
  const problem = options.verify === false ? undefined : await verifyStateFiles(folder, metadata);
  if (problem !== undefined) {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: ${problem}`, { details: { path: folder } });
  }
  return { path: folder, metadata, warnings: notes && note !== undefined ? [`checkpoint ${folder}: ${note}`] : [] };
}
