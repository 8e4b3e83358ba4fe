import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { userError } from '../errors.js';
import { writeFailed, fsyncDir, writeFileDurable } from './durable-files.js';
import { exists, isDirectory } from './folder-probes.js';
import { METADATA_COPY, METADATA_FILE, METADATA_NAMES, folderOf } from './layout.js';
import { type CheckpointMetadata, parseMetadataText, serializeMetadata } from './metadata.js';

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
export interface ReadMetadata {
  readonly metadata: CheckpointMetadata;
  readonly note?: string;
}

/**
 * Reads the metadata of a folder: `_metadata` when it verifies, else its copy when that verifies.
 * A `_metadata` without checksum and without copy was written by a weir that predates both: it is
 * accepted unverified. Throws a plain Error naming what is wrong with each file.
 */
export async function readMetadataRaw(folder: string): Promise<ReadMetadata> {
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
export async function hasMetadataFile(folder: string): Promise<boolean> {
  return (await exists(join(folder, METADATA_FILE))) || (await exists(join(folder, METADATA_COPY)));
}

/**
 * Reads a checkpoint's metadata (from `_metadata`, or its copy when `_metadata` fails its
 * checksum). `path` is a chk-<n> or savepoint folder or one of its metadata files.
 * Missing -> CHECKPOINT_NOT_FOUND; unreadable or invalid -> CHECKPOINT_CORRUPT (user errors).
 */
export async function readMetadata(path: string): Promise<CheckpointMetadata> {
  return (await readMetadataChecked(path)).metadata;
}

export async function readMetadataChecked(path: string): Promise<ReadMetadata> {
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
