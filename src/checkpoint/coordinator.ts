import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { externalError, userError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SplitPosition } from '../runtime/source.js';
import type { CheckpointAck } from '../runtime/checkpoint-ack.js';
import type { Barrier } from '../runtime/stream-element.js';
import type { StateSection, SubtaskStateEntry } from './metadata.js';
import { applyRetention, sweepSharedFiles } from './retention.js';
import { checkpointFolder, defaultSavepointName, savepointFolder, sharedFolder, validateSavepointName } from './layout.js';
import { createFolderDurable, fsyncDir, moveFileDurable, removeFolder, writeFileDurable } from './durable-files.js';
import { chainOf } from './state-sections.js';
import { subtaskState } from './subtask-state.js';
import { buildMetadata } from './metadata-build.js';
import { type Deferred, deferred } from '../util/deferred.js';
import { writeMetadataAtomic } from './metadata-files.js';

export interface ParticipantVertex {
  readonly uid: string;
  readonly name: string;
  readonly kind: 'source' | 'operator';
  readonly parallelism: number;
}

/** The running tasks of one execution attempt, as the coordinator drives them. */
export interface CheckpointParticipants {
  /** Acks carry the attempt; acks of an earlier attempt are ignored. */
  readonly attempt: number;
  readonly vertices: readonly ParticipantVertex[];
  /** Asks every source subtask to emit the barrier between two batches. */
  injectBarrier(barrier: Barrier): void;
  /** Runs notifyCheckpointComplete in every task; resolves once all ran. */
  notifyComplete(checkpointId: number): Promise<void>;
  notifyAborted(checkpointId: number): Promise<void>;
}

export interface CompletedCheckpoint {
  readonly id: number;
  readonly kind: 'checkpoint' | 'savepoint';
  readonly path: string;
  readonly durationMs: number;
  /** The state's full size (what a restore reads). */
  readonly sizeBytes: number;
  /** Bytes this checkpoint wrote (smaller than sizeBytes when incremental). */
  readonly addedBytes: number;
  /**
   * The longest any operator subtask's processing was blocked taking its snapshot (ms): the part
   * of a checkpoint that stops the data, the rest runs beside it.
   */
  readonly maxSyncMs: number;
  readonly completedAt: number;
  readonly final: boolean;
}

export interface CoordinatorOptions {
  readonly checkpointDir: string;
  readonly jobName: string;
  readonly fingerprint: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly minPauseMs: number;
  readonly numRetained: number;
  /**
   * execution.checkpointing.incremental: checkpoints keep keyed state in the job's shared folder,
   * and a subtask's incremental snapshot is chained after the sections of the last completed one.
   */
  readonly incremental?: boolean;
  /** The first id to use (after the restored one and every id the job folder has used). */
  readonly firstId: number;
  readonly log: Logger;
  onCompleted?(checkpoint: CompletedCheckpoint): void;
  onFailed?(checkpointId: number, reason: string): void;
}

export interface TriggerOptions {
  /** Makes it a savepoint, written under savepoints/<name>/ (default `savepoint-<id>-<time>`). */
  readonly savepoint?: { readonly name?: string };
  readonly final?: boolean;
}

interface Request {
  readonly options: TriggerOptions;
  readonly result: Deferred<CompletedCheckpoint>;
}

interface Pending {
  readonly id: number;
  readonly barrier: Barrier;
  readonly participants: CheckpointParticipants;
  readonly folder: string;
  /** False until the folder was created by this checkpoint (an existing savepoint is never removed). */
  ownsFolder: boolean;
  readonly triggeredAt: number;
  readonly result: Deferred<CompletedCheckpoint>;
  readonly acked: Set<string>;
  readonly operators: Map<string, SubtaskStateEntry[]>;
  readonly sources: Map<string, { subtask: number; positions: readonly SplitPosition[] }[]>;
  readonly writes: Promise<void>[];
  remaining: number;
  stateSize: number;
  addedSize: number;
  /** State files were written to the shared folder (its entries must be made durable). */
  wroteShared: boolean;
  maxSyncMs: number;
  writeError: unknown;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  /** The metadata write began: from here on the checkpoint cannot be aborted by the timeout. */
  committing: boolean;
  /** Resolves once the checkpoint completed or was aborted. */
  readonly settledPromise: Deferred<void>;
}

