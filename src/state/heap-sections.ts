/**
 * What the heap backend writes into a key group's section, and how a restore folds a chain of
 * sections (one whole snapshot of the key group, then the changes of later incremental
 * checkpoints, in checkpoint order) back into each state's entries.
 *
 * A section is `[key group, entries]`; each entry names one state and says one of:
 * - `[name, packed]`: a value state's entries of the key group (keys and values as packed
 *   columns, src/state/columns.ts), whole;
 * - `[name, null, data]`: a registered structure's data for the key group, whole (it replaces
 *   anything restored of that structure and key group before it);
 * - `[name, puts | null, deleted | null, 'd']`: a value state's changes: keys written (with their
 *   values) and keys deleted since the previous checkpoint;
 * - `[name, null, changes, 'c']`: a structure's changes (its snapshotKeyGroupChanges data);
 * - `[name, null, null, 'e']`: a structure without change tracking holds nothing of the key group
 *   any more (it had something at the previous checkpoint).
 */
import { internalError } from '../errors.js';
import { packColumn, type PackedColumn, unpackColumn } from './columns.js';
import { deserializeState } from './serde.js';

export interface PackedEntries {
  readonly n: number;
  readonly k: PackedColumn;
  readonly v: PackedColumn;
}

export interface PackedKeys {
  readonly n: number;
  readonly k: PackedColumn;
}

export type SectionEntry =
  | [name: string, entries: PackedEntries]
  | [name: string, none: null, data: unknown]
  | [name: string, puts: PackedEntries | null, deleted: PackedKeys | null, kind: 'd']
  | [name: string, none: null, changes: unknown, kind: 'c']
  | [name: string, none: null, none2: null, kind: 'e'];

export type Section = [keyGroup: number, entries: SectionEntry[]];

export function packEntries(keys: readonly unknown[], values: readonly unknown[]): PackedEntries {
  return { n: keys.length, k: packColumn(keys, keys.length), v: packColumn(values, values.length) };
}

export function packKeys(keys: readonly unknown[]): PackedKeys {
  return { n: keys.length, k: packColumn(keys, keys.length) };
}

/** A structure's restored key group: its whole data (if any), then changes to apply in order. */
export interface RestoredStructureGroup {
  whole: unknown;
  readonly changes: unknown[];
}

/**
 * Restored sections folded per state and key group (offset from the subtask's first key group),
 * held until the operator declares each state.
 */
export class RestoredSections {
  private readonly values = new Map<string, Map<number, Map<unknown, unknown>>>();
  private readonly structures = new Map<string, Map<number, RestoredStructureGroup>>();

  constructor(
    private readonly start: number,
    private readonly end: number,
    private readonly foreign: (keyGroup: number) => Error,
  ) {}

  /** Folds one section in; sections of a key group must come in checkpoint order. */
  add(bytes: Uint8Array): void {
    this.addSection(deserializeState<Section>(bytes));
  }

  addSection([keyGroup, entries]: Section): void {
    if (!(keyGroup >= this.start && keyGroup <= this.end)) throw this.foreign(keyGroup);
    const g = keyGroup - this.start;
    for (const e of entries) {
      const name = e[0];
      if (e.length === 2) {
        const map = this.valueGroup(name, g, true);
        const { n, k, v } = e[1];
        const keys = unpackColumn(k, n);
        const vals = unpackColumn(v, n);
        for (let i = 0; i < n; i++) map.set(keys[i], vals[i]);
      } else if (e.length === 3) {
        this.structureGroup(name, g, true).whole = e[2];
      } else if (e[3] === 'd') {
        const map = this.valueGroup(name, g, false);
        const dels = e[2];
        if (dels !== null) {
          const keys = unpackColumn(dels.k, dels.n);
          for (let i = 0; i < dels.n; i++) map.delete(keys[i]);
        }
        const puts = e[1];
        if (puts !== null) {
          const keys = unpackColumn(puts.k, puts.n);
          const vals = unpackColumn(puts.v, puts.n);
          for (let i = 0; i < puts.n; i++) map.set(keys[i], vals[i]);
        }
      } else if (e[3] === 'c') {
        this.structureGroup(name, g, false).changes.push(e[2]);
      } else {
        this.structureGroup(name, g, true).whole = undefined;
      }
    }
  }

  private valueGroup(name: string, g: number, whole: boolean): Map<unknown, unknown> {
    if (this.structures.has(name)) throw internalError(`restored state '${name}' is both a value state and a structure`);
    let groups = this.values.get(name);
    if (groups === undefined) this.values.set(name, (groups = new Map()));
    let map = groups.get(g);
    if (map === undefined || whole) groups.set(g, (map = new Map()));
    return map;
  }

  private structureGroup(name: string, g: number, whole: boolean): RestoredStructureGroup {
    if (this.values.has(name)) throw internalError(`restored state '${name}' is both a value state and a structure`);
    let groups = this.structures.get(name);
    if (groups === undefined) this.structures.set(name, (groups = new Map()));
    let group = groups.get(g);
    if (group === undefined || whole) groups.set(g, (group = { whole: undefined, changes: [] }));
    return group;
  }

  /** A value state's restored entries by key group (taken: no longer held here). */
  takeValues(name: string): Map<number, Map<unknown, unknown>> | undefined {
    if (this.structures.has(name)) throw internalError(`restored state '${name}' is a structure, not a value state`);
    const groups = this.values.get(name);
    this.values.delete(name);
    return groups;
  }

  /** A structure's restored key groups (taken: no longer held here). */
  takeStructure(name: string): Map<number, RestoredStructureGroup> | undefined {
    if (this.values.has(name)) throw internalError(`restored state '${name}' is a value state, not a structure`);
    const groups = this.structures.get(name);
    this.structures.delete(name);
    return groups;
  }

  /** Whole entries of key group `g` of states restored but not declared (yet): kept in snapshots. */
  entriesOf(g: number): SectionEntry[] {
    const out: SectionEntry[] = [];
    for (const [name, groups] of this.values) {
      const map = groups.get(g);
      if (map !== undefined && map.size > 0) out.push([name, packEntries([...map.keys()], [...map.values()])]);
    }
    for (const [name, groups] of this.structures) {
      const group = groups.get(g);
      if (group === undefined) continue;
      if (group.whole !== undefined) out.push([name, null, group.whole]);
      for (const c of group.changes) out.push([name, null, c, 'c']);
    }
    return out;
  }
}
