/** Importing this module registers every built-in connector with src/connector/registry.ts. */
import './datagen/index.js';
import './filesystem/index.js';
import './duckdb/index.js';
import './print/index.js';
import './blackhole/index.js';
import './kafka/index.js';
import './postgres/index.js';
import './postgres-cdc/index.js';
import './nexmark/index.js';
