/**
 * weir's sources bundled into ESM chunks, made on the first run after a change and kept in
 * node_modules/.cache/weir. Running the TypeScript sources through tsx costs every process more
 * than a second of startup: its loader thread resolves and loads each of ~400 modules, one round
 * trip each, and every module comes with a source map to parse. The bundle is what tsx would run,
 * made by tsx's own esbuild with the options tsx uses, so it behaves the same:
 * - it is keyed by a hash of every file under src/ and connectors/ (plus tsconfig.json, this file,
 *   Node's version, the last npm install and the checkout's folder, whose paths it holds), so an
 *   edited source is never run stale, nor a bundle made in another checkout sharing node_modules;
 * - packages stay outside it (imported from node_modules as before) except zod, whose ~95 small
 *   modules cost more to load one by one than its code; each dynamic import stays one, so a
 *   command loads only what it loaded before;
 * - `import.meta.url` / `dirname` / `filename` keep the value they have in their own source file;
 * - source maps map stack traces back to the .ts files and lines, as under tsx.
 * Hashing every source costs tens of milliseconds, so a manifest (current.json) remembers the
 * bundle last used with the size, ctime and inode of each file it was made from: while none has
 * changed, that bundle is used without reading them.
 * When no bundle can be made (esbuild missing, the cache folder not writable, a source esbuild
 * cannot bundle), cachedBundle() returns undefined and bin/weir.mjs runs the sources through tsx.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'src/cli/main.ts');
const SOURCE_DIRS = ['src', 'connectors'];
/** Files besides the sources that change what a bundle is; npm rewrites the last on every install. */
const BUILD_FILES = ['tsconfig.json', 'bin/bundle-cache.mjs', 'node_modules/.package-lock.json'];
const CACHE_DIR = join(ROOT, 'node_modules/.cache/weir');
const MANIFEST = join(CACHE_DIR, 'current.json');
/** Bundles older than this, beyond the newest few, are deleted when a new one is made. */
const STALE_MS = 10 * 60_000;
const KEEP = 3;

/** What tells a changed file: its ctime (which no tool sets back, unlike mtime), size and inode. */
function stamp(rel) {
  const s = statSync(join(ROOT, rel), { throwIfNoEntry: false });
  return s ? `${s.ctimeMs}:${s.size}:${s.ino}` : '-';
}

/** The bundle the manifest names, if none of the files it was made from changed since. */
function fromManifest() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.node !== process.versions.node) return undefined;
  for (const [rel, was] of manifest.files) if (stamp(rel) !== was) return undefined;
  const main = join(CACHE_DIR, manifest.key, 'main.mjs');
  return statSync(main, { throwIfNoEntry: false }) ? main : undefined;
}

/** A hash of everything a bundle is made from, and the stamps of those files taken before reading them. */
async function sourceKey() {
  const { createHash } = await import('node:crypto');
  const files = [...BUILD_FILES];
  for (const dir of SOURCE_DIRS) {
    for (const e of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile()) files.push(relative(ROOT, join(e.parentPath ?? e.path, e.name)));
    }
  }
  files.sort();
  // Stamped first: a file changed between stamp and read makes the manifest disagree next time, never agree wrongly.
  const stamps = new Map(files.map((f) => [f, stamp(f)]));
  // The folder too: the bundle holds its sources' paths (import.meta, source maps), and two
  // checkouts can share one node_modules (a worktree's link, the README test's copy).
  const hash = createHash('sha256').update(`${process.versions.node}\0${ROOT}\0`);
  for (const f of files) {
    // The install is known by its stamp (the file is large); every other file by its contents.
    const contents = f === 'node_modules/.package-lock.json' || stamps.get(f) === '-' ? stamps.get(f) : readFileSync(join(ROOT, f));
    hash.update(`${f}\0`).update(contents).update('\0');
  }
  return { key: hash.digest('hex').slice(0, 24), stamps };
}

/** Packages compiled into the bundle instead of imported from node_modules (see above). */
const BUNDLED_PACKAGES = new Set(['zod']);

const externalPackages = {
  name: 'weir-external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const [scope, name] = args.path.split('/');
      return BUNDLED_PACKAGES.has(scope.startsWith('@') ? `${scope}/${name}` : scope) ? undefined : { external: true };
    });
  },
};

