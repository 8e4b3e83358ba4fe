/** The connector of a table read or written by a job, checked to have the side the job uses. */
import type { TableDef } from '../catalog/table.js';
import type { ConnectorFactory } from '../connector/connector.js';
import { lookupConnector } from '../connector/registry.js';
import { userError } from '../errors.js';
import type { Pos } from '../sql/ir.js';

export type SourceFactory = ConnectorFactory & { createSource: NonNullable<ConnectorFactory['createSource']> };
export type SinkFactory = ConnectorFactory & { createSink: NonNullable<ConnectorFactory['createSink']> };

export function sourceFactory(table: TableDef, pos: Pos): SourceFactory {
  const f = lookupConnector(table.options.connector, table.name, table.optionPositions.connector ?? pos);
  if (!f.createSource) {
    throw userError('NOT_A_SOURCE', `table '${table.name}' cannot be read: connector '${f.name}' is a sink only (it has no source)`, {
      position: pos,
      details: { table: table.name, connector: f.name },
    });
  }
  return f as SourceFactory;
}

export function sinkFactory(table: TableDef, pos: Pos): SinkFactory {
  const factory = lookupConnector(table.options.connector, table.name, table.optionPositions.connector ?? pos);
  if (!factory.createSink) {
    throw userError('NOT_A_SINK', `table '${table.name}' cannot be written: connector '${factory.name}' is a source only (it has no sink)`, {
      position: pos,
      details: { table: table.name, connector: factory.name },
    });
  }
  return factory as SinkFactory;
}
