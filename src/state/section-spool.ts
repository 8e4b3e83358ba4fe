/**
 * A snapshot's sections written to a local file as they are made, instead of held in memory until
 * the checkpoint writes them: a whole snapshot of a state on disk is as large as the state, far
 * past the heap. The checkpoint takes the file over (moves it into its folder, see
 * KeyedStateSnapshot.spooled), so the bytes are written once.
 *
 * Spool files live in `<local dir>/pid-<pid>-spool/`: a process that was killed leaves its folder
 * behind, and the next one that opens a store in the local dir removes it (rocks-store.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { externalError } from '../errors.js';
import type { SpooledSections } from './state-backend.js';

/** The folder this process spools snapshots into under a local dir. */
export function spoolDir(localDir: string): string {
  return join(localDir, `pid-${process.pid}-spool`);
}

export class SectionSpool {
  private readonly sections: [keyGroup: number, offset: number, length: number, sha256: string][] = [];
  private bytes = 0;

  private constructor(
    readonly path: string,
    private fh: FileHandle | null,
  ) {}

  /** A new, empty spool file under `localDir`. */
  static async create(localDir: string): Promise<SectionSpool> {
    const dir = spoolDir(localDir);
    const path = join(dir, `${randomUUID()}.sections`);
    try {
      await mkdir(dir, { recursive: true });
      return new SectionSpool(path, await open(path, 'w'));
    } catch (e) {
      throw spoolFailed(path, e);
    }
  }

  /** Appends one key group's section. */
  async add(keyGroup: number, section: Uint8Array): Promise<void> {
    const sha = createHash('sha256').update(section).digest('hex');
    try {
      let written = 0;
      while (written < section.length) {
        const { bytesWritten } = await this.fh!.write(section, written, section.length - written, this.bytes + written);
        written += bytesWritten;
      }
    } catch (e) {
      throw spoolFailed(this.path, e);
    }
    this.sections.push([keyGroup, this.bytes, section.length, sha]);
    this.bytes += section.length;
  }

  /** Closes the file (the checkpoint that takes it over makes it durable) and says what it holds. */
  async finish(): Promise<SpooledSections> {
    const fh = this.fh;
    this.fh = null;
    try {
      await fh?.close();
    } catch (e) {
      throw spoolFailed(this.path, e);
    }
    return { path: this.path, sections: this.sections, bytes: this.bytes };
  }

  /** Closes and deletes the file (the snapshot failed). */
  async discard(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

function spoolFailed(path: string, e: unknown): Error {
  return externalError('CHECKPOINT_WRITE', `checkpoint: cannot write the state snapshot file ${path}: ${(e as Error).message}`, {
    cause: e,
    details: { path },
  });
}
