import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { DUCKDB_OPTIONS, resolveDuckDBConfig } from './duckdb-options.js';
import { DuckDBSink } from './duckdb-sink.js';
import { previewDuckDBTable } from './preview.js';
import { duckdbSchemaEvolution } from './schema-evolution.js';

/** 'connector' = 'duckdb': an exactly-once sink into a DuckDB file (append, or upsert by primary key). */
export const duckdbConnector: ConnectorFactory = {
  name: 'duckdb',
  optionKeys: optionKeys(DUCKDB_OPTIONS),
  createSink: (table, schema) => new DuckDBSink(table, schema, resolveDuckDBConfig(table)),
  preview: (table, limit) => {
    const c = resolveDuckDBConfig(table);
    return previewDuckDBTable(c.path, c.schemaName, c.tableName, limit);
  },
  evolveSchema: duckdbSchemaEvolution,
};

registerConnector(duckdbConnector);

export { DuckDBSink, DuckDBSinkWriter, type DuckDBCommittable } from './duckdb-sink.js';
