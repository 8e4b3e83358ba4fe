/**
 * @duckdb/node-api, loaded when a DuckDB file (or in-memory instance) is first opened: its native
 * binding costs a few hundred milliseconds that planning, `weir explain` and jobs without a
 * DuckDB or parquet sink do not pay. Its types come from `import type` as usual.
 */
import type * as DuckDB from '@duckdb/node-api';
import { lazyModule } from '../../src/util/lazy-module.js';

export const duckdb = lazyModule<typeof DuckDB>('@duckdb/node-api');
