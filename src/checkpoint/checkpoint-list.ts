import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SplitPosition } from '../runtime/source.js';
import { listDirs } from './folder-probes.js';
import { CHK_RE, SAVEPOINT_DEFAULT_RE, SAVEPOINTS, jobDir } from './layout.js';
import { hasMetadataFile, readMetadataRaw } from './metadata-files.js';
import type { CheckpointMetadata } from './metadata.js';
import { verifyStateFiles } from './state-files.js';

/** One completed (or corrupt) checkpoint or savepoint as `weir checkpoints list` shows it. */
export interface CheckpointInfo {
  readonly jobName: string;
  /** Folder name: `chk-7` or the savepoint's name. */
  readonly name: string;
  /** Undefined when the metadata is unreadable and the folder name has no id. */
  readonly id: number | undefined;
  readonly kind: 'checkpoint' | 'savepoint';
  readonly path: string;
  /** Completion time (epoch ms); the folder's modification time when the metadata is unreadable. */
  readonly completedAt: number;
  readonly durationMs?: number;
  /** The state's full size: every byte a restore reads, sections in earlier checkpoints' shared files included. */
  readonly sizeBytes?: number;
  /**
   * Bytes this checkpoint wrote: less than `sizeBytes` for an incremental checkpoint (the rest
   * are sections it shares with earlier ones), equal to it otherwise.
   */
  readonly addedBytes?: number;
  readonly final?: boolean;
  /** One line per source: `uid: split@position, ...`. */
  readonly sourcesSummary: string;
  readonly sourcePositions: Readonly<Record<string, readonly SplitPosition[]>>;
  /** Why the checkpoint cannot be restored; undefined when it is valid. */
  readonly corrupt?: string;
  /** A valid checkpoint read from `_metadata.copy`, or one without checksum: why. */
  readonly note?: string;
  /**
   * A metadata file exists (however damaged): the checkpoint reached its commit point, so sinks
   * may have committed it. False for a checkpoint that never completed.
   */
  readonly metadataWritten: boolean;
  readonly metadata?: CheckpointMetadata;
}

function summarizeSources(metadata: CheckpointMetadata): string {
  const parts: string[] = [];
  for (const [uid, src] of Object.entries(metadata.sources)) {
    const splits = src.positions.map((p) => `${p.split.id}@${JSON.stringify(p.position)}${p.finished ? '(done)' : ''}`).join(', ');
    const line = `${src.name || uid}: ${splits || 'no splits'}`;
    parts.push(line.length > 160 ? `${line.slice(0, 157)}...` : line);
  }
  return parts.join('; ');
}

async function inspect(jobName: string, folder: string, name: string, kind: 'checkpoint' | 'savepoint', verify: boolean): Promise<CheckpointInfo> {
  const idInName = CHK_RE.exec(name) ?? SAVEPOINT_DEFAULT_RE.exec(name);
  const nameId = idInName ? Number(idInName[1]) : undefined;
  let mtime = 0;
  try {
    mtime = (await stat(folder)).mtimeMs;
  } catch {
    // vanished meanwhile (retention); still reported as corrupt below
  }
  let metadata: CheckpointMetadata;
  let note: string | undefined;
  try {
    ({ metadata, note } = await readMetadataRaw(folder));
  } catch (e) {
    const metadataWritten = await hasMetadataFile(folder);
    return {
      jobName,
      name,
      id: nameId,
      kind,
      path: folder,
      completedAt: mtime,
      sourcesSummary: '',
      sourcePositions: {},
      corrupt: (e as Error).message,
      metadataWritten,
    };
  }
  const base: CheckpointInfo = {
    jobName,
    name,
    id: metadata.checkpointId,
    kind: metadata.kind,
    path: folder,
    completedAt: metadata.timestamp,
    durationMs: metadata.durationMs,
    sizeBytes: metadata.stateSize,
    addedBytes: metadata.addedSize ?? metadata.stateSize,
    final: metadata.final,
    sourcesSummary: summarizeSources(metadata),
    sourcePositions: Object.fromEntries(Object.entries(metadata.sources).map(([uid, s]) => [uid, s.positions as SplitPosition[]])),
    ...(note !== undefined ? { note } : {}),
    metadataWritten: true,
    metadata,
  };
  const problem = verify ? await verifyStateFiles(folder, metadata) : undefined;
  return problem === undefined ? base : { ...base, corrupt: problem };
}

/** `verify` false checks the metadata only (state files are checked later, one checkpoint at a time). */
export async function listJob(checkpointDir: string, jobName: string, verify: boolean): Promise<CheckpointInfo[]> {
  const dir = jobDir(checkpointDir, jobName);
  const out: CheckpointInfo[] = [];
  for (const name of await listDirs(dir)) {
    if (CHK_RE.test(name)) out.push(await inspect(jobName, join(dir, name), name, 'checkpoint', verify));
  }
  for (const name of await listDirs(join(dir, SAVEPOINTS))) {
    out.push(await inspect(jobName, join(dir, SAVEPOINTS, name), name, 'savepoint', verify));
  }
  return out;
}

export function newestFirst(a: CheckpointInfo, b: CheckpointInfo): number {
  return b.completedAt - a.completedAt || (b.id ?? 0) - (a.id ?? 0);
}

/**
 * Completed checkpoints and savepoints, newest first, each verified (state files present with the
 * recorded length and sha256, and every section an incremental checkpoint names in other shared
 * files); corrupt or incomplete ones are included with `corrupt` set.
 * `jobName` undefined lists every job folder under `checkpointDir`.
 */
export async function listCheckpoints(checkpointDir: string, jobName?: string): Promise<CheckpointInfo[]> {
  const jobs = jobName === undefined ? await listDirs(checkpointDir) : [jobName];
  const all: CheckpointInfo[] = [];
  for (const job of jobs) all.push(...(await listJob(checkpointDir, job, true)));
  return all.sort(newestFirst);
}

/**
 * The highest checkpoint id this job folder has used (chk-<n> folders, savepoint metadata and
 * default savepoint names), so that a new run never reuses an id whose commits may exist.
 */
export async function maxUsedCheckpointId(checkpointDir: string, jobName: string): Promise<number> {
  const dir = jobDir(checkpointDir, jobName);
  let max = 0;
  for (const name of await listDirs(dir)) {
    const m = CHK_RE.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  for (const name of await listDirs(join(dir, SAVEPOINTS))) {
    const m = SAVEPOINT_DEFAULT_RE.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
    try {
      max = Math.max(max, (await readMetadataRaw(join(dir, SAVEPOINTS, name))).metadata.checkpointId);
    } catch {
      // incomplete savepoint: its id never committed anything
    }
  }
  return max;
}
