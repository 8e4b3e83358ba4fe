import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { POSTGRES_CDC_OPTIONS, resolveCdcConfig } from './cdc-options.js';
import { CdcSource } from './cdc-source.js';

/** 'connector' = 'postgres-cdc': a PostgreSQL table as a changelog (snapshot, then its WAL through a replication slot). */
export const postgresCdcConnector: ConnectorFactory = {
  name: 'postgres-cdc',
  optionKeys: optionKeys(POSTGRES_CDC_OPTIONS),
  createSource: (table, schema) => new CdcSource(resolveCdcConfig(table), schema),
};

registerConnector(postgresCdcConnector);

export { CdcSource } from './cdc-source.js';
export { resolveCdcConfig, POSTGRES_CDC_OPTIONS } from './cdc-options.js';
