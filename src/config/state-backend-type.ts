/**
 * `state.backend.type`: which backend holds operators' keyed state (Flink's key and values;
 * `hashmap`, the heap, is the default). src/state/backends.ts creates them.
 */
export const STATE_BACKEND_TYPES = ['hashmap', 'rocksdb'] as const;
export type StateBackendType = (typeof STATE_BACKEND_TYPES)[number];
