/**
 * One asynchronous snapshot of the heap backend: what is fixed at the barrier, and the key groups
 * still to serialize, which a background drain writes a few at a time between the task's batches.
 *
 * At the barrier the backend hands over the entries it must take at once (registered structures
 * change in place and are not copied on write; restored entries of undeclared states), and each
 * value state marks its key groups in the snapshot as pending (heap-value-state.ts keeps their
 * values as of the barrier by copy on write). A key group without pending value entries is
 * serialized at once; one with them is serialized by the drain, or earlier when the task asks
 * for it (settle: a forEach; finishAll: the next snapshot, or a caller that reads the result
 * synchronously). Sections are the same as a synchronous snapshot's (heap-sections.ts), one per
 * key group in key-group order: structures' entries, then each value state's, then restored ones.
 */
import type { HeapValueState } from './heap-value-state.js';
import type { Section, SectionEntry } from './heap-sections.js';
import { deserializeState, serializeState } from './serde.js';
import type { KeyedStateSnapshot, KeyGroupSection } from './state-backend.js';

/** The drain serializes key groups until this much time (ms) has passed, then yields to the task. */
const DRAIN_SLICE_MS = 4;

/**
 * The snapshot as a promise. For callers that read it synchronously, `sections` and `incremental`
 * are also properties of the promise: reading `sections` serializes what is still pending at once
 * (and throws what the snapshot failed with).
 */
export type HeapSnapshotResult = Promise<KeyedStateSnapshot> & KeyedStateSnapshot;

export type NamedValueStates = readonly (readonly [name: string, state: HeapValueState<unknown, unknown>])[];

/**
 * A structure's key group frozen at the barrier (KeyGroupedStructure.freezeKeyGroups): its name,
 * the function giving its data, and whether that is a change set.
 */
export type LazyEntry = readonly [name: string, pack: () => unknown, changes: boolean, step?: (deadline: number) => boolean];

/**
 * A key group's entries taken at the barrier: before the value states' (structures, and
 * structures frozen to be packed later) and after them (restored).
 */
export interface BarrierEntries {
  readonly head: ReadonlyMap<number, SectionEntry[]>;
  readonly lazy: ReadonlyMap<number, readonly LazyEntry[]>;
  /** The frozen structures' prepare steps (FrozenKeyGroups.prepare), run before any key group is written. */
  readonly prepare: readonly ((deadline: number) => boolean)[];
  readonly tail: ReadonlyMap<number, SectionEntry[]>;
}

/**
 * Key group g's entries: the barrier's head, its frozen structures packed now, each value state's
 * pending entry (taken now), the barrier's tail.
 */
export function groupEntries(
  g: number,
  head: readonly SectionEntry[] | undefined,
  states: NamedValueStates,
  tail: readonly SectionEntry[] | undefined,
  lazy?: readonly LazyEntry[],
): SectionEntry[] {
  const out: SectionEntry[] = head === undefined ? [] : [...head];
  if (lazy !== undefined) {
    for (const [name, pack, changes] of lazy) {
      const data = pack();
      if (data !== undefined) out.push(changes ? [name, null, data, 'c'] : [name, null, data]);
    }
  }
  for (const [name, s] of states) {
    const e = s.takeSnapshotEntry(name, g);
    if (e !== null) out.push(e);
  }
  if (tail !== undefined) out.push(...tail);
  return out;
}

export class HeapSnapshot {
  readonly promise: Promise<KeyedStateSnapshot>;
  private resolve!: (s: KeyedStateSnapshot) => void;
  private reject!: (e: unknown) => void;
  /** By key group - start: its section once serialized. */
  private readonly sections: (Uint8Array | undefined)[];
  /** By key group - start: 1 while its section is still to serialize. */
  private readonly waiting: Uint8Array;
  /** Barrier entries of pending key groups, serialized at the barrier ([head, tail]). */
  private readonly frozen = new Map<number, Uint8Array>();
  /** Structures frozen at the barrier, by key group - start: packed when the key group is written. */
  private readonly lazy: ReadonlyMap<number, readonly LazyEntry[]>;
  /** Prepare steps not finished yet. */
  private prepare: ((deadline: number) => boolean)[];
  private left = 0;
  /** The drain's position. */
  private next = 0;
  private result: KeyedStateSnapshot | undefined;
  private error: unknown = undefined;
  private failed = false;

