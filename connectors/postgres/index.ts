import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { JDBC_OPTIONS, POSTGRES_OPTIONS, resolvePostgresConfig } from './postgres-options.js';
import { PostgresSink } from './postgres-sink.js';
import { previewPostgresTable } from './preview.js';
import { postgresSchemaEvolution } from './schema-evolution.js';

function factory(name: 'postgres' | 'jdbc'): ConnectorFactory {
  return {
    name,
    optionKeys: optionKeys(name === 'jdbc' ? JDBC_OPTIONS : POSTGRES_OPTIONS),
    createSink: (table, schema) => new PostgresSink(table, schema, resolvePostgresConfig(table, name)),
    preview: (table, limit) => previewPostgresTable(table, resolvePostgresConfig(table, name), limit),
    evolveSchema: (table, change) => postgresSchemaEvolution(table, change, name),
  };
}

/** 'connector' = 'postgres': an exactly-once (two-phase commit) sink into a PostgreSQL table. */
export const postgresConnector = factory('postgres');
/** Flink's 'connector' = 'jdbc' with a jdbc:postgresql:// url: the same sink. */
export const jdbcConnector = factory('jdbc');

registerConnector(postgresConnector);
registerConnector(jdbcConnector);

export { PostgresSink, PostgresSinkWriter, type PgCommittable } from './postgres-sink.js';
export { parsePgText, pgType, quoteIdent } from './pg-values.js';
export { parsePostgresUrl, resolvePostgresConfig, type PostgresSinkConfig } from './postgres-options.js';
export { setPgStagingMode, usesStaging, type StagingMode } from './staging.js';