/**
 * Triggers checkpoints (periodically and on request), collects every subtask's acknowledgement,
 * writes state files asynchronously while the tasks keep processing, and commits a checkpoint by
 * writing its `_metadata` atomically once every ack is in and every write is durable. Only then
 * are the tasks notified (sinks commit). At most one checkpoint is in flight; requests queue.
 *
 * Lifecycle of a checkpoint: triggered -> (all acks, writes durable) -> committing -> completed,
 * or triggered -> aborted (timeout, write failure, execution failure); an aborted checkpoint's
 * folder is deleted and the tasks are told (notifyCheckpointAborted).
 */
export class CheckpointCoordinator {
  private nextId: number;
  private participants: CheckpointParticipants | undefined;
  private inFlight: Pending | undefined;
  private queue: Request[] = [];
  private periodicEnabled = true;
  private periodicTimer: NodeJS.Timeout | undefined;
  private lastTriggerAt = Date.now();
  private lastEndAt = 0;
  private closed = false;
  latest: CompletedCheckpoint | undefined;
  /** The last completed checkpoint's subtask entries (by uid and subtask): incremental snapshots chain onto them. */
  private chains: { readonly id: number; readonly entries: Map<string, SubtaskStateEntry> } | undefined;
  completedCount = 0;
  failedCount = 0;

  constructor(private readonly options: CoordinatorOptions) {
    this.nextId = options.firstId;
  }

  /** The id the next checkpoint will get. */
  get peekNextId(): number {
    return this.nextId;
  }

  /** The execution's tasks are all open: checkpoints may start. */
  attach(participants: CheckpointParticipants): void {
    this.participants = participants;
    this.lastTriggerAt = Date.now();
    this.pump();
    this.schedule();
  }

  /**
   * The execution failed or was canceled: abort the checkpoint in flight (its tasks are gone, so
   * nobody is notified) and fail the queued requests with `reason`. A checkpoint already writing
   * its metadata cannot be taken back: the returned promise waits for it, so that a restart
   * restores from it (its pre-committed transactions must be committed, not aborted).
   */
  async detach(reason: unknown): Promise<void> {
    this.participants = undefined;
    const p = this.inFlight;
    const queued = this.queue;
    this.queue = [];
    for (const r of queued) r.result.reject(reason);
    if (p === undefined) return;
    this.abort(p, 'the job failed or was canceled', false);
    await p.settledPromise.promise;
  }

  setPeriodic(enabled: boolean): void {
    this.periodicEnabled = enabled;
    this.schedule();
  }

  /** Queues a checkpoint; resolves once it completed and every task was notified. */
  trigger(options: TriggerOptions = {}): Promise<CompletedCheckpoint> {
    const result = deferred<CompletedCheckpoint>();
    if (this.closed) {
      result.reject(userError('JOB_NOT_RUNNING', 'the job is not running'));
      return result.promise;
    }
    this.queue.push({ options, result });
    this.pump();
    return result.promise;
  }

  acknowledge(attempt: number, uid: string, subtask: number, checkpointId: number, ack: CheckpointAck): void {
    const p = this.inFlight;
    const key = `${uid}\u0000${subtask}`;
    if (p === undefined || p.id !== checkpointId || p.participants.attempt !== attempt || p.settled || p.acked.has(key)) {
      discardSpool(ack);
      return;
    }
    p.acked.add(key);
    if (ack.kind === 'source') {
      let list = p.sources.get(uid);
      if (list === undefined) p.sources.set(uid, (list = []));
      list.push({ subtask, positions: ack.positions });
    } else {
      if (ack.syncMs !== undefined && ack.syncMs > p.maxSyncMs) p.maxSyncMs = ack.syncMs;
      const shared = this.options.incremental === true && p.barrier.savepoint === undefined && ack.keyed !== undefined;
      let chain: StateSection[] = [];
      if (ack.keyed?.incremental === true) {
        const base = this.chains;
        if (!shared || base === undefined || base.id !== ack.base) {
          const last = base?.id ?? 'none';
          this.abort(p, `${uid} subtask ${subtask} sent changes since checkpoint ${ack.base ?? '-'}, not since the last completed one (${last})`, true);
          discardSpool(ack);
          return;
        }
        const before = base.entries.get(key);
        chain = before === undefined ? [] : chainOf(before);
      }
      const { entry, content, spool, fullBytes } = subtaskState(p.id, uid, subtask, ack.result, ack.keyed, shared, chain);
      if (content !== undefined) {
        p.stateSize += fullBytes;
        p.addedSize += entry.bytes;
        p.wroteShared ||= shared;
        const path = join(p.folder, entry.stateFile!);
        p.writes.push(
          (spool !== undefined ? moveFileDurable(spool, path, content as readonly Uint8Array[]) : writeFileDurable(path, content)).catch((e: unknown) => {
            p.writeError ??= e;
          }),
        );
      }
      let list = p.operators.get(uid);
      if (list === undefined) p.operators.set(uid, (list = []));
      list.push(entry);
    }
    if (--p.remaining === 0) {
      this.commit(p).catch((e: unknown) => {
        p.committing = false;
        this.abort(p, (e as Error).message, true);
      });
    }
  }

