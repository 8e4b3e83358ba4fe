/**
 * In-process coordination between the subtasks of one exactly-once PostgreSQL sink operator.
 * Subtasks are logical tasks of one Node process, so a shared object can tell when all of them
 * have committed checkpoint n (the last one then moves the staged rows into the target in one
 * transaction) and when all of them have recovered from a checkpoint (the last one then applies
 * what the crash left staged, and every subtask waits for that before writing again).
 *
 * A group is keyed by (server, target, job, operator uid). Counting is by subtask index, never by
 * object, and checkpoint ids never repeat within a process: a writer of an earlier, abandoned
 * attempt of the same job that is still in the group cannot make a later attempt apply early (its
 * arrival for restored checkpoint R means exactly what a new writer's would: that subtask's
 * restored transactions are committed and its newer ones rolled back).
 *
 * Also here: the sink operators of each job that have writers in this process, which tells the
 * prepared transactions of a sink removed from the job (the query changed) from live ones.
 */
import { externalError } from '../../src/errors.js';

interface Recovery {
  readonly subtasks: Set<number>;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function recovery(): Recovery {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections are seen by the waiters; a recovery nobody waits for any more must not crash the process.
  promise.catch(() => undefined);
  return { subtasks: new Set(), promise, resolve, reject };
}

/** How long a subtask waits for the others to recover before failing (retriably). */
export const RECOVERY_WAIT_MS = 120_000;

export class ApplyGroup {
  /** Completed checkpoint -> subtasks that have committed it. */
  private readonly notified = new Map<number, Set<number>>();
  /** Restored checkpoint id -> subtasks that have recovered from it. */
  private readonly recoveries = new Map<number, Recovery>();
  /** Applies run one at a time, in the order they were due. */
  private chain: Promise<unknown> = Promise.resolve();
  private members = 0;

  constructor(
    private readonly key: string,
    readonly parallelism: number,
  ) {}

  join(): void {
    this.members++;
  }

  /**
   * Subtask `subtask` has committed everything up to checkpoint n. The call that completes the
   * set runs `apply` (after any apply still running) and resolves when it is done; the others
   * resolve at once.
   */
  async checkpointComplete(subtask: number, checkpointId: number, apply: () => Promise<void>): Promise<void> {
    let set = this.notified.get(checkpointId);
    if (set === undefined) {
      set = new Set();
      this.notified.set(checkpointId, set);
    }
    set.add(subtask);
    if (set.size < this.parallelism) return;
    for (const id of [...this.notified.keys()]) if (id <= checkpointId) this.notified.delete(id);
    await this.serial(apply);
  }

  /**
   * Subtask `subtask` has recovered from checkpoint `restoredId` (0: a fresh start). Resolves once
   * every subtask has, and the last one's `apply` ran; rejects when `apply` fails, a member leaves
   * without arriving, or `timeoutMs` passes.
   */
  recovered(subtask: number, restoredId: number, apply: () => Promise<void>, timeoutMs = RECOVERY_WAIT_MS): Promise<void> {
    let r = this.recoveries.get(restoredId);
    if (r === undefined) {
      r = recovery();
      this.recoveries.set(restoredId, r);
    }
    r.subtasks.add(subtask);
    if (r.subtasks.size >= this.parallelism) {
      this.recoveries.delete(restoredId);
      const done = r;
      this.serial(apply).then(done.resolve, done.reject);
    }
    const waiting = r;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = Array.from({ length: this.parallelism }, (_, i) => i).filter((i) => !waiting.subtasks.has(i));
        reject(
          externalError(
            'PG_RECOVERY_TIMEOUT',
            `PostgreSQL sink ${this.key}: subtask(s) ${missing.join(', ')} did not recover from checkpoint ${restoredId} within ${timeoutMs} ms`,
            { retriable: true },
          ),
        );
      }, timeoutMs);
      timer.unref();
    });
    return Promise.race([waiting.promise, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * A writer closed. One that never arrived at a recovery (it failed while opening or
   * recovering) fails the recoveries the others wait in, which it would otherwise hold forever.
   */
  leave(subtask: number, arrived: boolean, cause: unknown): void {
    this.members--;
    if (!arrived) {
      for (const [id, r] of this.recoveries) {
        if (r.subtasks.has(subtask)) continue;
        this.recoveries.delete(id);
        r.reject(cause);
      }
    }
    if (this.members <= 0 && groups.get(this.key) === this) groups.delete(this.key);
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

const groups = new Map<string, ApplyGroup>();

/** The group of a sink operator (created, or replaced when the parallelism changed), joined. */
export function joinApplyGroup(key: string, parallelism: number): ApplyGroup {
  let g = groups.get(key);
  if (g === undefined || g.parallelism !== parallelism) {
    g = new ApplyGroup(key, parallelism);
    groups.set(key, g);
  }
  g.join();
  return g;
}

/** job -> operator uid -> writers of it in this process. */
const liveSinks = new Map<string, Map<string, number>>();

/**
 * Records a writer of sink `uid` in job `job`; the returned function removes it. Writers register
 * when they are constructed, which the runtime does for every sink subtask of an execution before
 * any of them opens (SinkOperator.open creates its writer before its first await), so an open
 * writer sees every live sink operator of its job.
 */
export function registerLiveSink(job: string, uid: string): () => void {
  let uids = liveSinks.get(job);
  if (uids === undefined) {
    uids = new Map();
    liveSinks.set(job, uids);
  }
  uids.set(uid, (uids.get(uid) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (uids.get(uid) ?? 1) - 1;
    if (n > 0) uids.set(uid, n);
    else uids.delete(uid);
    if (uids.size === 0 && liveSinks.get(job) === uids) liveSinks.delete(job);
  };
}

/** The sink operator uids of `job` with a writer in this process. */
export function liveSinkUids(job: string): string[] {
  return [...(liveSinks.get(job)?.keys() ?? [])];
}
