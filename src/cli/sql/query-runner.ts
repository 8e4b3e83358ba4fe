/**
 * A SELECT in `weir sql` runs as a temporary job: the query is planned as an INSERT into a
 * temporary table of the collect connector (added to the catalog only while planning), its
 * checkpoints go to a temporary folder removed afterwards, and it never restarts (a failure is
 * shown at once). Bounded queries end by themselves; unbounded ones when the view cancels them.
 */
import { planOptions } from '../../config/job-config.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobConfig } from '../../config/job-config.js';
import type { Field } from '../../model/types.js';
import type { Logger } from '../../log.js';
import { bindQuery } from '../../plan/bind-query.js';
import type { Catalog } from '../../plan/catalog.js';
import { planJob } from '../../plan/physical.js';
import type { JobGraph } from '../../runtime/job-graph.js';
import { startJob, type RunningJob } from '../../job/job.js';
import type { CreateTableStatement, InsertStatement, QueryStatement } from '../../sql/ir.js';
import { COLLECT_CONNECTOR, COLLECT_ID_OPTION, openCollector, type BatchReceiver } from './collect-sink.js';
import type { ResultView } from './result-views.js';

export interface PlannedQuery {
  readonly graph: JobGraph;
  readonly fields: readonly Field[];
  /** The result carries updates or deletes (an aggregate, ...), not only inserts. */
  readonly updating: boolean;
  readonly close: () => void;
}

let queryCounter = 0;

/** Plans `stmt` into a job whose sink hands batches to `receiver`. Call close() when done. */
export function planQuery(stmt: QueryStatement, catalog: Catalog, config: JobConfig, jobName: string, receiver: BatchReceiver): PlannedQuery {
  const fields = bindQuery(stmt.query, catalog).schema.fields;
  const collector = openCollector(receiver);
  // Named for EXPLAIN ('Sink: collect'); it is in the catalog only while planning.
  let tmp = 'collect';
  for (let n = 2; catalog.getTable(tmp) !== undefined || catalog.getView(tmp) !== undefined; n++) tmp = `collect_${n}`;
  queryCounter++;
  const create: CreateTableStatement = {
    kind: 'create-table',
    name: [tmp],
    ifNotExists: false,
    temporary: true,
    columns: fields.map((f) => ({ kind: 'physical', name: f.name, type: f.type, pos: stmt.pos })),
    options: [
      { key: 'connector', value: COLLECT_CONNECTOR, pos: stmt.pos },
      { key: COLLECT_ID_OPTION, value: collector.id, pos: stmt.pos },
    ],
    pos: stmt.pos,
  };
  const insert: InsertStatement = { kind: 'insert', target: [tmp], overwrite: false, query: stmt.query, queryText: stmt.queryText, pos: stmt.pos };
  let graph: JobGraph;
  catalog.apply(create);
  try {
    graph = planJob([insert], catalog, { jobName, ...planOptions(config) });
  } catch (e) {
    collector.close();
    throw e;
  } finally {
    catalog.apply({ kind: 'drop', object: 'table', name: [tmp], ifExists: true, temporary: true, pos: stmt.pos });
  }
  const updating = graph.vertices.some((v) => v.changelogMode === 'updating');
  return { graph, fields, updating, close: collector.close };
}

export interface QueryContext {
  readonly catalog: Catalog;
  readonly config: JobConfig;
  readonly log: Logger;
}

/**
 * Runs a SELECT into `view`. `onRunning` receives a cancel function while the query runs (the
 * shell's SIGINT handler uses it). Rejects with the error that failed the query.
 */
export async function runQuery(
  stmt: QueryStatement,
  ctx: QueryContext,
  view: ResultView,
  onRunning: (cancel: (() => void) | undefined) => void,
): Promise<void> {
  let started = false;
  const planned = planQuery(stmt, ctx.catalog, ctx.config, `sql-client-select-${process.pid}-${queryCounter + 1}`, (batch) => {
    if (started) view.receive(batch);
  });
  const dir = await mkdtemp(join(tmpdir(), 'weir-sql-select-'));
  let job: RunningJob | undefined;
  const cancel = (): void => void job?.cancel();
  try {
    view.start(planned.fields, planned.updating, { cancel });
    started = true;
    job = startJob(planned.graph, {
      checkpointDir: dir,
      checkpointing: { intervalMs: 0, mode: ctx.config.checkpointMode, timeoutMs: ctx.config.checkpointTimeoutMs, minPauseMs: 0, numRetained: 1 },
      restartStrategy: { type: 'none' },
      log: ctx.log,
    });
    onRunning(cancel);
    let outcome;
    try {
      outcome = await job.done;
    } catch (e) {
      await view.end('failed');
      throw e;
    }
    await view.end(outcome.state === 'CANCELED' ? 'canceled' : 'finished');
  } finally {
    onRunning(undefined);
    planned.close();
    await rm(dir, { recursive: true, force: true });
  }
}
