import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveRestore } from '../checkpoint/storage.js';
import { lookupConnector } from '../connector/registry.js';
import { userError } from '../errors.js';
import { createLogger } from '../log.js';
import { planJob } from '../plan/physical.js';
import { startJob, type JobOptions, type RunningJob } from '../runtime/job.js';
import { startControlServer, type ControlRequest } from './control-socket.js';
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
function assertNotRunning(jobDir: string, jobName: string): void {
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
    if ((e as NodeJS.ErrnoException).code === 'EPERM') throw e;
    if (e instanceof Error && 'domain' in e) throw e;
  }
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** `weir run JOB.sql`: plans the job, restores it if asked, runs it until it ends or is stopped. */
export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  const job = await loadJobFile(file, flags.set ?? []);
  const log = createLogger();
  for (const w of job.warnings) say(`warning: ${w}`);
  const checkpointDir = checkpointDirOf(flags.checkpointDir, job);
  const jobDir = join(checkpointDir, job.jobName);
  const graph = planJob(job.inserts, job.catalog, { jobName: job.jobName, parallelism: job.config.parallelism });
  assertNotRunning(jobDir, job.jobName);

  const restoreSpec = flags.fromCheckpoint ?? job.config.savepointPath;
  let restore: JobOptions['restore'];
  if (restoreSpec !== undefined) {
    const found = await resolveRestore(checkpointDir, job.jobName, restoreSpec);
    if (found) {
      for (const w of found.warnings) say(`warning: ${w}`);
      if (!flags.quiet) say(`restoring job '${job.jobName}' from ${found.path}`);
      restore = { path: found.path, allowNonRestoredState: Boolean(flags.allowNonRestoredState) || job.config.allowNonRestoredState };
    } else if (!flags.quiet) {
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
    },
    restartStrategy: job.config.restartStrategy,
    restore,
    log,
  });
  const control = await startControlServer(jobDir, (req) => handleControl(running, req));
  const status = new StatusLine(job.jobName, () => running.status());
  if (!flags.quiet) status.start();

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      if (!flags.quiet) say(`\n${sig}: stopping job '${job.jobName}'${flags.savepointOnStop ? ' with a savepoint' : ''}...`);
      running.stop({ savepoint: Boolean(flags.savepointOnStop) }).catch(() => undefined);
    } else {
      say(`${sig} again: cancelling without a final checkpoint`);
      void running.cancel();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
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
    status.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await control.close();
  }
}

async function handleControl(running: RunningJob, req: ControlRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'savepoint':
      return running.triggerSavepoint(req.name);
    case 'stop':
      return running.stop({ savepoint: req.savepoint });
    case 'status':
      return running.status();
  }
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
    process.stdout.write(formatTable(columns, rows) + '\n');
  }
}
