/**
 * The background jobs of a `weir sql` session (INSERT INTO and EXECUTE STATEMENT SET), run in this
 * process. Each gets a Flink-style job id (32 hex digits), a name (`pipeline.name` or
 * `insert-into_<table>`) that names its checkpoint folder, and a control socket, so `weir stop` /
 * `weir savepoint` from another terminal reach it as they reach a `weir run` job.
 */
import { planOptions } from '../../config/job-config.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { resolveRestore } from '../../checkpoint/resolve-restore.js';
import type { JobConfig } from '../../config/job-config.js';
import { isWeirError, userError, type SqlPosition } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Catalog } from '../../plan/catalog.js';
import { planJob } from '../../plan/physical.js';
import { startJob, type JobOutcome, type RunningJob } from '../../job/job.js';
import type { JobOptions } from '../../job/job-options.js';
import type { InsertStatement } from '../../sql/ir.js';
import { handleControl, startControlServer, type ControlServer } from '../control-socket.js';
import { assertNotRunning, unmappedState } from '../run-command.js';

export interface ShellJob {
  readonly id: string;
  readonly name: string;
  readonly checkpointDir: string;
  readonly running: RunningJob;
  readonly startedAt: number;
  endedAt?: number;
  outcome?: JobOutcome;
  /** Why the job failed. */
  error?: string;
  /** Set by STOP JOB and when the shell quits: the end is not announced as a surprise. */
  stopping: boolean;
}

export interface SubmitRequest {
  readonly inserts: readonly InsertStatement[];
  readonly catalog: Catalog;
  readonly config: JobConfig;
  readonly checkpointDir: string;
  /** [INFO] lines about the restore. */
  readonly info: (line: string) => void;
}

/** How long a submission waits for the job to start, so restore and connector errors answer the INSERT. */
const START_WAIT_MS = 15_000;

export class JobRegistry {
  private readonly jobs: ShellJob[] = [];

  constructor(
    private readonly log: Logger,
    /** Announces a job that ended by itself (finished or failed). */
    private readonly announce: (line: string, isError: boolean) => void,
  ) {}

  list(): readonly ShellJob[] {
    return this.jobs;
  }

  running(): ShellJob[] {
    return this.jobs.filter((j) => j.endedAt === undefined);
  }

  /** A job by id, unique id prefix (4+ characters) or name (the newest of that name). */
  find(ref: string, pos?: SqlPosition): ShellJob {
    const at = pos ? { position: pos } : {};
    const exact = this.jobs.find((j) => j.id === ref);
    if (exact) return exact;
    const byName = this.jobs.filter((j) => j.name === ref);
    if (byName.length > 0) return byName[byName.length - 1]!;
    const byPrefix = ref.length >= 4 ? this.jobs.filter((j) => j.id.startsWith(ref.toLowerCase())) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw userError('AMBIGUOUS_JOB', `job id prefix '${ref}' matches ${byPrefix.length} jobs; give more of the id`, at);
    const known = this.jobs.map((j) => `${j.id} (${j.name})`);
    throw userError('UNKNOWN_JOB', `no job '${ref}' in this session; jobs: ${known.length > 0 ? known.join(', ') : '(none)'}`, at);
  }

