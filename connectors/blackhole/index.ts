import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { BLACKHOLE_OPTIONS, BlackholeSink } from './blackhole-sink.js';

export const blackholeConnector: ConnectorFactory = {
  name: 'blackhole',
  optionKeys: optionKeys(BLACKHOLE_OPTIONS),
  createSink: (table) => new BlackholeSink(table),
};

registerConnector(blackholeConnector);

export { BlackholeSink } from './blackhole-sink.js';
