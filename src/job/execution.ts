import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointParticipants, ParticipantVertex } from '../checkpoint/coordinator.js';
import type { CheckpointAck } from '../runtime/checkpoint-ack.js';
import type { RestorePlan } from '../checkpoint/restore.js';
import { internalError } from '../errors.js';
import type { Schema } from '../model/types.js';
import type { Logger } from '../log.js';
import { Channel, Signal } from '../runtime/channel.js';
import { type InputChannel, InputGate } from '../runtime/input-gate.js';
import type { JobGraph, JobVertex, OperatorVertex, SourceVertex } from '../runtime/job-graph.js';
import { OperatorTask, type TaskEnv } from '../runtime/operator-task.js';
import type { OperatorContext } from '../runtime/operator.js';
import { KEY_GROUPS, keyGroupRange } from '../model/partition.js';
import { createStateBackend } from '../state/backends.js';
import { watchHeap } from './heap-watch.js';
import type { StateBackendType } from '../config/state-backend-type.js';
import { SourceTask } from '../runtime/source-task.js';
import { unwrapPositions } from '../runtime/source-watermarks.js';
import type { SourceContext, SplitPosition } from '../runtime/source.js';
import type { Barrier } from '../runtime/stream-element.js';
import type { JobCounters } from '../runtime/task-common.js';
import { type OutputEdge, TaskOutput } from '../runtime/task-output.js';

/** Elements a channel holds before its producer waits (a batch is one element). */
export const DEFAULT_CHANNEL_CAPACITY = 8;

export interface ExecutionHooks {
  acknowledge(attempt: number, uid: string, subtask: number, checkpointId: number, ack: CheckpointAck): void;
  /** A task failed; the job cancels this execution and applies the restart strategy. */
  fail(error: unknown, task: string): void;
  /** Every source subtask reached its end (bounded job): time for the final checkpoint. */
  sourcesFinished(): void;
}

export interface ExecutionOptions {
  readonly graph: JobGraph;
  readonly attempt: number;
  readonly exactlyOnce: boolean;
  readonly restore: RestorePlan | undefined;
  /** Id of the first checkpoint of this execution (sinks begin their first transaction with it). */
  readonly firstCheckpointId: number;
  readonly log: Logger;
  readonly counters: JobCounters;
  /** 'state.checkpoints.num-retained' (sources that must keep older checkpoints restorable read it). */
  readonly retainedCheckpoints?: number;
  readonly hooks: ExecutionHooks;
  readonly channelCapacity?: number;
  /** 'state.backend.type' (default hashmap). */
  readonly stateBackend?: StateBackendType;
  /** The folder the rocksdb backend's subtasks keep their working stores in. */
  readonly stateLocalDir?: string;
  /** 'execution.checkpointing.incremental': backends record changes for incremental snapshots. */
  readonly incrementalCheckpoints?: boolean;
}

/** Checks the structural promises of a JobGraph that the runtime relies on. */
export function validateGraph(graph: JobGraph): void {
  const ids = new Set<number>();
  const uids = new Set<string>();
  for (const v of graph.vertices) {
    if (ids.has(v.id)) throw internalError(`job graph: duplicate vertex id ${v.id}`);
    if (uids.has(v.uid)) throw internalError(`job graph: duplicate operator uid ${v.uid}`);
    if (!Number.isInteger(v.parallelism) || v.parallelism < 1 || v.parallelism > KEY_GROUPS) {
      throw internalError(`job graph: vertex ${v.name} has parallelism ${v.parallelism} (1..${KEY_GROUPS})`);
    }
    ids.add(v.id);
    uids.add(v.uid);
  }
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const inputs = new Map<number, number>();
  for (const e of graph.edges) {
    const s = byId.get(e.source);
    const t = byId.get(e.target);
    if (s === undefined || t === undefined) throw internalError(`job graph: edge ${e.source} -> ${e.target} names an unknown vertex`);
    if (e.source >= e.target) throw internalError(`job graph: edge ${e.source} -> ${e.target} is not topologically ordered`);
    if (t.kind === 'source') throw internalError(`job graph: source ${t.name} has an input`);
    if (e.partitioning.kind === 'forward' && s.parallelism !== t.parallelism) {
      throw internalError(`job graph: forward edge ${s.name} -> ${t.name} joins parallelism ${s.parallelism} and ${t.parallelism}`);
    }
    inputs.set(e.target, (inputs.get(e.target) ?? 0) + 1);
  }
  for (const v of graph.vertices) {
    if (v.kind === 'operator' && !inputs.has(v.id)) throw internalError(`job graph: operator ${v.name} has no input`);
  }
  if (!graph.vertices.some((v) => v.kind === 'source')) throw internalError('job graph: no source');
}

