/** Creates the backend `state.backend.type` names for an operator subtask. */
import type { StateBackendType } from '../config/state-backend-type.js';
import { HeapKeyedStateBackend } from './heap-backend.js';
import { RocksKeyedStateBackend, type RocksBackendOptions } from './rocks-backend.js';
import type { KeyedStateBackend } from './state-backend.js';

export type StateBackendOptions = RocksBackendOptions;

export function createStateBackend(type: StateBackendType, options: StateBackendOptions): KeyedStateBackend {
  switch (type) {
    case 'hashmap':
      return new HeapKeyedStateBackend(options);
    case 'rocksdb':
      return new RocksKeyedStateBackend(options);
  }
}
