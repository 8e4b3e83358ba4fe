/** Creates the backend `state.backend.type` names for an operator subtask. */
import type { StateBackendType } from '../config/state-backend-type.js';
import { HeapKeyedStateBackend, type HeapBackendOptions } from './heap-backend.js';
import type { KeyedStateBackend } from './state-backend.js';

export type StateBackendOptions = HeapBackendOptions;

export function createStateBackend(type: StateBackendType, options: StateBackendOptions): KeyedStateBackend {
  switch (type) {
    case 'hashmap':
      return new HeapKeyedStateBackend(options);
  }
}
