import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type CompletedCheckpoint, CheckpointCoordinator } from '../checkpoint/coordinator.js';
import type { CheckpointMetadata } from '../checkpoint/metadata.js';
import { loadRestorePlan } from '../checkpoint/restore.js';
import { jobDir, LOCAL_STATE_DIR, validateSavepointName } from '../checkpoint/layout.js';
import { maxUsedCheckpointId } from '../checkpoint/checkpoint-list.js';
import { readMetadata } from '../checkpoint/metadata-files.js';
import { resolveRestore } from '../checkpoint/resolve-restore.js';
import { externalError, internalError, isWeirError, userError } from '../errors.js';
import type { Logger } from '../log.js';
import { Execution, validateGraph } from './execution.js';
import type { JobGraph } from '../runtime/job-graph.js';
import { RestartPolicy } from './restart-strategy.js';
import { JobCounters } from '../runtime/task-common.js';
import { type Deferred, deferred } from '../util/deferred.js';
import { type JobOptions, validateJobOptions } from './job-options.js';
import { type JobState, isAllowedTransition, isTerminalState } from './job-state.js';
import { type JobStatus, type RestartInfo, jobStatus, oneLine } from './job-status.js';

export type { CompletedCheckpoint } from '../checkpoint/coordinator.js';

export interface JobOutcome {
  state: 'FINISHED' | 'STOPPED' | 'CANCELED';
  lastCheckpoint?: CompletedCheckpoint;
}

export interface RunningJob {
  /** Resolves when the job finished, stopped or was canceled; rejects with the error that failed it. */
  readonly done: Promise<JobOutcome>;
  status(): JobStatus;
  triggerSavepoint(name?: string): Promise<CompletedCheckpoint>;
  /** Final checkpoint (a savepoint when asked), then ends the job as a bounded one ends. */
  stop(opts: { savepoint: boolean }): Promise<JobOutcome>;
  /** Stops everything at once without committing. */
  cancel(): Promise<void>;
}

/** Runs `graph` in this process. Restore validation errors surface by rejecting `done`. */
export function startJob(graph: JobGraph, options: JobOptions): RunningJob {
  return new Job(graph, options);
}

interface RestorePoint {
  readonly path: string;
  readonly metadata: CheckpointMetadata;
}

type Finishing = { readonly kind: 'bounded' } | { readonly kind: 'stop' };

class Job implements RunningJob {
  readonly done: Promise<JobOutcome>;
  private state: JobState = 'INITIALIZING';
  private readonly startedAt = Date.now();
  private readonly counters = new JobCounters();
  private restarts = 0;
  private restartInfo: RestartInfo | undefined;
  private attempt = 0;
  private coordinator: CheckpointCoordinator | undefined;
  private execution: Execution | undefined;
  /** Settles the current attempt: 'finished' (all tasks ended), 'canceled', or rejects on failure. */
  private control: Deferred<'finished' | 'canceled'> | undefined;
  private finishing: Finishing | undefined;
  /** Every source subtask of the current attempt reached its end. */
  private sourcesDone = false;
  private canceled = false;
  private readonly cancelSignal = deferred<void>();
  /** Settles the backoff wait of a restart early (a stop). */
  private restartWait: Deferred<void> | undefined;
  private stopWhileRestarting = false;
  private runningWaiters: Deferred<void>[] = [];
  /** The current execution's tasks are open and the coordinator drives them. */
  private coordinatorAttached = false;
  private readonly log: Logger;

  constructor(
    private readonly graph: JobGraph,
    private readonly options: JobOptions,
  ) {
    this.log = options.log.child({ job: graph.jobName });
    this.done = this.main();
    this.done.catch(() => undefined);
  }

  status(): JobStatus {
    return jobStatus({
      state: this.state,
      startedAt: this.startedAt,
      counters: this.counters,
      restarts: this.restarts,
      restartInfo: this.restartInfo,
      coordinator: this.coordinator,
    });
  }