function inputSchemasOf(graph: JobGraph, v: JobVertex): Schema[] {
  const schemas: Schema[] = [];
  for (const e of graph.edges) {
    if (e.target !== v.id) continue;
    schemas[e.targetInput] = graph.vertices.find((x) => x.id === e.source)!.outputSchema;
  }
  return schemas;
}

/**
 * One attempt at running a job graph: the channels and one task per vertex subtask, wired by the
 * edges' partitioning. A restart builds a new Execution (fresh operators and readers) from a
 * restore plan; nothing of an earlier attempt is reused.
 */
export class Execution implements CheckpointParticipants {
  readonly attempt: number;
  readonly vertices: readonly ParticipantVertex[];
  private readonly sourceTasks: SourceTask[] = [];
  private readonly operatorTasks: OperatorTask[] = [];
  private readonly channels: Channel[] = [];
  private runs: Promise<void>[] = [];
  private openCount = 0;
  private finishedSources = 0;
  private resolveReady!: () => void;
  /** Every task is open. */
  readonly ready = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });

  private constructor(private readonly options: ExecutionOptions) {
    this.attempt = options.attempt;
    this.vertices = options.graph.vertices.map((v) => ({ uid: v.uid, name: v.name, kind: v.kind, parallelism: v.parallelism }));
  }

  /** Enumerates splits and builds every task (nothing runs yet). */
  static async create(options: ExecutionOptions): Promise<Execution> {
    const ex = new Execution(options);
    await ex.build();
    return ex;
  }

  private get totalTasks(): number {
    return this.sourceTasks.length + this.operatorTasks.length;
  }

  private async build(): Promise<void> {
    const { graph, log, counters, restore } = this.options;
    const capacity = this.options.channelCapacity ?? DEFAULT_CHANNEL_CAPACITY;
    const signals = new Map<number, Signal[]>();
    const inputs = new Map<number, InputChannel[][]>();
    const outputs = new Map<number, OutputEdge[][]>();
    for (const v of graph.vertices) {
      signals.set(
        v.id,
        Array.from({ length: v.parallelism }, () => new Signal()),
      );
      inputs.set(
        v.id,
        Array.from({ length: v.parallelism }, () => []),
      );
      outputs.set(
        v.id,
        Array.from({ length: v.parallelism }, () => []),
      );
    }
    const byId = new Map(graph.vertices.map((v) => [v.id, v]));
    for (const e of graph.edges) {
      const s = byId.get(e.source)!;
      const t = byId.get(e.target)!;
      for (let i = 0; i < s.parallelism; i++) {
        const targets = e.partitioning.kind === 'forward' ? [i] : Array.from({ length: t.parallelism }, (_, j) => j);
        const chans = targets.map((j) => {
          const ch = new Channel(capacity, signals.get(t.id)![j], `${s.name}[${i}] -> ${t.name}[${j}]`);
          inputs.get(t.id)![j].push({ channel: ch, input: e.targetInput });
          this.channels.push(ch);
          return ch;
        });
        outputs.get(s.id)![i].push({ partitioning: e.partitioning, channels: chans });
      }
    }
    const env: TaskEnv = {
      attempt: this.attempt,
      acknowledge: (attempt, uid, subtask, id, ack) => this.options.hooks.acknowledge(attempt, uid, subtask, id, ack),
      opened: () => {
        if (++this.openCount === this.totalTasks) this.resolveReady();
      },
      allOpen: () => this.openCount >= this.totalTasks,
    };
    const addRowsIn = (n: number): void => {
      counters.rowsIn += n;
    };
    const addRowsOut = (n: number): void => {
      counters.rowsOut += n;
    };
    const metrics = { inc: (name: string, by?: number) => counters.inc(name, by) };
    for (const v of graph.vertices) {
      const sigs = signals.get(v.id)!;
      if (v.kind === 'source') {
        await this.buildSource(v, sigs, outputs.get(v.id)!, env, addRowsIn);
        continue;
      }
      const schemas = inputSchemasOf(graph, v);
      for (let i = 0; i < v.parallelism; i++) {
        const output = new TaskOutput(outputs.get(v.id)![i]);
        const restored = (await restore?.forOperator(v.uid, i, v.parallelism)) ?? { state: [], keyed: [], committables: [] };
        const ctx: OperatorContext = {
          jobName: graph.jobName,
          operatorUid: v.uid,
          subtaskIndex: i,
          parallelism: v.parallelism,
          restoredState: restored.state,
          restoredCommittables: restored.committables,
          restoredCheckpointId: restore?.checkpointId ?? 0,
          firstCheckpointId: this.options.firstCheckpointId,
          output,
          state: createStateBackend(this.options.stateBackend ?? 'hashmap', {
            keyGroups: keyGroupRange(i, v.parallelism),
            ttlMs: (v as OperatorVertex).stateTtlMs ?? 0,
            restored: restored.keyed,
            onExpired: (n) => metrics.inc('state-keys-expired', n),
            label: `${v.name} (${i + 1}/${v.parallelism})`,
            incremental: this.options.incrementalCheckpoints === true,
            localDir: this.options.stateLocalDir ?? join(tmpdir(), 'weir-local-state', graph.jobName),
          }),
          inputSchemas: schemas,
          log: log.child({ operator: v.name, subtask: i }),
          metrics,
        };
        const gate = new InputGate(inputs.get(v.id)![i], this.options.exactlyOnce);
        this.operatorTasks.push(new OperatorTask(v as OperatorVertex, i, gate, output, sigs[i], ctx, env, v.isSink ? addRowsOut : undefined));
      }
    }
  }

  private async buildSource(v: SourceVertex, sigs: Signal[], outputs: OutputEdge[][], env: TaskEnv, addRows: (n: number) => void): Promise<void> {
    const { graph, log, counters, restore } = this.options;
    // Split watermarks travel inside the recorded positions; the connector sees only its own.
    const { positions: restoredAll, watermarks } = unwrapPositions(restore?.sourcePositions(v.uid) ?? []);
    const splits = await v.source.enumerate(v.parallelism, restoredAll);
    for (let i = 0; i < v.parallelism; i++) {
      const mine = splits.filter((_, j) => j % v.parallelism === i);
      const ids = new Set(mine.map((s) => s.id));
      const restoredMine: SplitPosition[] = restoredAll.filter((p) => ids.has(p.split.id));
      const ctx: SourceContext = {
        jobName: graph.jobName,
        operatorUid: v.uid,
        subtaskIndex: i,
        parallelism: v.parallelism,
        schema: v.outputSchema,
        log: log.child({ source: v.name, subtask: i }),
        inc: (name, by) => counters.inc(name, by),
        retainedCheckpoints: this.options.retainedCheckpoints ?? 1,
        gauge: (name, value) => counters.gauge(`${v.uid}/${i}/${name}`, name, value),
        progress: (task, done, total) => counters.progress.set(task, { done, total }),
      };
      this.sourceTasks.push(
        new SourceTask(
          v,
          i,
          mine,
          restoredMine,
          new TaskOutput(outputs[i]),
          sigs[i],
          ctx,
          env,
          addRows,
          () => {
            if (++this.finishedSources === this.sourceTasks.length) this.options.hooks.sourcesFinished();
          },
          watermarks,
        ),
      );
    }
  }

  /**
   * Starts every task; a task error goes to hooks.fail, and so does running out of heap (see
   * heap-watch.ts). Resolves when all tasks ended normally.
   */
  run(): Promise<void> {
    const all = [...this.sourceTasks, ...this.operatorTasks];
    const stopWatch = watchHeap(
      () => this.operatorTasks.map((t) => ({ operator: t.label, keys: t.stateKeyCount() })),
      this.options.stateBackend ?? 'hashmap',
      (e) => this.options.hooks.fail(e, 'heap'),
    );
    this.runs = all.map((t) =>
      t.run().catch((e: unknown) => {
        this.options.hooks.fail(e, t.label);
      }),
    );
    return Promise.all(this.runs).then(stopWatch, (e: unknown) => {
      stopWatch();
      throw e;
    });
  }

  injectBarrier(barrier: Barrier): void {
    for (const t of this.sourceTasks) t.requestBarrier(barrier);
  }

  async notifyComplete(checkpointId: number): Promise<void> {
    await Promise.all([...this.sourceTasks, ...this.operatorTasks].map((t) => t.notifyComplete(checkpointId)));
  }

  async notifyAborted(checkpointId: number): Promise<void> {
    await Promise.all([...this.sourceTasks, ...this.operatorTasks].map((t) => t.notifyAborted(checkpointId)));
  }

  /** After the final checkpoint: sources emit `end`, which closes every operator downstream. */
  endSources(): void {
    for (const t of this.sourceTasks) t.requestEnd();
  }

  /** The final checkpoint of a stop failed: sources read on. */
  resumeSources(): void {
    for (const t of this.sourceTasks) t.resume();
  }

  /**
   * Stops every task at its next step and drops buffered elements. Waits up to `graceMs` for the
   * tasks to exit (an operator stuck in an external call is abandoned after that).
   */
  async cancel(graceMs = 2000): Promise<void> {
    for (const t of this.sourceTasks) t.cancel();
    for (const t of this.operatorTasks) t.cancel();
    for (const ch of this.channels) ch.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.runs),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
