/**
 * Vitest setup file (vitest.config.ts `setupFiles`): runs before every test file, in that file's
 * module graph. Its afterAll is registered first, so with vitest's stacked after-hooks it runs
 * last — after the file's own afterAll hooks have stopped its servers and jobs: weir children
 * still running are killed, then the file's temp folders are removed.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dirs.js';
import { killLiveChildren } from './weir-process.js';

afterAll(async () => {
  await killLiveChildren();
  removeTempDirs();
});
