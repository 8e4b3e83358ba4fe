import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { PRINT_OPTIONS, PrintSink } from './print-sink.js';

/** 'connector' = 'print': prints rows as Flink does. */
export const printConnector: ConnectorFactory = {
  name: 'print',
  optionKeys: optionKeys(PRINT_OPTIONS),
  createSink: (table, schema) => new PrintSink(table, schema),
};

registerConnector(printConnector);

export { PrintSink, type LineOutput } from './print-sink.js';
export { formatValue } from './format-value.js';
