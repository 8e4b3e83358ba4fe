import { mkdir, open, rm } from 'node:fs/promises';
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
