/**
 * The layer and cycle rules of .dependency-cruiser.cjs (run by `npm run lint`) fail on the
 * mistakes they exist for: checked on a small tree of fixture files laid out like weir's.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/weir-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = tempDir('layer-rules');
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'connectors'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(DEPCRUISE, ['src', 'connectors'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('layer rules', () => {
  it('a tree that keeps the layers passes', () => {
    const r = cruise({
      'src/model/types.ts': 'export type T = number;\n',
      'src/runtime/op.ts': "import type { T } from '../model/types.js';\nexport const t: T = 1;\n",
      'connectors/x/x.ts': "import { t } from '../../src/runtime/op.js';\nimport { c } from '../common/c.js';\nexport const x = t + c;\n",
      'connectors/common/c.ts': 'export const c = 1;\n',
    });
    expect(r.out).toContain('no dependency violations');
    expect(r.status).toBe(0);
  });

  it('an import cycle fails, type-only imports included', () => {
    const r = cruise({
      'src/runtime/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
      'src/runtime/b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
    });
    expect(r.out).toContain('no-cycle');
    expect(r.status).not.toBe(0);
  });

  it('a lower layer importing a higher one fails (the data model importing the runtime)', () => {
    const r = cruise({
      'src/runtime/op.ts': 'export const op = 1;\n',
      'src/model/types.ts': "import { op } from '../runtime/op.js';\nexport const t = op;\n",
    });
    expect(r.out).toContain('layer-model');
    expect(r.status).not.toBe(0);
  });

  it("a connector reaching into another connector's internals, and the CLI reaching into a connector, fail", () => {
    const r = cruise({
      'connectors/duckdb/values.ts': 'export const v = 1;\n',
      'connectors/postgres/sink.ts': "import { v } from '../duckdb/values.js';\nexport const s = v;\n",
      'src/cli/cmd.ts': "import { v } from '../../connectors/duckdb/values.js';\nexport const c = v;\n",
    });
    expect(r.out).toContain('connector-internals');
    expect(r.out).toContain('cli-through-the-contract');
    expect(r.status).not.toBe(0);
  });
});
