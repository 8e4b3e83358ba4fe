/**
 * Reading a rocksdb backend snapshot out of its pinned store view into sections, while the task
 * goes on (rocks-backend.ts takes the snapshot at the barrier): an incremental one from the
 * changes recorded with their values, a whole one by scanning every state's range key group by
 * key group. Past `snapshotLimits.spoolBytes` the sections go to a spool file (section-spool.ts) instead of
 * memory, so a whole snapshot of a state far larger than the heap holds one section at a time.
 */
import type { KeyGroupRange } from '../model/partition.js';
import { packEntries, packKeys, type Section, type SectionEntry } from './heap-sections.js';
import { type ChangeSet, DELETED, READ_BACK } from './rocks-changes.js';
import { decodeKey, decodeValue, encodeKey, RAW, stateRange } from './rocks-codec.js';
import type { StoreView } from './rocks-store.js';
import type { RocksValueState } from './rocks-value-state.js';
import { SectionSpool } from './section-spool.js';
import { deserializeState, serializeState } from './serde.js';
import type { KeyGroupSection, KeyedStateSnapshot } from './state-backend.js';

/** Time the decoding of an incremental snapshot's changes runs before it yields to the task. */
const SLICE_MS = 4;
/**
 * The bounds of a snapshot's memory (tests lower them to see several sections and a spool file
 * on small states).
 */
export const snapshotLimits = {
  /** Bytes of sections a snapshot holds in memory; past them it writes them to a spool file. */
  spoolBytes: 16 * 1024 * 1024,
  /** Entries of one state in one section of a whole snapshot (a large key group takes several). */
  sectionEntries: 65_536,
};

/** What a snapshot reads of its backend. */
export interface SnapshotSource {
  readonly keyGroups: KeyGroupRange;
  /** The subtask's key prefix in the store. */
  readonly prefix: number;
  /** Where spool files go (state.backend.local-dir). */
  readonly localDir: string;
  readonly states: ReadonlyMap<string, RocksValueState<unknown, unknown>>;
}

export class SnapshotMaterializer {
  constructor(private readonly source: SnapshotSource) {}

  /**
   * The sections: the structures' (serialized at the barrier) with the value states' entries
   * added. Past `snapshotLimits.spoolBytes` they go to a spool file instead of memory (a whole
   * snapshot is as large as the state), and a state's whole entries in a key group are cut into
   * sections of at most `snapshotLimits.sectionEntries` (the first whole, the others adding to
   * it), so memory stays bounded.
   */
  async materialize(
    view: StoreView,
    structures: ReadonlyMap<number, Uint8Array>,
    incremental: boolean,
    names: readonly (readonly [string, number])[],
    changes: readonly (readonly [RocksValueState<unknown, unknown>, ChangeSet<unknown> | null])[] | null,
    /** Aborts the reading (the checkpoint was aborted): the promise rejects, the spool file goes. */
    signal?: AbortSignal,
  ): Promise<{ snapshot: KeyedStateSnapshot; bytes: number }> {
    const { start, end } = this.source.keyGroups;
    const sections: KeyGroupSection[] = [];
    let spool: SectionSpool | null = null;
    let bytes = 0;
    let slice = performance.now();
    const emit = async (kg: number, section: Uint8Array): Promise<void> => {
      signal?.throwIfAborted();
      bytes += section.length;
      if (spool === null && bytes > snapshotLimits.spoolBytes) {
        spool = await SectionSpool.create(this.source.localDir);
        for (const s of sections) await spool.add(s.keyGroup, s.bytes);
        sections.length = 0;
      }
      if (spool !== null) await spool.add(kg, section);
      else sections.push({ keyGroup: kg, bytes: section });
    };
    try {
      for (let g = 0; g <= end - start; g++) {
        signal?.throwIfAborted();
        const kg = start + g;
        const structure = structures.get(g);
        // Rare: one operator with both structures and value states in a key group.
        let values: SectionEntry[] | null = null;
        const add = (e: SectionEntry): void => {
          values ??= structure === undefined ? [] : [...deserializeState<Section>(structure)[1]];
          values.push(e);
        };
        if (changes !== null) {
          for (const [s, changed] of changes) {
            const group = changed?.groups[g];
            if (group !== undefined && group.size > 0) add(await this.changesOf(view, kg, s, changed!, group));
          }
        } else {
          for (const [name, id] of names) {
            await this.readWhole(view, kg, name, id, async (e, full) => {
              add(e);
              if (!full) return;
              await emit(kg, serializeState([kg, values!] satisfies Section));
              values = [];
            });
          }
        }
        if (values === null) {
          if (structure !== undefined) await emit(kg, structure);
        } else if ((values as SectionEntry[]).length > 0) await emit(kg, serializeState([kg, values] satisfies Section));
        // Decoding changes needs no store read: let the task run between slices.
        if (performance.now() - slice >= SLICE_MS) {
          await new Promise<void>((r) => setImmediate(r));
          slice = performance.now();
        }
      }
    } catch (e) {
      await (spool as SectionSpool | null)?.discard();
      throw e;
    }
    const spooled = await (spool as SectionSpool | null)?.finish();
    return { snapshot: spooled === undefined ? { sections, incremental } : { sections: [], incremental, spooled }, bytes };
  }

