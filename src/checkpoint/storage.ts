import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { externalError, userError } from '../errors.js';
import { hashString } from '../model/partition.js';
import type { SplitPosition } from '../runtime/source.js';
import { type CheckpointMetadata, type SubtaskStateEntry, parseMetadataText, serializeMetadata } from './metadata.js';

export type { CheckpointMetadata, SubtaskStateEntry } from './metadata.js';

/**
 * Checkpoint storage on a local directory. Layout (easy to move to object storage: files are
 * written once and never modified; the metadata is the commit point):
 *   <checkpointDir>/<jobName>/chk-<n>/_metadata        (with its own checksum)
 *   <checkpointDir>/<jobName>/chk-<n>/_metadata.copy   (the same bytes, read when _metadata fails)
 *   <checkpointDir>/<jobName>/chk-<n>/<uid>-<subtask>.state
 *   <checkpointDir>/<jobName>/savepoints/<name>/(same files)
 */
export const METADATA_FILE = '_metadata';
/**
 * A second copy of `_metadata`. Sinks commit a checkpoint once its metadata is durable, so a
 * checkpoint whose only metadata file is damaged could not be restored without replaying what
 * those sinks already committed (duplicates in append sinks); with two copies one damaged file
 * costs nothing.
 */
export const METADATA_COPY = '_metadata.copy';
const METADATA_NAMES = [METADATA_FILE, METADATA_COPY] as const;
const SAVEPOINTS = 'savepoints';
const CHK_RE = /^chk-(\d+)$/;
const SAVEPOINT_DEFAULT_RE = /^savepoint-(\d+)-/;

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

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeFailed(path: string, e: unknown): Error {
  return externalError('CHECKPOINT_WRITE', `checkpoint storage: cannot write ${path}: ${(e as Error).message}`, {
    cause: e,
    details: { path },
  });
}

/** Writes a file and fsyncs it before resolving. */
export async function writeFileDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  try {
    const fh = await open(path, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw writeFailed(path, e);
  }
}

/** Makes a folder's entries (created, renamed files) durable. */
export async function fsyncDir(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw writeFailed(path, e);
  }
}

/** Creates a checkpoint folder and makes its name durable in the parent. */
export async function createFolderDurable(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (e) {
    throw writeFailed(path, e);
  }
  await fsyncDir(dirname(path));
}

/**
 * The commit point of a checkpoint: both metadata files are written to temp names and fsynced,
 * renamed into place, and the folder is fsynced. Each file is complete and checksummed before its
 * rename, so after a crash any metadata file present is a whole, valid one: whichever rename
 * survived, the checkpoint is complete (its state files were durable before this started).
 */
export async function writeMetadataAtomic(folder: string, metadata: CheckpointMetadata): Promise<void> {
  const text = serializeMetadata(metadata);
  await Promise.all(METADATA_NAMES.map((name) => writeFileDurable(join(folder, `${name}.tmp`), text)));
  for (const name of METADATA_NAMES) {
    try {
      await rename(join(folder, `${name}.tmp`), join(folder, name));
    } catch (e) {
      throw writeFailed(join(folder, name), e);
    }
  }
  await fsyncDir(folder);
}