/** tsx's own esbuild (tsx depends on it), so the sources compile as tsx compiles them. */
function loadEsbuild() {
  return createRequire(import.meta.resolve('tsx/esm/api'))('esbuild');
}

/** `import.meta.url`, `.filename` and `.dirname` as their own source file sees them, not the bundle. */
const importMetaPlugin = {
  name: 'weir-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const values = { url: pathToFileURL(args.path).href, filename: args.path, dirname: dirname(args.path) };
      const contents = text.replace(/\bimport\.meta(\.(url|filename|dirname)\b)?/g, (_all, _member, key) => {
        // Anything else (import.meta.resolve, import.meta itself) would see the bundle: no bundle then.
        if (key === undefined) throw new Error(`${args.path}: import.meta without .url, .filename or .dirname cannot be bundled`);
        return JSON.stringify(values[key]);
      });
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * Bundles the sources into `dir` (dynamic imports become chunks, loaded with their packages only
 * when imported); returns the source files it read.
 */
async function build(dir, stamps) {
  const esbuild = loadEsbuild();
  // Built under a temporary name, then renamed: a process starting meanwhile sees all or nothing.
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { main: ENTRY },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      tsconfig: join(ROOT, 'tsconfig.json'),
      // tsx's transform options.
      target: `node${process.versions.node}`,
      keepNames: true,
      minifyWhitespace: true,
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [externalPackages, importMetaPlugin],
    });
    const inputs = Object.keys(result.metafile.inputs).filter((f) => !/(^|\/)node_modules\//.test(f));
    // The key covers src/ and connectors/ only: a bundle of anything else could go stale unseen.
    const outside = inputs.find((f) => !SOURCE_DIRS.some((d) => f.startsWith(`${d}/`)));
    if (outside !== undefined) throw new Error(`${outside} is outside ${SOURCE_DIRS.join(' and ')}`);
    // A source edited since it was hashed: this bundle may hold the edit, so it must not go under the key.
    const changed = inputs.find((f) => stamp(f) !== stamps.get(f));
    if (changed !== undefined) throw new Error(`${changed} changed while bundling`);
    writeFileSync(join(tmp, 'inputs.json'), JSON.stringify(inputs));
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process made the same bundle first.
      if (!statSync(join(dir, 'main.mjs'), { throwIfNoEntry: false })) throw e;
    }
    return inputs;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await esbuild.stop?.();
  }
}

/**
 * Deletes older bundles (not the newest few: another process may be about to load one), and what
 * processes killed while writing left behind.
 */
function prune(current) {
  const now = Date.now();
  const entries = readdirSync(CACHE_DIR)
    .filter((n) => n !== current && n !== 'current.json')
    .map((n) => ({ n, mtime: statSync(join(CACHE_DIR, n), { throwIfNoEntry: false })?.mtimeMs ?? now }))
    .sort((a, b) => b.mtime - a.mtime);
  const bundles = entries.filter(({ n }) => /^[0-9a-f]+$/.test(n));
  const litter = entries.filter(({ n }) => n.endsWith('.tmp'));
  for (const { n, mtime } of [...bundles.slice(KEEP - 1), ...litter]) {
    if (now - mtime >= STALE_MS) rmSync(join(CACHE_DIR, n), { recursive: true, force: true });
  }
}

/** The file URL of the bundle of the current sources, made now if missing; undefined if it cannot be. */
export async function cachedBundle() {
  try {
    const known = fromManifest();
    if (known) return pathToFileURL(known).href;
    const { key, stamps } = await sourceKey();
    const dir = join(CACHE_DIR, key);
    let inputs;
    try {
      inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    } catch {
      mkdirSync(CACHE_DIR, { recursive: true });
      inputs = await build(dir, stamps);
      prune(key);
    }
    try {
      const files = [...BUILD_FILES, ...inputs].map((f) => [f, stamps.get(f) ?? stamp(f)]);
      const tmp = `${MANIFEST}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ node: process.versions.node, key, files }));
      renameSync(tmp, MANIFEST);
    } catch {
      // Not ours to write (another user's cache): the bundle is good all the same.
    }
    return pathToFileURL(join(dir, 'main.mjs')).href;
  } catch {
    return undefined;
  }
}