  constructor(
    private readonly start: number,
    groups: number,
    readonly incremental: boolean,
    private readonly states: NamedValueStates,
    barrier: BarrierEntries,
    /** Called once, with the snapshot's size, when every section is written. */
    private readonly onWritten: (bytes: number) => void,
  ) {
    this.lazy = barrier.lazy;
    this.prepare = [...barrier.prepare];
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A caller that only reads the result synchronously never awaits it.
    this.promise.catch(() => undefined);
    this.sections = new Array(groups);
    this.waiting = new Uint8Array(groups);
    for (let g = 0; g < groups; g++) {
      const head = barrier.head.get(g);
      const tail = barrier.tail.get(g);
      if (barrier.lazy.has(g) || states.some(([, s]) => s.isPending(g))) {
        this.waiting[g] = 1;
        this.left++;
        // Serialized now: a structure's data may be changed in place once the task goes on.
        if (head !== undefined || tail !== undefined) this.frozen.set(g, serializeState([head ?? [], tail ?? []]));
      } else if (head !== undefined || tail !== undefined) {
        this.sections[g] = serializeState([start + g, [...(head ?? []), ...(tail ?? [])]] satisfies Section);
      }
    }
    if (this.left === 0) this.complete();
    else setImmediate(this.drain);
  }

  /** Serializes key group g (- start) now if it is still pending (the task is about to touch all of it). */
  settle(g: number): void {
    if (this.waiting[g] !== 1 || this.failed) return;
    try {
      this.prepared(Number.POSITIVE_INFINITY);
      this.write(g);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Serializes every pending key group now. */
  finishAll(): void {
    try {
      if (this.left > 0) this.prepared(Number.POSITIVE_INFINITY);
      for (let g = 0; g < this.waiting.length && this.left > 0 && !this.failed; g++) if (this.waiting[g] === 1) this.write(g);
    } catch (e) {
      this.fail(e);
    }
  }

  /** The snapshot if every section was written at the barrier (nothing pending): the caller needs no promise. */
  get written(): KeyedStateSnapshot | undefined {
    return this.result;
  }

  /** The promise, with the synchronous view of it (HeapSnapshotResult). */
  view(): HeapSnapshotResult {
    const now = (): KeyedStateSnapshot => {
      this.finishAll();
      if (this.failed) throw this.error;
      return this.result!;
    };
    return Object.defineProperties(this.promise, {
      sections: { enumerable: true, get: () => now().sections },
      incremental: { enumerable: true, value: this.incremental },
    }) as HeapSnapshotResult;
  }

  private readonly drain = (): void => {
    if (this.left === 0 || this.failed) return;
    const t0 = performance.now();
    try {
      if (!this.prepared(t0 + DRAIN_SLICE_MS)) {
        setImmediate(this.drain);
        return;
      }
      while (this.next < this.waiting.length && this.left > 0) {
        const g = this.next;
        if (this.waiting[g] === 1 && !this.stepped(g, t0 + DRAIN_SLICE_MS)) break;
        this.next++;
        if (this.waiting[g] !== 1) continue;
        this.write(g);
        if (performance.now() - t0 >= DRAIN_SLICE_MS) break;
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (this.left > 0) setImmediate(this.drain);
  };

  /** Runs key group g's frozen structures' steps until `deadline`; whether they are all done. */
  private stepped(g: number, deadline: number): boolean {
    const lazy = this.lazy.get(g);
    if (lazy === undefined) return true;
    for (const e of lazy) if (e[3] !== undefined && !e[3](deadline)) return false;
    return true;
  }

  /** Runs the prepare steps until `deadline`; whether they are all done. */
  private prepared(deadline: number): boolean {
    while (this.prepare.length > 0) {
      if (!this.prepare[0]!(deadline)) return false;
      this.prepare.shift();
    }
    return true;
  }

  private write(g: number): void {
    const frozen = this.frozen.get(g);
    const [head, tail] = frozen === undefined ? [undefined, undefined] : deserializeState<[SectionEntry[], SectionEntry[]]>(frozen);
    this.frozen.delete(g);
    const entries = groupEntries(g, head, this.states, tail, this.lazy.get(g));
    this.waiting[g] = 0;
    if (entries.length > 0) this.sections[g] = serializeState([this.start + g, entries] satisfies Section);
    if (--this.left === 0) this.complete();
  }

  private complete(): void {
    const sections: KeyGroupSection[] = [];
    let bytes = 0;
    for (let g = 0; g < this.sections.length; g++) {
      const s = this.sections[g];
      if (s === undefined) continue;
      bytes += s.length;
      sections.push({ keyGroup: this.start + g, bytes: s });
    }
    this.sections.fill(undefined);
    this.result = { sections, incremental: this.incremental };
    this.onWritten(bytes);
    this.resolve(this.result);
  }

  private fail(e: unknown): void {
    if (this.failed || this.result !== undefined) return;
    this.failed = true;
    this.error = e;
    this.frozen.clear();
    this.sections.fill(undefined);
    for (const [, s] of this.states) s.abandonSnapshot();
    this.reject(e);
  }
}