export async function removeFolder(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function listDirs(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

type MetadataCopy =
  | { readonly ok: true; readonly metadata: CheckpointMetadata; readonly checksummed: boolean }
  | { readonly ok: false; readonly missing: boolean; readonly problem: string };

async function readMetadataCopy(folder: string, name: string): Promise<MetadataCopy> {
  let text: string;
  try {
    text = await readFile(join(folder, name), 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, problem: missing ? `${name} is missing` : `${name} cannot be read (${(e as Error).message})` };
  }
  try {
    return { ok: true, ...parseMetadataText(text, name) };
  } catch (e) {
    return { ok: false, missing: false, problem: (e as Error).message };
  }
}

/** A checkpoint's metadata as read, with a note when it came from the copy or is unverified. */
interface ReadMetadata {
  readonly metadata: CheckpointMetadata;
  readonly note?: string;
}

/**
 * Reads the metadata of a folder: `_metadata` when it verifies, else its copy when that verifies.
 * A `_metadata` without checksum and without copy was written by a weir that predates both: it is
 * accepted unverified. Throws a plain Error naming what is wrong with each file.
 */
async function readMetadataRaw(folder: string): Promise<ReadMetadata> {
  const main = await readMetadataCopy(folder, METADATA_FILE);
  if (main.ok && main.checksummed) return { metadata: main.metadata };
  const copy = await readMetadataCopy(folder, METADATA_COPY);
  const mainProblem = main.ok ? `${METADATA_FILE} has no checksum` : main.problem;
  if (copy.ok && copy.checksummed) return { metadata: copy.metadata, note: `${mainProblem}; using its copy ${METADATA_COPY}` };
  if (main.ok && !copy.ok && copy.missing) {
    return { metadata: main.metadata, note: `${METADATA_FILE} has no checksum (written by an earlier weir version), so it is not verified` };
  }
  if (!main.ok && main.missing && !copy.ok && copy.missing) throw new Error('no _metadata (incomplete checkpoint)');
  if (!copy.ok && copy.missing) throw new Error(mainProblem);
  throw new Error(`${mainProblem}; ${copy.ok ? `${METADATA_COPY} has no checksum` : copy.problem}`);
}

/** Whether a metadata file was written: the checkpoint reached its commit point, so sinks may have committed it. */
async function hasMetadataFile(folder: string): Promise<boolean> {
  return (await exists(join(folder, METADATA_FILE))) || (await exists(join(folder, METADATA_COPY)));
}

/** Checks every state file's presence, length and sha256; returns the problem or undefined. */
export async function verifyStateFiles(folder: string, metadata: CheckpointMetadata): Promise<string | undefined> {
  for (const op of Object.values(metadata.operators)) {
    for (const st of op.subtasks) {
      if (st.stateFile === null) continue;
      const problem = await checkStateFile(folder, st);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

async function checkStateFile(folder: string, st: SubtaskStateEntry): Promise<string | undefined> {
  const file = st.stateFile!;
  let bytes: Buffer;
  try {
    bytes = await readFile(join(folder, file));
  } catch {
    return `state file ${file} is missing`;
  }
  if (bytes.length !== st.bytes) return `state file ${file} has ${bytes.length} bytes, expected ${st.bytes}`;
  if (sha256Hex(bytes) !== st.sha256) return `state file ${file} sha256 mismatch`;
  return undefined;
}

function folderOf(path: string): string {
  const abs = resolve(path);
  return (METADATA_NAMES as readonly string[]).includes(basename(abs)) ? dirname(abs) : abs;
}

/**
 * Reads a checkpoint's metadata (from `_metadata`, or its copy when `_metadata` fails its
 * checksum). `path` is a chk-<n> or savepoint folder or one of its metadata files.
 * Missing -> CHECKPOINT_NOT_FOUND; unreadable or invalid -> CHECKPOINT_CORRUPT (user errors).
 */
export async function readMetadata(path: string): Promise<CheckpointMetadata> {
  return (await readMetadataChecked(path)).metadata;
}

async function readMetadataChecked(path: string): Promise<ReadMetadata> {
  const folder = folderOf(path);
  if (!(await isDirectory(folder))) {
    throw userError('CHECKPOINT_NOT_FOUND', `checkpoint not found: ${path}`, { details: { path } });
  }
  if (!(await hasMetadataFile(folder))) {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is incomplete or corrupt: it has no _metadata (name a chk-<n> or savepoint folder)`, {
      details: { path: folder },
    });
  }
  try {
    return await readMetadataRaw(folder);
  } catch (e) {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: ${(e as Error).message}`, {
      details: { path: folder },
    });
  }
}

/** Loads one subtask's state bytes, verifying length and sha256 (CHECKPOINT_CORRUPT otherwise). */
export async function loadStateFile(folder: string, st: SubtaskStateEntry): Promise<Uint8Array> {
  if (st.stateFile === null) return new Uint8Array(0);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(folder, st.stateFile));
  } catch {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${st.stateFile} is missing`, {
      details: { path: folder },
    });
  }
  if (bytes.length !== st.bytes || sha256Hex(bytes) !== st.sha256) {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${st.stateFile} does not match its checksum`, {
      details: { path: folder },
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

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
  readonly sizeBytes?: number;
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
async function listJob(checkpointDir: string, jobName: string, verify: boolean): Promise<CheckpointInfo[]> {
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

function newestFirst(a: CheckpointInfo, b: CheckpointInfo): number {
  return b.completedAt - a.completedAt || (b.id ?? 0) - (a.id ?? 0);
}

/**
 * Completed checkpoints and savepoints, newest first, each verified (state files present with the
 * recorded length and sha256); corrupt or incomplete ones are included with `corrupt` set.
 * `jobName` undefined lists every job folder under `checkpointDir`.
 */
export async function listCheckpoints(checkpointDir: string, jobName?: string): Promise<CheckpointInfo[]> {
  const jobs = jobName === undefined ? await listDirs(checkpointDir) : [jobName];
  const all: CheckpointInfo[] = [];
  for (const job of jobs) all.push(...(await listJob(checkpointDir, job, true)));
  return all.sort(newestFirst);
}

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
