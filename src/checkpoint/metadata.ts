import { createHash } from 'node:crypto';
import { z } from 'zod';
import { KEY_GROUPS } from '../model/partition.js';
import type { JsonValue } from '../runtime/operator.js';
import type { SplitPosition } from '../runtime/source.js';

/**
 * The `_metadata` file of a checkpoint or savepoint (JSON). Written last and atomically: a folder
 * whose `_metadata` parses, matches its own checksum and whose state files match their recorded
 * length and sha256 is a complete checkpoint; anything else is incomplete or corrupt. Holds only
 * what operators and readers returned (never connector options, so never secrets).
 *
 * `checksum` (`sha256:<hex>` of the canonical JSON of every other field) protects the file
 * itself: an edit that keeps it valid JSON (a changed source position) would otherwise restore
 * silently and replay or skip rows. It is an optional field of format 1, so metadata written
 * before it existed still parses (and a weir that predates it ignores it).
 */
export const METADATA_FORMAT_VERSION = 1;

const json = z.json() as unknown as z.ZodType<JsonValue>;

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

/** A state file's name relative to the checkpoint folder (`../shared/...` for shared files). */
const stateFilePath = z.string().regex(/^(\.\.\/shared\/)?[A-Za-z0-9._-]+$/);

/**
 * A section of a state file: [key group (-1: the operator's own state), offset, length, sha256,
 * file]. `file` (optional) names another state file than the subtask's own: with incremental
 * checkpoints a key group's sections are a chain (its last whole section, then the changes of
 * later checkpoints, in order) kept in the shared files of the checkpoints that wrote them.
 * See state-sections.ts.
 */
const sectionHead = [
  z
    .number()
    .int()
    .min(-1)
    .max(KEY_GROUPS - 1),
  z.number().int().nonnegative(),
  z.number().int().nonnegative(),
  sha256Schema,
] as const;
const stateSectionSchema = z.union([z.tuple([...sectionHead]), z.tuple([...sectionHead, stateFilePath])]);

const subtaskStateSchema = z.object({
  subtask: z.number().int().nonnegative(),
  /**
   * File name inside the checkpoint folder (or `../shared/<name>` with incremental checkpoints),
   * or null when the subtask had no state.
   */
  stateFile: stateFilePath.nullable(),
  bytes: z.number().int().nonnegative(),
  /** Of the whole file; null when it has no state, or when `sections` cover it (each checksummed). */
  sha256: sha256Schema.nullable(),
  /** Present when the file is cut into sections (operator state and key groups). */
  sections: z.array(stateSectionSchema).optional(),
  committables: z.array(json),
});

const operatorStateSchema = z.object({
  name: z.string(),
  parallelism: z.number().int().positive(),
  subtasks: z.array(subtaskStateSchema),
});

const splitPositionSchema = z.object({
  split: z.looseObject({ id: z.string() }),
  position: json,
  finished: z.boolean().optional(),
});

const sourceStateSchema = z.object({
  name: z.string(),
  parallelism: z.number().int().positive(),
  positions: z.array(splitPositionSchema),
});

export const checkpointMetadataSchema = z.object({
  formatVersion: z.literal(METADATA_FORMAT_VERSION),
  jobName: z.string(),
  checkpointId: z.number().int().positive(),
  kind: z.enum(['checkpoint', 'savepoint']),
  savepointName: z.string().nullable(),
  /** The last checkpoint of a bounded job or a stop. */
  final: z.boolean(),
  /** Epoch millis when the checkpoint was triggered. */
  triggeredAt: z.number(),
  /** Epoch millis when it completed (the metadata was written). */
  timestamp: z.number(),
  durationMs: z.number().nonnegative(),
  /** The state's full size: every section the checkpoint restores from (shared ones included). */
  stateSize: z.number().int().nonnegative(),
  /** Bytes this checkpoint wrote (less than stateSize when it shares files with earlier ones). */
  addedSize: z.number().int().nonnegative().optional(),
  fingerprint: z.string(),
  operators: z.record(z.string(), operatorStateSchema),
  sources: z.record(z.string(), sourceStateSchema),
  checksum: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
});

export type CheckpointMetadata = z.infer<typeof checkpointMetadataSchema>;
export type OperatorStateEntry = z.infer<typeof operatorStateSchema>;
export type SubtaskStateEntry = z.infer<typeof subtaskStateSchema>;
export type StateSection = z.infer<typeof stateSectionSchema>;

/** The metadata's split positions with their JSON typed as the runtime contract types them. */
export function sourcePositionsOf(metadata: CheckpointMetadata, uid: string): SplitPosition[] {
  return (metadata.sources[uid]?.positions ?? []) as SplitPosition[];
}

/**
 * JSON with every object's keys sorted and no whitespace: the form the checksum covers, so that
 * re-indenting or re-ordering keys by hand does not count as damage. Numbers and strings are
 * serialized as JSON.stringify does, which with sorted keys is RFC 8785's canonical form for the
 * values metadata holds (hand-written: ten lines, not worth a dependency).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** `sha256:<hex>` over the canonical JSON of a parsed metadata object without its checksum field. */
function checksumOf(plain: Record<string, unknown>): string {
  const { checksum: _ignored, ...rest } = plain;
  return `sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`;
}

/** The text of a `_metadata` file: the metadata with its checksum. */
export function serializeMetadata(metadata: CheckpointMetadata): string {
  // Through JSON first, so the checksum covers exactly what a reader parses back (no undefined fields).
  const plain = JSON.parse(JSON.stringify(metadata)) as Record<string, unknown>;
  return JSON.stringify({ ...plain, checksum: checksumOf(plain) }, null, 2);
}

export interface ParsedMetadata {
  readonly metadata: CheckpointMetadata;
  /** False when the file has no checksum (written by a weir that predates it): not verified. */
  readonly checksummed: boolean;
}

/**
 * Parses metadata text and verifies its checksum when it has one; throws a plain Error naming
 * the first problem (`file` names the file in that message).
 */
export function parseMetadataText(text: string, file = '_metadata'): ParsedMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const checksum = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).checksum : undefined;
  if (checksum !== undefined && checksum !== checksumOf(raw as Record<string, unknown>)) {
    throw new Error(`${file} does not match its checksum (edited or damaged)`);
  }
  const parsed = checkpointMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { metadata: parsed.data, checksummed: checksum !== undefined };
}

/** Parses and validates metadata text (verifying its checksum when it has one); throws a plain Error describing the first problem. */
export function parseMetadata(text: string): CheckpointMetadata {
  return parseMetadataText(text).metadata;
}
