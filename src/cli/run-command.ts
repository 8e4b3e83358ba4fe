import { planOptions } from '../config/job-config.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CheckpointMetadata } from '../checkpoint/metadata.js';
import { listCheckpoints } from '../checkpoint/checkpoint-list.js';
import { resolveRestore, skippedCommitWarning } from '../checkpoint/resolve-restore.js';
import { lookupConnector } from '../connector/registry.js';
import { userError } from '../errors.js';
import { createLogger } from '../log.js';
import { planJob } from '../plan/physical.js';
import type { JobGraph } from '../runtime/job-graph.js';
import { startJob, type RunningJob } from '../job/job.js';
import type { JobOptions } from '../job/job-options.js';
import { handleControl, startControlServer } from './control-socket.js';
import { loadJobFile, type JobFile } from './job-file.js';
import { formatTable } from './table-format.js';
import { StatusLine } from './status-line.js';
import '../../connectors/index.js';

export interface RunFlags {
  checkpointDir?: string;
  fromCheckpoint?: string;
  allowNonRestoredState?: boolean;
  set?: string[];
  savepointOnStop?: boolean;
  showResult?: boolean;
  quiet?: boolean;
}

export const DEFAULT_CHECKPOINT_DIR = './.weir/checkpoints';

export function checkpointDirOf(flag: string | undefined, job?: JobFile): string {
  return resolve(flag ?? job?.config.checkpointDir ?? DEFAULT_CHECKPOINT_DIR);
}

