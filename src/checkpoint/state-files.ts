import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userError } from '../errors.js';
import type { CheckpointMetadata, SubtaskStateEntry } from './metadata.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Checks every state file's presence, length and sha256; returns the problem or undefined. */
export async function verifyStateFiles(folder: string, metadata: CheckpointMetadata): Promise<string | undefined> {
  for (const op of Object.values(metadata.operators)) {
    for (const st of op.subtasks) {
      if (st.stateFile === null) continue;
      const problem = await checkStateFile(folder, st);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

async function checkStateFile(folder: string, st: SubtaskStateEntry): Promise<string | undefined> {
  const file = st.stateFile!;
  const files = new Map<string, Buffer | null>();
  const read = async (name: string): Promise<Buffer | null> => {
    if (!files.has(name)) files.set(name, await readFile(join(folder, name)).catch(() => null));
    return files.get(name)!;
  };
  const bytes = await read(file);
  if (bytes === null) return `state file ${file} is missing`;
  if (bytes.length !== st.bytes) return `state file ${file} has ${bytes.length} bytes, expected ${st.bytes}`;
  if (st.sections !== undefined) {
    for (const [kg, offset, length, sha, shared] of st.sections) {
      const name = shared ?? file;
      const b = await read(name);
      if (b === null) return `state file ${name} is missing`;
      if (offset + length > b.length || sha256Hex(b.subarray(offset, offset + length)) !== sha) {
        return `state file ${name} sha256 mismatch${kg < 0 ? '' : ` (key group ${kg})`}`;
      }
    }
    return undefined;
  }
  if (sha256Hex(bytes) !== st.sha256) return `state file ${file} sha256 mismatch`;
  return undefined;
}

/** Loads one subtask's state bytes, verifying length and sha256 (CHECKPOINT_CORRUPT otherwise). */
export async function loadStateFile(folder: string, st: SubtaskStateEntry): Promise<Uint8Array> {
  if (st.stateFile === null) return new Uint8Array(0);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(folder, st.stateFile));
  } catch {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${st.stateFile} is missing`, {
      details: { path: folder },
    });
  }
  if (bytes.length !== st.bytes || sha256Hex(bytes) !== st.sha256) {
    throw userError('CHECKPOINT_CORRUPT', `checkpoint ${folder} is corrupt: state file ${st.stateFile} does not match its checksum`, {
      details: { path: folder },
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
