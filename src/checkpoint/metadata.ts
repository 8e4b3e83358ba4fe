import { z } from 'zod';
import type { JsonValue } from '../runtime/operator.js';
import type { SplitPosition } from '../runtime/source.js';

/**
 * The `_metadata` file of a checkpoint or savepoint (JSON). Written last and atomically: a folder
 * whose `_metadata` parses and whose state files match their recorded length and sha256 is a
 * complete checkpoint; anything else is incomplete or corrupt. Holds only what operators and
 * readers returned (never connector options, so never secrets).
 */
export const METADATA_FORMAT_VERSION = 1;

const json = z.json() as unknown as z.ZodType<JsonValue>;

const subtaskStateSchema = z.object({
  subtask: z.number().int().nonnegative(),
  /** File name inside the checkpoint folder, or null when the subtask had no state. */
  stateFile: z.string().nullable(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
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
  /** Sum of the state files' lengths. */
  stateSize: z.number().int().nonnegative(),
  fingerprint: z.string(),
  operators: z.record(z.string(), operatorStateSchema),
  sources: z.record(z.string(), sourceStateSchema),
});

export type CheckpointMetadata = z.infer<typeof checkpointMetadataSchema>;
export type OperatorStateEntry = z.infer<typeof operatorStateSchema>;
export type SubtaskStateEntry = z.infer<typeof subtaskStateSchema>;

/** The metadata's split positions with their JSON typed as the runtime contract types them. */
export function sourcePositionsOf(metadata: CheckpointMetadata, uid: string): SplitPosition[] {
  return (metadata.sources[uid]?.positions ?? []) as SplitPosition[];
}

/** Parses and validates metadata text; throws a plain Error describing the first problem. */
export function parseMetadata(text: string): CheckpointMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`_metadata is not valid JSON (${(e as Error).message})`);
  }
  const parsed = checkpointMetadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`_metadata is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
