import { userError } from '../errors.js';
import type { Pos } from '../sql/ir.js';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Expands `${NAME}` references to environment variables in an option value, so secrets need not
 * be written into job files (`'password' = '${PGPASSWORD}'`). A reference to a variable that is
 * not set is a user error naming it; the expanded value is never echoed.
 */
export function expandEnv(value: string, what: string, pos?: Pos, env: NodeJS.ProcessEnv = process.env): string {
  if (!value.includes('${')) return value;
  return value.replace(REF, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      throw userError('MISSING_ENV', `${what} refers to environment variable '${name}', which is not set`, { position: pos, details: { variable: name } });
    }
    return v;
  });
}
