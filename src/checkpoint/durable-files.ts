import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { externalError } from '../errors.js';

export function writeFailed(path: string, e: unknown): Error {
  return externalError('CHECKPOINT_WRITE', `checkpoint storage: cannot write ${path}: ${(e as Error).message}`, {
    cause: e,
    details: { path },
  });
}

/** Writes a file and fsyncs it before resolving; several chunks are written one after another. */
export async function writeFileDurable(path: string, bytes: Uint8Array | string | readonly Uint8Array[]): Promise<void> {
  try {
    const fh = await open(path, 'w');
    try {
      if (typeof bytes === 'string' || bytes instanceof Uint8Array) await fh.writeFile(bytes);
      else for (const chunk of bytes) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw writeFailed(path, e);
  }
}

/**
 * Moves a local file to `path` (copies it when they are on different file systems), appends
 * `tail` and fsyncs the result before resolving. The local file is gone afterwards either way.
 */
export async function moveFileDurable(from: string, path: string, tail: readonly Uint8Array[]): Promise<void> {
  try {
    try {
      await rename(from, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await copyFile(from, path);
    }
    const fh = await open(path, 'a');
    try {
      for (const chunk of tail) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw writeFailed(path, e);
  } finally {
    await rm(from, { force: true });
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
export async function removeFolder(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
