import type { ConnectorFactory } from '../../src/connector/connector.js';
import { optionKeys } from '../../src/connector/options.js';
import { registerConnector } from '../../src/connector/registry.js';
import { NEXMARK_OPTIONS, NexmarkSource } from './nexmark-source.js';

/** 'connector' = 'nexmark': the Nexmark benchmark's person / auction / bid streams. */
export const nexmarkConnector: ConnectorFactory = {
  name: 'nexmark',
  optionKeys: optionKeys(NEXMARK_OPTIONS),
  createSource: (table, schema) => new NexmarkSource(table, schema),
};

registerConnector(nexmarkConnector);

export { NexmarkSource } from './nexmark-source.js';