  /**
   * A state's entries of one key group, whole, handed to `emit` in parts of at most
   * `snapshotLimits.sectionEntries` (`full`: one of that size, the section should go now): the
   * first whole, the later ones adding to it (nothing when it has none).
   */
  private async readWhole(view: StoreView, kg: number, name: string, id: number, emit: (e: SectionEntry, full: boolean) => Promise<void>): Promise<void> {
    const state = this.source.states.get(name);
    let keys: unknown[] = [];
    let values: unknown[] = [];
    let first = true;
    const flush = async (): Promise<void> => {
      const packed = packEntries(keys, values);
      await emit(first ? [name, packed] : [name, packed, null, 'd'], keys.length >= snapshotLimits.sectionEntries);
      first = false;
      keys = [];
      values = [];
    };
    const [gte, lt] = stateRange(this.source.prefix, kg, id);
    for await (const { key, value } of view.scan(gte, lt)) {
      const d = decodeValue(value);
      if (state?.expiredAt(d.written) === true) continue;
      keys.push(decodeKey(key));
      values.push((d.flags & RAW) !== 0 && state?.migrate !== undefined ? state.migrate(d.value) : d.value);
      if (keys.length >= snapshotLimits.sectionEntries) await flush();
    }
    if (keys.length > 0) await flush();
  }

  /**
   * A state's changes in one key group: the changed keys' values as of the snapshot (recorded
   * with the change; read through the view only for keys changed past the change budget), or
   * their deletion.
   */
  private async changesOf(
    view: StoreView,
    kg: number,
    s: RocksValueState<unknown, unknown>,
    changed: ChangeSet<unknown>,
    group: ReadonlyMap<unknown, number>,
  ): Promise<SectionEntry> {
    const putKeys: unknown[] = [];
    const putValues: unknown[] = [];
    const deleted: unknown[] = [];
    const readBack: unknown[] = [];
    for (const [k, at] of group) {
      if (at === DELETED) deleted.push(k);
      else if (at === READ_BACK) readBack.push(k);
      else {
        putKeys.push(k);
        putValues.push(decodeValue(changed.valueAt(at)).value);
      }
    }
    if (readBack.length > 0) {
      const found = await view.getMany(readBack.map((k) => encodeKey(this.source.prefix, kg, s.id, k)));
      for (let i = 0; i < readBack.length; i++) {
        const b = found[i];
        if (b === null || b === undefined) {
          deleted.push(readBack[i]);
          continue;
        }
        const d = decodeValue(b);
        putKeys.push(readBack[i]);
        putValues.push((d.flags & RAW) !== 0 && s.migrate !== undefined ? s.migrate(d.value) : d.value);
      }
    }
    return [s.name, putKeys.length > 0 ? packEntries(putKeys, putValues) : null, deleted.length > 0 ? packKeys(deleted) : null, 'd'];
  }
}
