/**
 * `weir cdc PIPELINE.yaml` (or the flags form): discovers the source tables, generates the sync
 * job (pipeline-job.ts) and runs it like `weir run` — snapshot progress bars, then the status line
 * with lag; restartable with --from-checkpoint; SIGTERM stops with a final checkpoint.
 */
import { internalError, userError } from '../../errors.js';
import { runJobFile, type RunFlags } from '../run-command.js';
import { discoverTables, type DiscoveredTable } from './discover.js';
import { loadPipelineFile, pipelineFromFlags, pipelineName, type Pipeline } from './pipeline.js';
import { createLogger } from '../../log.js';
import { applyColumnChanges, columnChanges } from './evolve-target.js';
import { buildPipelineJob, type PipelineJob } from './pipeline-job.js';

export interface CdcFlags extends RunFlags {
  source?: string;
  tables?: string;
  sink?: string;
  name?: string;
  slot?: string;
  parallelism?: string;
  checkpointInterval?: string;
  schemaChange?: string;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

export function loadPipeline(file: string | undefined, flags: CdcFlags): Pipeline {
  if (file !== undefined) {
    const extra = (['source', 'tables', 'sink'] as const).filter((k) => flags[k] !== undefined);
    if (extra.length > 0)
      throw userError('INVALID_FLAG', `give either a pipeline file or --source/--tables/--sink, not both (got ${extra.map((k) => `--${k}`).join(', ')})`);
    return loadPipelineFile(file);
  }
  const missing = (['source', 'tables', 'sink'] as const).filter((k) => flags[k] === undefined);
  if (missing.length > 0)
    throw userError('INVALID_FLAG', `weir cdc needs a pipeline file, or --source, --tables and --sink (missing ${missing.map((k) => `--${k}`).join(', ')})`);
  return pipelineFromFlags({ ...flags, source: flags.source!, tables: flags.tables!, sink: flags.sink! });
}

export async function cdcCommand(file: string | undefined, flags: CdcFlags): Promise<number> {
  const pipeline = loadPipeline(file, flags);
  const behavior = pipeline.pipeline['schema.change.behavior'];
  let runFlags: RunFlags = flags;
  let previous: PipelineJob | undefined;
  for (;;) {
    const tables = await discoverTables(pipeline.source);
    const built = buildPipelineJob(pipeline, tables, flags.set ?? []);
    if (previous !== undefined) {
      // A source stops only when its table really changed: a restart that finds the same columns
      // as before is a bug, and must not loop.
      const shape = (ts: readonly DiscoveredTable[]): string => JSON.stringify(ts.map((t) => [t.schema, t.name, t.columns.map((c) => [c.name, c.pgType])]));
      if (shape(previous.tables) === shape(built.tables)) throw internalError('weir cdc: a source stopped for a schema change, but no table changed');
      await applyColumnChanges(columnChanges(previous, built), behavior === 'evolve' || behavior === 'try_evolve' ? behavior : 'lenient', createLogger());
    } else if (!flags.quiet) {
      const sink = pipeline.sink.type === 'duckdb' ? `DuckDB ${pipeline.sink.path}` : 'PostgreSQL';
      say(
        `weir cdc '${pipelineName(pipeline)}': ${tables.length} table${tables.length === 1 ? '' : 's'} from ${pipeline.source.hostname}/${pipeline.source['database-name']} into ${sink}`,
      );
      for (const t of built.targets) say(`  ${t.tables.map((x) => `${x.schema}.${x.name}`).join(', ')} -> ${t.sinkTable}`);
    }
    let restart: 'schema' | 'tables' | undefined;
    const known = new Set(tables.map((t) => `${t.schema}.${t.name}`));
    const code = await runJobFile(built.job, runFlags, (running) => {
      const stopFor = (why: 'schema' | 'tables', line: string): void => {
        if (restart !== undefined) return;
        restart = why;
        say(line);
        running.stop({ savepoint: false }).catch(() => undefined);
      };
      // A source stopped right before a column change (evolve): end the job with a final
      // checkpoint, evolve the targets, and resume from that checkpoint with the new columns.
      const schemaTimer = setInterval(() => {
        if (running.status().counters['schema-changes'] > 0) stopFor('schema', "weir cdc: a source table's columns changed; stopping to evolve the targets");
      }, 200);
      // New tables matching the pattern: resume with them (their snapshot, then their changes).
      let discovering = false;
      const warned = new Set<string>();
      const tableTimer = pipeline.source['scan.newly-added-table.enabled']
        ? setInterval(() => {
            if (discovering || restart !== undefined || running.status().state !== 'RUNNING') return;
            discovering = true;
            discoverTables(pipeline.source)
              .then((now) => {
                const added = now.filter((t) => !known.has(`${t.schema}.${t.name}`)).map((t) => `${t.schema}.${t.name}`);
                if (added.length > 0)
                  stopFor(
                    'tables',
                    `weir cdc: new table${added.length > 1 ? 's' : ''} ${added.join(', ')}; stopping to add ${added.length > 1 ? 'them' : 'it'}`,
                  );
              })
              .catch((e: unknown) => {
                // e.g. a new matching table without a primary key: say it once, keep running.
                const msg = (e as Error).message;
                if (!warned.has(msg)) say(`warning: weir cdc: looking for new tables: ${msg}`);
                warned.add(msg);
              })
              .finally(() => (discovering = false));
          }, pipeline.source['scan.newly-added-table.interval'])
        : undefined;
      running.done
        .finally(() => {
          clearInterval(schemaTimer);
          clearInterval(tableTimer);
        })
        .catch(() => undefined);
    });
    if (restart === undefined || code !== 0) return code;
    if (restart === 'tables') {
      previous = undefined;
      runFlags = { ...flags, fromCheckpoint: 'latest' };
      continue;
    }
    previous = built;
    // The sinks of the new job have other columns (other uids): their old committables were all
    // committed by the final checkpoint, so nothing of them needs restoring.
    runFlags = { ...flags, fromCheckpoint: 'latest', allowNonRestoredState: true };
  }
}