  /** Stops timers, aborts what is in flight and fails queued requests. */
  close(reason: unknown): Promise<void> {
    this.closed = true;
    clearTimeout(this.periodicTimer);
    return this.detach(reason);
  }

  private pump(): void {
    if (this.closed || this.inFlight !== undefined || this.participants === undefined) return;
    const next = this.queue.shift();
    if (next !== undefined) void this.start(next);
  }

  private schedule(): void {
    clearTimeout(this.periodicTimer);
    this.periodicTimer = undefined;
    const interval = this.options.intervalMs;
    if (!this.periodicEnabled || interval <= 0 || this.closed) return;
    const now = Date.now();
    const due = Math.max(this.lastTriggerAt + interval, this.lastEndAt + this.options.minPauseMs, now);
    this.periodicTimer = setTimeout(() => this.onPeriodic(), due - now);
  }

  private onPeriodic(): void {
    this.periodicTimer = undefined;
    if (this.inFlight !== undefined || this.queue.length > 0) return; // rescheduled when it ends
    if (this.participants === undefined) {
      this.lastTriggerAt = Date.now();
      this.schedule();
      return;
    }
    void this.start({ options: {}, result: deferred() });
  }

  private async start(request: Request): Promise<void> {
    // Everything up to `this.inFlight = p` is synchronous: a periodic trigger must not slip in.
    const participants = this.participants!;
    const id = this.nextId++;
    const { final } = request.options;
    const savepointName = request.options.savepoint ? (request.options.savepoint.name ?? defaultSavepointName(id)) : undefined;
    let folder: string;
    try {
      if (savepointName !== undefined) validateSavepointName(savepointName);
    } catch (e) {
      request.result.reject(e);
      this.pump();
      return;
    }
    if (savepointName !== undefined) folder = savepointFolder(this.options.checkpointDir, this.options.jobName, savepointName);
    else folder = checkpointFolder(this.options.checkpointDir, this.options.jobName, id);
    const barrier: Barrier = {
      checkpointId: id,
      ...(savepointName !== undefined ? { savepoint: { name: savepointName } } : {}),
      ...(final ? { final: true } : {}),
    };
    const expected = participants.vertices.reduce((n, v) => n + v.parallelism, 0);
    const p: Pending = {
      id,
      barrier,
      participants,
      folder,
      ownsFolder: false,
      triggeredAt: Date.now(),
      result: request.result,
      acked: new Set(),
      operators: new Map(),
      sources: new Map(),
      writes: [],
      remaining: expected,
      stateSize: 0,
      addedSize: 0,
      wroteShared: false,
      maxSyncMs: 0,
      writeError: undefined,
      timer: undefined,
      settled: false,
      committing: false,
      settledPromise: deferred<void>(),
    };
    this.inFlight = p;
    this.lastTriggerAt = p.triggeredAt;
    clearTimeout(this.periodicTimer);
    p.timer = setTimeout(() => this.abort(p, `timed out after ${this.options.timeoutMs} ms`, true), this.options.timeoutMs);
    try {
      if (
        savepointName !== undefined &&
        (await stat(folder).then(
          () => true,
          () => false,
        ))
      ) {
        this.abort(p, 'savepoint exists', false, userError('SAVEPOINT_EXISTS', `savepoint ${folder} already exists; choose another name`));
        return;
      }
      p.ownsFolder = true;
      await createFolderDurable(folder);
      if (this.options.incremental === true && savepointName === undefined) {
        await createFolderDurable(sharedFolder(this.options.checkpointDir, this.options.jobName));
      }
    } catch (e) {
      this.abort(p, (e as Error).message, true);
      return;
    }
    if (p.settled) {
      // aborted while the folder was being created: the abort's cleanup may have run before it existed
      await removeFolder(folder).catch(() => undefined);
      return;
    }
    this.options.log.debug({ checkpointId: id, savepoint: savepointName, final }, 'checkpoint triggered');
    participants.injectBarrier(barrier);
  }

