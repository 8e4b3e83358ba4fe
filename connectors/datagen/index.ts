import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { DATAGEN_OPTIONS } from './datagen-options.js';
import { DatagenSource } from './datagen-source.js';

/** 'connector' = 'datagen': deterministic generated rows (random or sequence per column). */
export const datagenConnector: ConnectorFactory = {
  name: 'datagen',
  optionKeys: optionKeys(DATAGEN_OPTIONS),
  createSource: (table, schema) => new DatagenSource(table, schema),
};

registerConnector(datagenConnector);

export { DatagenSource } from './datagen-source.js';
