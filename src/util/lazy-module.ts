import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at import, through `require`. Every weir
 * process pays for what it imports at startup, and the heavy clients (DuckDB's native binding,
 * kafkajs, pg) are needed only by jobs that open them: planning, `weir explain` and jobs that do
 * not use a connector must not load its client. `require` rather than a dynamic `import()` keeps
 * the call sites synchronous, and costs less: Node imports a CommonJS file only after checking it
 * for ESM syntax and scanning it for export names, which `require` skips (node-sql-parser's
 * FlinkSQL build: ~150 ms imported, ~30 ms required).
 *
 * Pass the package's module type, e.g. `lazyModule<typeof DuckDB>('@duckdb/node-api')` with
 * `import type * as DuckDB from '@duckdb/node-api'`.
 */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