  private async commit(p: Pending): Promise<void> {
    await Promise.all(p.writes);
    if (p.settled) return;
    if (p.writeError === undefined && p.wroteShared) {
      await fsyncDir(sharedFolder(this.options.checkpointDir, this.options.jobName)).catch((e: unknown) => {
        p.writeError ??= e;
      });
      if (p.settled) return;
    }
    if (p.writeError !== undefined) {
      this.abort(p, (p.writeError as Error).message, true);
      return;
    }
    p.committing = true;
    clearTimeout(p.timer);
    const completedAt = Date.now();
    const metadata = buildMetadata({ ...p, jobName: this.options.jobName, fingerprint: this.options.fingerprint, completedAt });
    try {
      await writeMetadataAtomic(p.folder, metadata);
    } catch (e) {
      p.committing = false;
      this.abort(p, (e as Error).message, true);
      return;
    }
    p.settled = true;
    p.settledPromise.resolve();
    this.inFlight = undefined;
    this.lastEndAt = Date.now();
    const checkpoint: CompletedCheckpoint = {
      id: p.id,
      kind: p.barrier.savepoint ? 'savepoint' : 'checkpoint',
      path: p.folder,
      durationMs: completedAt - p.triggeredAt,
      sizeBytes: p.stateSize,
      addedBytes: p.addedSize,
      maxSyncMs: p.maxSyncMs,
      completedAt,
      final: p.barrier.final === true,
    };
    this.latest = checkpoint;
    this.completedCount++;
    if (checkpoint.kind === 'checkpoint' && this.options.incremental === true) {
      const entries = new Map<string, SubtaskStateEntry>();
      for (const [uid, op] of Object.entries(metadata.operators)) for (const st of op.subtasks) entries.set(`${uid}\u0000${st.subtask}`, st);
      this.chains = { id: p.id, entries };
    }
    this.options.log.info(
      {
        checkpointId: p.id,
        kind: checkpoint.kind,
        durationMs: checkpoint.durationMs,
        sizeBytes: checkpoint.sizeBytes,
        addedBytes: checkpoint.addedBytes,
        maxSyncMs: Math.round(p.maxSyncMs),
      },
      'checkpoint completed',
    );
    this.options.onCompleted?.(checkpoint);
    const { checkpointDir, jobName, numRetained } = this.options;
    const retention =
      checkpoint.kind === 'checkpoint'
        ? applyRetention(checkpointDir, jobName, numRetained)
            .then(() => sweepSharedFiles(checkpointDir, jobName, p.id))
            .catch((e: unknown) => this.options.log.warn({ err: e }, 'checkpoint retention failed'))
        : undefined;
    const notified = this.participants === p.participants ? p.participants.notifyComplete(p.id) : undefined;
    this.pump();
    this.schedule();
    await Promise.all([retention, notified]);
    p.result.resolve(checkpoint);
  }

  private abort(p: Pending, reason: string, notify: boolean, error?: unknown): void {
    if (p.settled || p.committing) return;
    p.settled = true;
    p.settledPromise.resolve();
    clearTimeout(p.timer);
    if (this.inFlight === p) this.inFlight = undefined;
    this.lastEndAt = Date.now();
    this.failedCount++;
    this.options.log.warn({ checkpointId: p.id, reason }, 'checkpoint aborted');
    this.options.onFailed?.(p.id, reason);
    if (notify && this.participants === p.participants) void p.participants.notifyAborted(p.id);
    if (p.ownsFolder) {
      void Promise.all(p.writes)
        .then(() => removeFolder(p.folder))
        .catch(() => undefined);
    }
    p.result.reject(error ?? externalError('CHECKPOINT_ABORTED', `checkpoint ${p.id} was aborted: ${reason}`, { retriable: true }));
    this.pump();
    this.schedule();
  }
}

/** Deletes the local file of an ack's spooled snapshot that no checkpoint takes over. */
function discardSpool(ack: CheckpointAck): void {
  const path = ack.kind === 'operator' ? ack.keyed?.spooled?.path : undefined;
  if (path !== undefined) void rm(path, { force: true }).catch(() => undefined);
}