/** Refuses to start a second instance of the same job on the same checkpoint folder. */
export function assertNotRunning(jobDir: string, jobName: string): void {
  const info = join(jobDir, 'control.json');
  if (!existsSync(info)) return;
  try {
    const { pid } = JSON.parse(readFileSync(info, 'utf8')) as { pid: number };
    if (pid !== process.pid) {
      process.kill(pid, 0);
      throw userError('JOB_ALREADY_RUNNING', `job '${jobName}' is already running (pid ${pid}); stop it first with \`weir stop ${jobName}\``);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return; // a killed run left it behind
    if ((e as NodeJS.ErrnoException).code === 'EPERM') {
      // The pid lives but is another user's: this job folder is in use (or the file was planted).
      throw userError(
        'JOB_ALREADY_RUNNING',
        `job '${jobName}' looks running as another user's process (pid in ${info}); use your own --checkpoint-dir, or remove ${info} if that process is not weir`,
      );
    }
    if (e instanceof Error && 'domain' in e) throw e;
  }
}

/** `uid (name)` of every piece of checkpointed state the graph has no operator or source for (as the restore maps it). */
export function unmappedState(metadata: CheckpointMetadata, graph: JobGraph): string[] {
  const operators = new Set(graph.vertices.filter((v) => v.kind === 'operator').map((v) => v.uid));
  const sources = new Set(graph.vertices.filter((v) => v.kind === 'source').map((v) => v.uid));
  const out: string[] = [];
  for (const [uid, op] of Object.entries(metadata.operators)) {
    const hasState = op.subtasks.some((st) => st.stateFile !== null || st.committables.length > 0);
    if (hasState && !operators.has(uid)) out.push(`${uid} (${op.name})`);
  }
  for (const [uid, src] of Object.entries(metadata.sources)) {
    if (src.positions.length > 0 && !sources.has(uid)) out.push(`${uid} (${src.name})`);
  }
  return out;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** `weir run JOB.sql`: plans the job, restores it if asked, runs it until it ends or is stopped. */
export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  return runJobFile(await loadJobFile(file, flags.set ?? []), flags);
}

/**
 * Runs a prepared job as `weir run` does (also `weir cdc`, whose job is generated). `onStart` sees
 * the running job (e.g. to watch its counters).
 */
export async function runJobFile(job: JobFile, flags: RunFlags, onStart?: (running: RunningJob) => void): Promise<number> {
  const log = createLogger();
  for (const w of job.warnings) say(`warning: ${w}`);
  const checkpointDir = checkpointDirOf(flags.checkpointDir, job);
  const jobDir = join(checkpointDir, job.jobName);
  const graph = planJob(job.inserts, job.catalog, { jobName: job.jobName, ...planOptions(job.config) });
  assertNotRunning(jobDir, job.jobName);

  const restoreSpec = flags.fromCheckpoint ?? job.config.savepointPath;
  let restore: JobOptions['restore'];
  if (restoreSpec !== undefined) {
    const sinks = sinkTables(job);
    const found = await resolveRestore(checkpointDir, job.jobName, restoreSpec, { sinks });
    // What state a run starts from matters even with -q (which silences the status line and summary).
    if (found) {
      for (const w of found.warnings) say(`warning: ${w}`);
      say(`restoring job '${job.jobName}' from ${found.path}`);
      const allowNonRestoredState = Boolean(flags.allowNonRestoredState) || job.config.allowNonRestoredState;
      if (allowNonRestoredState) {
        for (const u of unmappedState(found.metadata, graph)) say(`warning: skipping the checkpoint state of ${u}: it maps to no operator of this job`);
      }
      restore = { path: found.path, allowNonRestoredState };
    } else {
      const corrupt = (await listCheckpoints(checkpointDir, job.jobName)).filter((c) => c.corrupt !== undefined);
      for (const c of corrupt) say(`warning: ${c.kind} ${c.name} is corrupt (${c.corrupt}); not restoring it`);
      const loud = skippedCommitWarning(corrupt, undefined, sinks);
      if (loud !== undefined) say(`warning: ${loud}`);
      say(`no completed checkpoint of job '${job.jobName}' in ${checkpointDir}; starting fresh`);
    }
  }

  const running = startJob(graph, {
    checkpointDir,
    checkpointing: {
      intervalMs: job.config.checkpointIntervalMs,
      mode: job.config.checkpointMode,
      timeoutMs: job.config.checkpointTimeoutMs,
      minPauseMs: job.config.checkpointMinPauseMs,
      numRetained: job.config.numRetained,
      incremental: job.config.incrementalCheckpoints,
    },
    restartStrategy: job.config.restartStrategy,
    stateBackend: job.config.stateBackend,
    ...(job.config.stateLocalDir === undefined ? {} : { stateLocalDir: job.config.stateLocalDir }),
    restore,
    log,
  });
  // Handlers before the control socket: tools (and tests) take control.json as "running", and a
  // signal that arrives before any handler kills the process without a final checkpoint.
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      if (!flags.quiet) say(`${process.stderr.isTTY ? '\n' : ''}${sig}: stopping job '${job.jobName}'${flags.savepointOnStop ? ' with a savepoint' : ''}...`);
      running.stop({ savepoint: Boolean(flags.savepointOnStop) }).catch(() => undefined);
    } else {
      say(`${sig} again: cancelling without a final checkpoint`);
      void running.cancel();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  onStart?.(running);

  let control: Awaited<ReturnType<typeof startControlServer>> | undefined;
  let status: StatusLine | undefined;
  try {
    control = await startControlServer(jobDir, (req) => handleControl(running, req));
    status = new StatusLine(job.jobName, () => running.status());
    if (!flags.quiet) status.start();
    const outcome = await running.done;
    status.stop();
    if (!flags.quiet) {
      status.final();
      const chk = outcome.lastCheckpoint;
      say(`job '${job.jobName}' ${outcome.state.toLowerCase()}${chk ? `; last ${chk.kind} ${chk.id} at ${chk.path}` : ''}`);
    }
    if (flags.showResult) await showResults(job);
    return 0;
  } finally {
    status?.stop();
    // The control socket could not be opened: the job must not keep running unreachable.
    if (control === undefined) await running.cancel();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await control?.close();
  }
}

/** The job's sink tables as `table (connector)`, for warnings about what they may receive twice. */
function sinkTables(job: JobFile): string[] {
  const names = [...new Set(job.inserts.map((i) => i.target[i.target.length - 1]))];
  return names.map((name) => {
    const table = job.catalog.getTable(name);
    return table ? `${table.name} (${table.options.connector})` : name;
  });
}

async function showResults(job: JobFile): Promise<void> {
  const targets = new Set(job.inserts.map((i) => i.target[i.target.length - 1]));
  for (const name of targets) {
    const table = job.catalog.getTable(name);
    if (!table) continue;
    const factory = lookupConnector(table.options.connector, table.name, table.pos);
    if (!factory.preview) continue;
    const { columns, rows, total } = await factory.preview(table, 20);
    process.stdout.write(`\n${table.name} (${total} rows${total > rows.length ? `, first ${rows.length} shown` : ''}):\n`);
    process.stdout.write(`${formatTable(columns, rows)}\n`);
  }
}
