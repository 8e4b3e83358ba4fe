import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dirs.js';

/**
 * bin/weir.mjs runs weir from a bundle of its sources (bin/bundle-cache.mjs), made on the first run
 * after a change, or through tsx when none can be made. Each test works on a copy of the sources
 * with its own node_modules/.cache, so it can edit them.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const JOB = join(ROOT, 'sql/examples/quickstart.sql');

function copyOfWeir(version: string): string {
  const root = tempDir('bundle');
  for (const p of ['bin', 'src', 'connectors']) cpSync(join(ROOT, p), join(root, p), { recursive: true });
  cpSync(join(ROOT, 'tsconfig.json'), join(root, 'tsconfig.json'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(root, 'package.json'), JSON.stringify({ ...pkg, version }));
  mkdirSync(join(root, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== '.cache') symlinkSync(join(ROOT, 'node_modules', name), join(root, 'node_modules', name));
  }
  return root;
}

function weir(root: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [join(root, 'bin/weir.mjs'), ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The bundles in the copy's cache (anything else there would be litter of a failed build). */
function cacheEntries(root: string): string[] {
  const dir = join(root, 'node_modules/.cache/weir');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The cache's bundle folders: its entries but the manifest (which sorts before or after them by their hashes). */
function bundles(root: string): string[] {
  return cacheEntries(root).filter((e) => e !== 'current.json');
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const path = join(root, file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
}

describe('weir startup from a bundle of the sources', () => {
  it('makes the bundle on the first run and uses it after; it runs as the sources do through tsx', () => {
    const root = copyOfWeir('9.9.9-bundled');
    // main.ts reads package.json relative to its own import.meta.url, which the bundle keeps.
    expect(weir(root, ['--version']).trim()).toBe('9.9.9-bundled');
    const entries = cacheEntries(root);
    expect(entries).toContain('current.json');
    expect(bundles(root)).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules/.cache/weir/current.json'), 'utf8')) as { key: string; files: [string, string][] };
    expect(manifest.key).toBe(bundles(root)[0]);
    expect(manifest.files.map(([f]) => f)).toEqual(expect.arrayContaining(['src/cli/main.ts', 'connectors/index.ts', 'tsconfig.json']));
    expect(existsSync(join(root, 'node_modules/.cache/weir', manifest.key, 'main.mjs'))).toBe(true);

    const bundled = weir(root, ['explain', JOB]);
    expect(bundled).toContain('[3] Sink: revenue_per_customer');
    expect(weir(root, ['explain', JOB], { WEIR_NO_BUNDLE: '1' })).toBe(bundled);
    expect(cacheEntries(root)).toEqual(entries);
  });

  it('an edited source makes a new bundle; the edit undone finds the first one again', () => {
    const root = copyOfWeir('1.0.0');
    const description = 'A streaming SQL engine: Flink-style SQL with exactly-once checkpoints.';
    expect(weir(root, ['--help'])).toContain(description);
    const [first] = bundles(root);

    edit(root, 'src/cli/main.ts', (t) => t.replace(description, 'edited description'));
    expect(weir(root, ['--help'])).toContain('edited description');
    const second = bundles(root).filter((e) => e !== first);
    expect(second).toHaveLength(1);

    edit(root, 'src/cli/main.ts', (t) => t.replace('edited description', description));
    expect(weir(root, ['--help'])).toContain(description);
    expect(cacheEntries(root)).toEqual([first, second[0], 'current.json'].sort());
    const manifest = JSON.parse(readFileSync(join(root, 'node_modules/.cache/weir/current.json'), 'utf8')) as { key: string };
    expect(manifest.key).toBe(first);
  });

  it('two checkouts sharing one cache (one node_modules) get a bundle each: one deleted, the other still runs', () => {
    const a = copyOfWeir('3.0.0');
    const b = copyOfWeir('3.0.0');
    // One node_modules (its cache in it, where the bundles find their packages), linked from both.
    const shared = join(tempDir('bundle-shared'), 'node_modules');
    renameSync(join(a, 'node_modules'), shared);
    for (const root of [a, b]) {
      rmSync(join(root, 'node_modules'), { recursive: true, force: true });
      symlinkSync(shared, join(root, 'node_modules'));
    }
    expect(weir(a, ['explain', JOB])).toContain('[3] Sink: revenue_per_customer');
    expect(weir(b, ['explain', JOB])).toContain('[3] Sink: revenue_per_customer');
    // The same sources, but the bundles hold their checkout's paths.
    expect(bundles(a)).toHaveLength(2);
    rmSync(a, { recursive: true, force: true });
    expect(weir(b, ['explain', JOB])).toContain('[3] Sink: revenue_per_customer');
  });

  it('sources a bundle cannot run as written run through tsx, and no bundle is kept', () => {
    const root = copyOfWeir('2.0.0');
    // import.meta as a whole would describe the bundle, not the source file.
    edit(root, 'src/cli/output-flush.ts', (t) => `${t}\nexport const metaKeys = Object.keys(import.meta);\n`);
    expect(weir(root, ['--version']).trim()).toBe('2.0.0');
    expect(cacheEntries(root)).toEqual([]);
  });
});
