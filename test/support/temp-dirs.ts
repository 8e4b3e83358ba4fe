/**
 * Temp folders of a test file, removed when the file's tests are done: `tempDir()` registers the
 * folder it makes, and test/support/cleanup-setup.ts (a vitest setup file, so it runs in every
 * test file's module graph and shares this module) removes every registered folder in an
 * afterAll. Helpers that make folders for a test go through here, so no test leaves one behind.
 * A process killed before its hooks run still leaks; that is what the exit hook narrows down.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let hooked = false;

/**
 * A fresh folder `<tmp>/weir-<prefix>-XXXXXX`, 0755 (an embedded PostgreSQL running as another
 * user must reach folders inside it), removed after the calling test file.
 */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `weir-${prefix}-`));
  chmodSync(d, 0o755);
  registerTempDir(d);
  return d;
}

/** Registers a folder made elsewhere (e.g. by code under test) for removal after the file. */
export function registerTempDir(path: string): void {
  made.add(path);
  if (!hooked) {
    hooked = true;
    // A worker that exits without running afterAll (an uncaught error) still cleans up.
    process.once('exit', removeTempDirs);
  }
}

/** Removes every registered folder now (the setup file's afterAll calls this). */
export function removeTempDirs(): void {
  for (const d of made) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a file held open by a still-running child; the exit hook tries again
      continue;
    }
    made.delete(d);
  }
}
