/** Loads every function family into the registry (import for its side effect). */
import './operators.js';
import './conditional.js';
import './string.js';
import './math.js';
import './datetime.js';
import './cast.js';

export { lookupFunction, functionNames } from './registry.js';
