import { hashValue } from '../../src/model/partition.js';
import type { KeyedStateBackend, ValueState } from '../../src/state/state-backend.js';

/** As the task does around a batch: prefetch the keys, load, run `fn`, write back. */
export async function batch(b: KeyedStateBackend, s: ValueState<string, unknown>, keys: readonly string[], fn: () => void): Promise<void> {
  for (const k of keys) s.prefetch(k, hashValue(k));
  await b.load();
  fn();
  await b.afterBatch();
}

/** Every entry of value state `name`, read with forEach. */
export async function contents(b: KeyedStateBackend, name: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  await b.valueState<string, unknown>(name).forEach((v, k) => void out.set(k, v));
  return out;
}