  async triggerSavepoint(name?: string): Promise<CompletedCheckpoint> {
    if (name !== undefined) validateSavepointName(name);
    await this.whenRunning();
    if (this.finishing !== undefined) throw userError('JOB_FINISHING', 'the job is finishing; no savepoint can be taken');
    return this.coordinator!.trigger({ savepoint: name === undefined ? {} : { name } });
  }

  async stop(opts: { savepoint: boolean }): Promise<JobOutcome> {
    if (!opts.savepoint && this.state === 'RESTARTING') {
      // While restarting (an outage may last long) there is nothing to checkpoint: the restart
      // loop ends the job at its latest checkpoint instead of waiting for the next attempt to run.
      this.stopWhileRestarting = true;
      this.restartWait?.resolve();
    }
    try {
      await this.whenRunning();
    } catch (e) {
      if (this.state === 'STOPPED') return this.done;
      throw e;
    }
    if (this.finishing === undefined) {
      this.finishing = { kind: 'stop' };
      await this.finish(opts.savepoint);
    }
    return this.done;
  }

  async cancel(): Promise<void> {
    if (this.isTerminal()) return;
    this.canceled = true;
    this.cancelSignal.resolve();
    this.control?.resolve('canceled');
    await this.done.catch(() => undefined);
  }

  private isTerminal(): boolean {
    return isTerminalState(this.state);
  }

  private transition(to: JobState): void {
    if (this.state === to) return;
    if (!isAllowedTransition(this.state, to)) throw internalError(`job state ${this.state} -> ${to} is not allowed`);
    this.log.debug({ from: this.state, to }, 'job state');
    this.state = to;
    // the attempt came up: a pending stop takes its final checkpoint as usual
    if (to === 'RUNNING') this.stopWhileRestarting = false;
    if (this.isTerminal()) {
      const err = userError('JOB_NOT_RUNNING', `the job is ${to.toLowerCase()}`);
      for (const w of this.runningWaiters) w.reject(err);
      this.runningWaiters = [];
    }
  }

  /** Resolves when checkpoints can be taken (every task open); rejects once the job is over. */
  private whenRunning(): Promise<void> {
    if (this.isTerminal()) return Promise.reject(userError('JOB_NOT_RUNNING', `the job is ${this.state.toLowerCase()}`));
    if ((this.state === 'RUNNING' || this.state === 'FINISHING') && this.execution !== undefined && this.coordinatorAttached) {
      return Promise.resolve();
    }
    const d = deferred<void>();
    this.runningWaiters.push(d);
    return d.promise;
  }

  private async main(): Promise<JobOutcome> {
    try {
      const outcome = await this.run();
      this.transition(outcome.state);
      return outcome;
    } catch (e) {
      if (!this.isTerminal()) this.transition('FAILED');
      throw e;
    } finally {
      await this.coordinator?.close(userError('JOB_NOT_RUNNING', 'the job is over'));
    }
  }

