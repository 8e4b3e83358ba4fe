/**
 * A subtask's state file cut into sections: the operator's own state (key group -1) and one
 * section per key group of its keyed state, each recorded in the metadata with its offset, length
 * and sha256. A restore reads and verifies only the sections it needs: with another parallelism a
 * subtask reads the key groups it now owns out of every old subtask's file and nothing else.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userError } from '../errors.js';
import type { KeyGroupSection, SpooledSections } from '../state/state-backend.js';
import type { StateSection, SubtaskStateEntry } from './metadata.js';
import { sha256Hex } from './state-files.js';

/** The operator's own (non-keyed) state in a sectioned file. */
export const OPERATOR_SECTION = -1;

export interface SectionedState {
  /** The file's content, in order. */
  readonly chunks: readonly Uint8Array[];
  readonly sections: StateSection[];
  readonly bytes: number;
}

/**
 * Lays out a subtask's state: its operator state first, then its key groups in order. With
 * spooled sections the file starts with the spool file's content and `chunks` (the operator
 * state) follow it; the metadata still lists the operator section first.
 */
export function layoutSections(operatorState: Uint8Array | undefined, keyed: readonly KeyGroupSection[], spooled?: SpooledSections): SectionedState {
  const chunks: Uint8Array[] = [];
  const sections: StateSection[] = [];
  let offset = spooled?.bytes ?? 0;
  const add = (keyGroup: number, bytes: Uint8Array): void => {
    chunks.push(bytes);
    sections.push([keyGroup, offset, bytes.length, sha256Hex(bytes)]);
    offset += bytes.length;
  };
  if (operatorState !== undefined && operatorState.length > 0) add(OPERATOR_SECTION, operatorState);
  for (const [kg, at, length, sha] of spooled?.sections ?? []) sections.push([kg, at, length, sha]);
  for (const s of keyed) add(s.keyGroup, s.bytes);
  return { chunks, sections, bytes: offset };
}

/**
 * A completed checkpoint's key-group sections of one subtask, each naming its file: what an
 * incremental snapshot of the subtask chains its changes after.
 */
export function chainOf(entry: SubtaskStateEntry): StateSection[] {
  return (entry.sections ?? []).filter(([kg]) => kg !== OPERATOR_SECTION).map((s) => [s[0], s[1], s[2], s[3], sectionFile(entry, s)]);
}

/**
 * The sections of a subtask's new file after the chain of earlier ones: the operator section,
 * then key group by key group, each key group's earlier sections before its new one.
 */
export function withChain(chain: readonly StateSection[], own: readonly StateSection[]): StateSection[] {
  if (chain.length === 0) return [...own];
  const operator = own.filter(([kg]) => kg === OPERATOR_SECTION);
  const keyed = [...chain, ...own.filter(([kg]) => kg !== OPERATOR_SECTION)];
  // Stable: within a key group the chain (older) stays before the new section.
  keyed.sort((a, b) => a[0] - b[0]);
  return [...operator, ...keyed];
}

function corrupt(folder: string, file: string, what: string): Error {
  return userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${file} ${what}`, { details: { path: folder } });
}

export interface LoadedSections {
  /** The operator section, if the file has one and it was asked for. */
  readonly operator: Uint8Array | undefined;
  /** The wanted key groups' sections, in metadata order (a key group's chain in checkpoint order). */
  readonly keyed: Uint8Array[];
}

/** The file a section is in: its own fifth element, else the subtask's state file. */
export function sectionFile(entry: SubtaskStateEntry, section: StateSection): string {
  return section[4] ?? entry.stateFile!;
}

/**
 * Reads the sections of one subtask entry that `wantKeyGroup` selects (and the operator section
 * when `wantOperator`), from the subtask's state file and the shared files its chains name,
 * verifying each against its recorded length and sha256.
 */
export async function readSections(
  folder: string,
  entry: SubtaskStateEntry,
  wantOperator: boolean,
  wantKeyGroup: (keyGroup: number) => boolean,
): Promise<LoadedSections> {
  const sections = entry.sections ?? [];
  const wanted = sections.filter(([kg]) => (kg === OPERATOR_SECTION ? wantOperator : wantKeyGroup(kg)));
  // Everything of one file wanted: one read; otherwise positioned reads of the wanted sections.
  const whole = wanted.length === sections.length && sections.every((s) => s[4] === undefined);
  const files = new Map<string, { bytes: Buffer | null; fh: FileHandle | null }>();
  const source = async (file: string): Promise<{ bytes: Buffer | null; fh: FileHandle | null }> => {
    let f = files.get(file);
    if (f === undefined) {
      const path = join(folder, file);
      f = whole ? { bytes: await readFile(path).catch(() => null), fh: null } : { bytes: null, fh: await open(path, 'r').catch(() => null) };
      if (f.bytes === null && f.fh === null) throw corrupt(folder, file, 'is missing');
      files.set(file, f);
    }
    return f;
  };
  try {
    let operator: Uint8Array | undefined;
    const keyed: Uint8Array[] = [];
    for (const s of wanted) {
      const [kg, offset, length, sha] = s;
      const file = sectionFile(entry, s);
      const { bytes, fh } = await source(file);
      let section: Uint8Array;
      if (bytes !== null) {
        if (offset + length > bytes.length) throw corrupt(folder, file, `is shorter than its sections (${bytes.length} bytes)`);
        section = bytes.subarray(offset, offset + length);
      } else {
        section = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh!.read(section, 0, length, offset);
        if (bytesRead !== length) throw corrupt(folder, file, `is shorter than its sections (section at ${offset})`);
      }
      if (sha256Hex(section) !== sha) throw corrupt(folder, file, `does not match its checksum (key group ${kg})`);
      if (kg === OPERATOR_SECTION) operator = section;
      else keyed.push(section);
    }
    return { operator, keyed };
  } finally {
    for (const f of files.values()) await f.fh?.close();
  }
}
