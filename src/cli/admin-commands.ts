import { planOptions } from '../config/job-config.js';
import { join } from 'node:path';
import { listCheckpoints } from '../checkpoint/checkpoint-list.js';
import { validateSavepointName } from '../checkpoint/layout.js';
import { explainGraph } from '../plan/explain.js';
import { planJob } from '../plan/physical.js';
import { sendControl } from './control-socket.js';
import { loadJobFile } from './job-file.js';
import { checkpointDirOf } from './run-command.js';
import { fmtBytes } from './status-line.js';
import { formatTable } from './table-format.js';
import '../../connectors/index.js';

/** `weir explain JOB.sql`: the operator DAG with uids, parallelism and exchanges. */
export async function explainCommand(file: string, flags: { set?: string[] }): Promise<number> {
  const job = await loadJobFile(file, flags.set ?? []);
  for (const w of job.warnings) process.stderr.write(`warning: ${w}\n`);
  const graph = planJob(job.inserts, job.catalog, { jobName: job.jobName, ...planOptions(job.config) });
  process.stdout.write(`${explainGraph(graph)}\n`);
  return 0;
}

/**
 * `weir checkpoints list [JOB]`: completed checkpoints and savepoints, each with its full size (what
 * a restore reads) and the bytes it added (less for an incremental checkpoint).
 */
export async function checkpointsListCommand(jobName: string | undefined, flags: { checkpointDir?: string }): Promise<number> {
  const dir = checkpointDirOf(flags.checkpointDir);
  const list = await listCheckpoints(dir, jobName);
  if (list.length === 0) {
    process.stdout.write(`no checkpoints${jobName ? ` of job '${jobName}'` : ''} in ${dir}\n`);
    return 0;
  }
  const rows = list.map((c) => [
    c.jobName,
    c.kind,
    c.id ?? '?',
    c.corrupt ? `CORRUPT: ${c.corrupt}` : `${new Date(c.completedAt).toISOString()}${c.note ? ` (${c.note})` : ''}`,
    c.durationMs === undefined ? '' : `${c.durationMs} ms`,
    c.sizeBytes === undefined ? '' : fmtBytes(c.sizeBytes),
    c.addedBytes === undefined ? '' : fmtBytes(c.addedBytes),
    c.sourcesSummary,
    c.path,
  ]);
  process.stdout.write(`${formatTable(['job', 'kind', 'id', 'completed', 'duration', 'size', 'added', 'source positions', 'path'], rows)}\n`);
  return 0;
}

/** `weir savepoint JOB`: asks the running job for a savepoint and prints its path. */
export async function savepointCommand(jobName: string, flags: { checkpointDir?: string; name?: string }): Promise<number> {
  if (flags.name !== undefined) validateSavepointName(flags.name);
  const dir = checkpointDirOf(flags.checkpointDir);
  const result = (await sendControl(join(dir, jobName), jobName, { cmd: 'savepoint', name: flags.name })) as { id: number; path: string };
  process.stdout.write(`savepoint ${result.id} of job '${jobName}' written to ${result.path}\n`);
  return 0;
}

/** `weir stop JOB [--savepoint]`: stops the running job gracefully. */
export async function stopCommand(jobName: string, flags: { checkpointDir?: string; savepoint?: boolean }): Promise<number> {
  const dir = checkpointDirOf(flags.checkpointDir);
  const outcome = (await sendControl(join(dir, jobName), jobName, { cmd: 'stop', savepoint: Boolean(flags.savepoint) })) as {
    state: string;
    lastCheckpoint?: { id: number; kind: string; path: string };
  };
  const chk = outcome.lastCheckpoint;
  process.stdout.write(`job '${jobName}' ${outcome.state.toLowerCase()}${chk ? `; ${chk.kind} ${chk.id} at ${chk.path}` : ''}\n`);
  return 0;
}
