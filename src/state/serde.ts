import { deserialize, serialize } from 'node:v8';

/**
 * Operator state is serialized with V8's structured-clone format: it keeps Maps, Sets, bigints,
 * typed arrays and nested objects as they are, and is fast. State must hold only such plain data
 * (no class instances, no functions).
 */
export function serializeState(value: unknown): Uint8Array {
  return serialize(value);
}

export function deserializeState<T>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}