  async submit(req: SubmitRequest): Promise<ShellJob> {
    const { config, checkpointDir } = req;
    const targets = [...new Set(req.inserts.map((i) => i.target[i.target.length - 1]!))];
    const name = config.pipelineName ?? `insert-into_${targets.join('_')}`;
    if (name.trim() === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw userError(
        'INVALID_JOB_NAME',
        `invalid job name '${name}': it names the checkpoint folder, so it cannot be empty, '.', '..' or contain '/' or '\\'`,
      );
    }
    const clash = this.running().find((j) => j.name === name);
    if (clash) {
      throw userError(
        'JOB_ALREADY_RUNNING',
        `job '${name}' is already running in this session (id ${clash.id}); stop it first or SET 'pipeline.name' to another name`,
      );
    }
    const graph = planJob(req.inserts, req.catalog, { jobName: name, ...planOptions(config) });
    const jobDir = join(checkpointDir, name);
    assertNotRunning(jobDir, name);

    let restore: JobOptions['restore'];
    if (config.savepointPath !== undefined) {
      const found = await resolveRestore(checkpointDir, name, config.savepointPath);
      if (found) {
        for (const w of found.warnings) req.info(`[WARNING] ${w}`);
        if (config.allowNonRestoredState) {
          for (const u of unmappedState(found.metadata, graph)) req.info(`[WARNING] skipping the checkpoint state of ${u}: it maps to no operator of this job`);
        }
        req.info(`[INFO] Restoring job '${name}' from ${found.path}`);
        restore = { path: found.path, allowNonRestoredState: config.allowNonRestoredState };
      } else {
        req.info(`[INFO] No completed checkpoint of job '${name}' in ${checkpointDir}; starting fresh`);
      }
    }

    const running = startJob(graph, {
      checkpointDir,
      checkpointing: {
        intervalMs: config.checkpointIntervalMs,
        mode: config.checkpointMode,
        timeoutMs: config.checkpointTimeoutMs,
        minPauseMs: config.checkpointMinPauseMs,
        numRetained: config.numRetained,
        incremental: config.incrementalCheckpoints,
      },
      restartStrategy: config.restartStrategy,
      stateBackend: config.stateBackend,
      ...(config.stateLocalDir === undefined ? {} : { stateLocalDir: config.stateLocalDir }),
      restore,
      log: this.log,
    });
    let control: ControlServer;
    try {
      control = await startControlServer(jobDir, (r) => handleControl(running, r));
    } catch (e) {
      await running.cancel();
      throw e;
    }
    const job: ShellJob = { id: randomBytes(16).toString('hex'), name, checkpointDir, running, startedAt: Date.now(), stopping: false };
    this.jobs.push(job);
    let starting = true;
    const settled = running.done.then(
      (outcome) => {
        job.outcome = outcome;
        job.endedAt = Date.now();
        if (!job.stopping) this.announce(`[INFO] Job '${name}' (${job.id}) ${outcome.state.toLowerCase()}.`, false);
      },
      (err: unknown) => {
        job.endedAt = Date.now();
        job.error = isWeirError(err) ? err.toUserLine() : err instanceof Error ? err.message : String(err);
        if (!job.stopping && !starting) this.announce(`[ERROR] Job '${name}' (${job.id}) failed: ${job.error}`, true);
      },
    );
    void settled.then(() => control.close());
    await this.untilStarted(job);
    starting = false;
    if (job.error !== undefined) {
      job.stopping = true;
      this.jobs.splice(this.jobs.indexOf(job), 1);
      // The submission itself failed (restore mismatch, connector options): the INSERT reports it.
      await running.done;
    }
    return job;
  }

  /** Waits until the job runs (or ended), so errors at start answer the statement that started it. */
  private async untilStarted(job: ShellJob): Promise<void> {
    const deadline = Date.now() + START_WAIT_MS;
    while (job.endedAt === undefined && job.running.status().state === 'INITIALIZING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Let the done handlers run when the job just ended.
    await new Promise((r) => setImmediate(r));
  }

  async stop(job: ShellJob, savepoint: boolean): Promise<JobOutcome> {
    if (job.endedAt !== undefined) {
      throw userError(
        'JOB_NOT_RUNNING',
        `job '${job.name}' (${job.id}) is not running: it ${job.error !== undefined ? 'failed' : (job.outcome?.state.toLowerCase() ?? 'ended')}`,
      );
    }
    job.stopping = true;
    try {
      return await job.running.stop({ savepoint });
    } catch (e) {
      if (job.endedAt === undefined) job.stopping = false;
      throw e;
    }
  }

  /** Stops every running job gracefully (a final checkpoint each). */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.running().map(async (j) => {
        j.stopping = true;
        await j.running.stop({ savepoint: false }).catch(() => j.running.cancel());
      }),
    );
  }

  async cancelAll(): Promise<void> {
    await Promise.all(
      this.running().map((j) => {
        j.stopping = true;
        return j.running.cancel();
      }),
    );
  }

  /** Resolves when every running job has ended by itself. */
  async waitAll(): Promise<void> {
    await Promise.all(this.running().map((j) => j.running.done.catch(() => undefined)));
  }
}
