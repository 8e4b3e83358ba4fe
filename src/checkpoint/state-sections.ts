/**
 * A subtask's state file cut into sections: the operator's own state (key group -1) and one
 * section per key group of its keyed state, each recorded in the metadata with its offset, length
 * and sha256. A restore reads and verifies only the sections it needs: with another parallelism a
 * subtask reads the key groups it now owns out of every old subtask's file and nothing else.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userError } from '../errors.js';
import type { KeyGroupSection } from '../state/state-backend.js';
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

/** Lays out a subtask's state: its operator state first, then its key groups in order. */
export function layoutSections(operatorState: Uint8Array | undefined, keyed: readonly KeyGroupSection[]): SectionedState {
  const chunks: Uint8Array[] = [];
  const sections: StateSection[] = [];
  let offset = 0;
  const add = (keyGroup: number, bytes: Uint8Array): void => {
    chunks.push(bytes);
    sections.push([keyGroup, offset, bytes.length, sha256Hex(bytes)]);
    offset += bytes.length;
  };
  if (operatorState !== undefined && operatorState.length > 0) add(OPERATOR_SECTION, operatorState);
  for (const s of keyed) add(s.keyGroup, s.bytes);
  return { chunks, sections, bytes: offset };
}

function corrupt(folder: string, file: string, what: string): Error {
  return userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${file} ${what}`, { details: { path: folder } });
}

export interface LoadedSections {
  /** The operator section, if the file has one and it was asked for. */
  readonly operator: Uint8Array | undefined;
  /** The wanted key groups' sections, in file order. */
  readonly keyed: Uint8Array[];
}

/**
 * Reads the sections of one state file that `wantKeyGroup` selects (and the operator section
 * when `wantOperator`), verifying each against its recorded length and sha256.
 */
export async function readSections(
  folder: string,
  entry: SubtaskStateEntry,
  wantOperator: boolean,
  wantKeyGroup: (keyGroup: number) => boolean,
): Promise<LoadedSections> {
  const file = entry.stateFile!;
  const wanted = (entry.sections ?? []).filter(([kg]) => (kg === OPERATOR_SECTION ? wantOperator : wantKeyGroup(kg)));
  const path = join(folder, file);
  const all = wanted.length === entry.sections?.length;
  const bytes = all ? await readFile(path).catch(() => null) : null;
  if (all && bytes === null) throw corrupt(folder, file, 'is missing');
  const fh = all ? null : await open(path, 'r').catch(() => null);
  if (!all && fh === null && wanted.length > 0) throw corrupt(folder, file, 'is missing');
  try {
    let operator: Uint8Array | undefined;
    const keyed: Uint8Array[] = [];
    for (const [kg, offset, length, sha] of wanted) {
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
    await fh?.close();
  }
}
