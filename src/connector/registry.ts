import type { ConnectorFactory } from './connector.js';
import { userError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';
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
    const close = connectorNames().filter((n) => editDistance(n, name) <= 2);
    const hint = close.length > 0 ? ` did you mean '${close[0]}'?` : '';
    throw userError('UNKNOWN_CONNECTOR', `unknown connector '${name}' for table '${table}';${hint} known connectors: ${connectorNames().join(', ')}`, {
      position: pos,
      details: { connector: name, table },
    });
  }
  return f;
}
