/**
 * The sink of a SELECT run by `weir sql` (as Flink's collect sink): every batch is handed to the
 * shell's result view as it arrives, before its checkpoint completes, because a result view
 * shows a live stream and nothing outside the process sees it. Registered as connector
 * 'sql-client-collect'; a table of it names its receiver with the 'collect.id' option, which
 * only the shell sets.
 */
import { randomUUID } from 'node:crypto';
import type { TableDef } from '../../catalog/table.js';
import type { ConnectorFactory } from '../../connector/connector.js';
import { registerConnector } from '../../connector/registry.js';
import { userError } from '../../errors.js';
import type { Schema } from '../../model/types.js';
import type { ChangeBatch } from '../../model/changelog.js';
import type { Sink, TwoPhaseCommitSink } from '../../sink/two-phase-commit.js';

export const COLLECT_CONNECTOR = 'sql-client-collect';
export const COLLECT_ID_OPTION = 'collect.id';

/** Receives the batches of one SELECT. Called synchronously from the sink's write(). */
export type BatchReceiver = (batch: ChangeBatch) => void;

const receivers = new Map<string, BatchReceiver>();

/** Registers a receiver; the returned id goes into the temporary table's 'collect.id' option. */
export function openCollector(receiver: BatchReceiver): { readonly id: string; close(): void } {
  const id = randomUUID();
  receivers.set(id, receiver);
  return { id, close: () => void receivers.delete(id) };
}

class CollectSink implements Sink {
  readonly acceptsUpdates = true;

  constructor(private readonly receiver: BatchReceiver) {}

  createWriter(): TwoPhaseCommitSink {
    const receiver = this.receiver;
    return {
      open: async () => undefined,
      recover: async () => undefined,
      begin: async () => null,
      write: async (_txn: unknown, batch: ChangeBatch) => receiver(batch),
      preCommit: async () => null,
      commit: async () => undefined,
      abort: async () => undefined,
      close: async () => undefined,
    };
  }

  describe(): string {
    return 'collect(sql client)';
  }
}

const collectConnector: ConnectorFactory = {
  name: COLLECT_CONNECTOR,
  optionKeys: [COLLECT_ID_OPTION],
  createSink: (table: TableDef, _schema: Schema) => {
    const receiver = receivers.get(table.options[COLLECT_ID_OPTION] ?? '');
    if (!receiver) {
      throw userError('COLLECT_SINK', `connector '${COLLECT_CONNECTOR}' only receives the results of SELECT statements in \`weir sql\``, {
        position: table.pos,
      });
    }
    return new CollectSink(receiver);
  },
};

registerConnector(collectConnector);
