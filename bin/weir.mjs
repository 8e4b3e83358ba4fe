#!/usr/bin/env node
// weir's command line. The TypeScript sources run without a build step: from a bundle that
// bundle-cache.mjs makes on the first run after a change (startup in a fraction of the time), or
// through tsx when no bundle can be made, or when WEIR_NO_BUNDLE=1 asks for tsx.
import { cachedBundle } from './bundle-cache.mjs';

const bundle = process.env.WEIR_NO_BUNDLE === '1' ? undefined : await cachedBundle();
if (bundle) {
  // As tsx does: stack traces name the .ts files and lines.
  process.setSourceMapsEnabled(true);
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
