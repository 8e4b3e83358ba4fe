/**
 * `state.backend.type`: which backend holds an operator subtask's keyed state (Flink's key and
 * values; `hashmap`, the heap, is the default).
 */
import { HeapKeyedStateBackend, type HeapBackendOptions } from './heap-backend.js';
import type { KeyedStateBackend } from './state-backend.js';

export const STATE_BACKEND_TYPES = ['hashmap'] as const;
export type StateBackendType = (typeof STATE_BACKEND_TYPES)[number];

export type StateBackendOptions = HeapBackendOptions;

export function createStateBackend(type: StateBackendType, options: StateBackendOptions): KeyedStateBackend {
  switch (type) {
    case 'hashmap':
      return new HeapKeyedStateBackend(options);
  }
}
