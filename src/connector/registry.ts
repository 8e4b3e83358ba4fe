import type { ConnectorFactory } from './connector.js';
import { userError } from '../errors.js';
import type { Pos } from '../sql/ir.js';

const factories = new Map<string, ConnectorFactory>();

/** Called by each connectors/<name>/index.ts at import time. */
export function registerConnector(factory: ConnectorFactory): void {
  factories.set(factory.name, factory);
}

export function connectorNames(): string[] {
  return [...factories.keys()].sort();
}

/** The factory for `'connector' = name`, or a user error listing the known connectors. */
export function lookupConnector(name: string | undefined, table: string, pos?: Pos): ConnectorFactory {
  if (name === undefined) {
    throw userError('MISSING_CONNECTOR', `table '${table}' has no 'connector' option; known connectors: ${connectorNames().join(', ')}`, { position: pos });
  }
  const f = factories.get(name);
  if (!f) {
    throw userError('UNKNOWN_CONNECTOR', `unknown connector '${name}' for table '${table}'; known connectors: ${connectorNames().join(', ')}`, {
      position: pos,
      details: { connector: name, table },
    });
  }
  return f;
}