  private async run(): Promise<JobOutcome> {
    validateGraph(this.graph);
    validateJobOptions(this.options);
    const { checkpointDir, checkpointing } = this.options;
    const jobName = this.graph.jobName;
    let restorePoint: RestorePoint | undefined;
    if (this.options.restore !== undefined) {
      const r = await resolveRestore(checkpointDir, jobName, this.options.restore.path, { verify: false });
      if (r === undefined) {
        this.log.warn({ checkpointDir }, `no checkpoint of job ${jobName} to restore from; starting fresh`);
      } else {
        for (const w of r.warnings) this.log.warn(w);
        restorePoint = { path: r.path, metadata: r.metadata };
      }
    }
    const folder = jobDir(checkpointDir, jobName);
    await mkdir(folder, { recursive: true }).catch((e: unknown) => {
      throw externalError('CHECKPOINT_DIR', `cannot create the checkpoint folder ${folder}: ${(e as Error).message}`, { retriable: false, cause: e });
    });
    const firstId = Math.max(await maxUsedCheckpointId(checkpointDir, jobName), restorePoint?.metadata.checkpointId ?? 0) + 1;
    this.coordinator = new CheckpointCoordinator({
      checkpointDir,
      jobName,
      fingerprint: this.graph.fingerprint,
      intervalMs: checkpointing.intervalMs,
      timeoutMs: checkpointing.timeoutMs,
      minPauseMs: checkpointing.minPauseMs,
      numRetained: checkpointing.numRetained,
      incremental: checkpointing.incremental === true,
      firstId,
      log: this.log,
      onCompleted: this.options.onCheckpointCompleted,
    });
    const policy = new RestartPolicy(this.options.restartStrategy);
    let completedAtLastFailure = 0;
    for (;;) {
      if (this.canceled) return { state: 'CANCELED', ...this.lastCheckpointField() };
      try {
        return await this.runAttempt(restorePoint);
      } catch (e) {
        if (this.canceled) return { state: 'CANCELED', ...this.lastCheckpointField() };
        if (this.stopWhileRestarting) return this.stoppedWhileRestarting();
        const progressed = this.coordinator.completedCount > completedAtLastFailure;
        completedAtLastFailure = this.coordinator.completedCount;
        const decision = policy.onFailure(e, Date.now(), progressed);
        if (!decision.restart) {
          if (this.restarts > 0 || policy.strategy.type !== 'none')
            this.log.info({ err: e, restarts: this.restarts, reason: decision.reason }, 'job failed; not restarting');
          throw e;
        }
        this.restarts++;
        const cause = oneLine(e);
        this.restartInfo = { attempt: this.restarts, at: Date.now() + decision.delayMs, cause };
        this.log.warn(
          { err: e, restart: this.restarts, strategy: policy.strategy.type, delayMs: decision.delayMs },
          'job failed; restarting from the latest checkpoint',
        );
        this.transition('RESTARTING');
        this.restartWait = deferred<void>();
        if (this.stopWhileRestarting) this.restartWait.resolve();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((r) => (timer = setTimeout(r, decision.delayMs))), this.cancelSignal.promise, this.restartWait.promise]);
        clearTimeout(timer);
        this.restartWait = undefined;
        if (this.canceled) return { state: 'CANCELED', ...this.lastCheckpointField() };
        if (this.stopWhileRestarting) return this.stoppedWhileRestarting();
        this.restartInfo = { attempt: this.restarts, cause };
        const latest = this.coordinator.latest;
        if (latest !== undefined) restorePoint = { path: latest.path, metadata: await readMetadata(latest.path) };
      }
    }
  }

  private stoppedWhileRestarting(): JobOutcome {
    const cp = this.coordinator?.latest;
    this.log.warn(
      { checkpoint: cp?.path },
      cp
        ? `stopped while restarting: no final checkpoint; --from-checkpoint latest resumes from checkpoint ${cp.id}`
        : 'stopped while restarting, before any checkpoint completed',
    );
    return { state: 'STOPPED', ...this.lastCheckpointField() };
  }

  private isStopping(): boolean {
    return this.finishing?.kind === 'stop';
  }

  private lastCheckpointField(): { lastCheckpoint?: CompletedCheckpoint } {
    const cp = this.coordinator?.latest;
    return cp ? { lastCheckpoint: cp } : {};
  }

  private async runAttempt(restorePoint: RestorePoint | undefined): Promise<JobOutcome> {
    const coordinator = this.coordinator!;
    const attempt = ++this.attempt;
    const control = deferred<'finished' | 'canceled'>();
    this.control = control;
    this.finishing = undefined;
    this.sourcesDone = false;
    this.coordinatorAttached = false;
    let execution: Execution | undefined;
    try {
      const plan =
        restorePoint === undefined
          ? undefined
          : await loadRestorePlan(restorePoint.path, restorePoint.metadata, this.graph, this.options.restore?.allowNonRestoredState ?? false, this.log);
      if (plan !== undefined) this.log.info({ checkpoint: plan.path, id: plan.checkpointId }, 'restoring');
      execution = await Execution.create({
        graph: this.graph,
        attempt,
        exactlyOnce: this.options.checkpointing.mode === 'EXACTLY_ONCE',
        restore: plan,
        firstCheckpointId: coordinator.peekNextId,
        log: this.log,
        counters: this.counters,
        retainedCheckpoints: this.options.checkpointing.numRetained,
        stateBackend: this.options.stateBackend ?? 'hashmap',
        stateLocalDir: join(this.options.stateLocalDir ?? join(this.options.checkpointDir, LOCAL_STATE_DIR), this.graph.jobName),
        incrementalCheckpoints: this.options.checkpointing.incremental === true,
        hooks: {
          acknowledge: (a, uid, subtask, id, ack) => coordinator.acknowledge(a, uid, subtask, id, ack),
          fail: (e, task) => {
            if (this.control !== control || control.settled) return;
            // A user error (bad input line, invalid option) reaches the user as one line through
            // `done`; logging it at error level would print its stack trace on stderr too.
            if (isWeirError(e) && e.domain === 'user') this.log.info({ err: e, task }, 'task failed');
            else this.log.error({ err: e, task }, 'task failed');
            control.reject(e);
          },
          sourcesFinished: () => {
            if (this.control !== control) return;
            this.sourcesDone = true;
            if (this.finishing !== undefined) return;
            this.finishing = { kind: 'bounded' };
            this.finish(false).catch(() => undefined);
          },
        },
      });
      this.execution = execution;
      if (this.canceled) control.resolve('canceled');
      const exec = execution;
      exec.run().then(() => {
        if (this.control === control && !control.settled) control.resolve('finished');
      });
      void exec.ready.then(() => {
        if (this.control !== control || control.settled) return;
        try {
          this.coordinatorAttached = true;
          coordinator.setPeriodic(this.finishing === undefined);
          coordinator.attach(exec);
          if (this.finishing === undefined) this.transition('RUNNING');
        } catch (e) {
          control.reject(e);
          return;
        }
        const waiters = this.runningWaiters;
        this.runningWaiters = [];
        for (const w of waiters) w.resolve();
      });
      const how = await control.promise;
      if (how === 'canceled') {
        await coordinator.detach(userError('JOB_CANCELED', 'the job was canceled'));
        await exec.cancel();
        return { state: 'CANCELED', ...this.lastCheckpointField() };
      }
      return { state: this.isStopping() ? 'STOPPED' : 'FINISHED', ...this.lastCheckpointField() };
    } catch (e) {
      if (!control.settled) control.reject(e);
      await coordinator.detach(e);
      await execution?.cancel();
      throw e;
    } finally {
      this.coordinatorAttached = false;
    }
  }

  /** Takes the final checkpoint, then lets the sources end (FLIP-147 style job end). */
  private async finish(savepoint: boolean): Promise<void> {
    const control = this.control;
    const exec = this.execution!;
    const coordinator = this.coordinator!;
    this.transition('FINISHING');
    coordinator.setPeriodic(false);
    for (;;) {
      try {
        await coordinator.trigger({ final: true, ...(savepoint ? { savepoint: {} } : {}) });
        if (this.control !== control || control?.settled) return;
        exec.endSources();
        return;
      } catch (e) {
        if (this.control !== control || control?.settled || this.canceled) throw e;
        if (this.finishing?.kind === 'stop') {
          this.log.warn({ err: e }, 'the final checkpoint of the stop failed; the job keeps running');
          this.finishing = undefined;
          exec.resumeSources();
          coordinator.setPeriodic(true);
          this.transition('RUNNING');
          if (this.sourcesDone) {
            // the input ended meanwhile: end the job as a bounded one
            this.finishing = { kind: 'bounded' };
            this.finish(false).catch(() => undefined);
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.max(this.options.checkpointing.minPauseMs, 10)));
      }
    }
  }
}
