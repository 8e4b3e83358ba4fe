import type { ConnectorFactory } from '../../src/connector/connector.js';
import { registerConnector } from '../../src/connector/registry.js';
import { optionKeys } from '../../src/connector/options.js';
import { FILESYSTEM_OPTIONS, resolveFilesystemConfig } from './filesystem-options.js';
import { FileSource } from './file-source.js';
import { FileSink } from './file-sink.js';
import { previewPartFiles } from './preview.js';
import { physicalFields } from '../common/columns.js';

/** 'connector' = 'filesystem': read JSON lines / CSV files; write parquet, csv or json parts exactly once. */
export const filesystemConnector: ConnectorFactory = {
  name: 'filesystem',
  optionKeys: optionKeys(FILESYSTEM_OPTIONS),
  createSource: (table, schema) => new FileSource(table, schema, resolveFilesystemConfig(table)),
  createSink: (table, schema) => new FileSink(table, schema, resolveFilesystemConfig(table)),
  preview: (table, limit) => {
    const c = resolveFilesystemConfig(table);
    return previewPartFiles(
      c.path,
      c.format,
      physicalFields(table).map((f) => f.name),
      limit,
    );
  },
};

registerConnector(filesystemConnector);

export { FileSource } from './file-source.js';
export { FileSink, FileSinkWriter, type FileCommittable } from './file-sink.js';
