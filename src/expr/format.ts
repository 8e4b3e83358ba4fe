/**
 * Renders bound expressions as SQL-like text for EXPLAIN and error messages:
 * `(amount * 2)`, `UPPER(name)`, `CAST(s AS INT)`, `$3` for unnamed inputs.
 */
import type { BoundExpr } from './bound.js';
import { foldBound, joinText } from './bound-walk.js';
import { unreachable } from '../errors.js';
import { showValue } from './cast.js';
import { typeName } from './type-rules.js';
import { formatTime } from './datetime-util.js';

const INFIX = new Set(['+', '-', '*', '/', '%', '=', '<>', '<', '<=', '>', '>=', 'AND', 'OR', '||']);
const POSTFIX = new Set(['IS NULL', 'IS NOT NULL', 'IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE']);

/** `names[i]` names input column i; missing names print as `$i`. */
export function formatExpr(e: BoundExpr, names: readonly string[] = []): string {
  return foldBound<string>(e, (x, a) => {
    switch (x.kind) {
      case 'input':
        return names[x.index] ?? `$${x.index}`;
      case 'literal': {
        const t = x.type;
        if (x.value === null) return 'NULL';
        switch (t.kind) {
          case 'CHAR':
          case 'VARCHAR':
          case 'STRING':
            return `'${String(x.value).replace(/'/g, "''")}'`;
          case 'DATE':
            return `DATE ${showValue(x.value, t)}`;
          case 'TIME':
            return `TIME '${formatTime(x.value as number, t.precision ?? 0)}'`;
          case 'TIMESTAMP':
          case 'TIMESTAMP_LTZ':
            return `TIMESTAMP ${showValue(x.value, t)}`;
          case 'BOOLEAN':
            return x.value ? 'TRUE' : 'FALSE';
          default:
            return showValue(x.value, t);
        }
      }
      case 'call': {
        if (INFIX.has(x.fn) && a.length === 2) return `(${a[0]} ${x.fn} ${a[1]})`;
        if (POSTFIX.has(x.fn)) return `(${a[0]} ${x.fn})`;
        switch (x.fn) {
          case 'NEGATE':
            return `(-${a[0]})`;
          case 'NOT':
            return `(NOT ${a[0]})`;
          case 'CAST':
          case 'TRY_CAST':
            return `${x.fn}(${a[0]} AS ${typeName(x.type)})`;
          case 'IN':
            return `(${a[0]} IN (${joinText(a.slice(1), ', ')}))`;
          case 'BETWEEN':
            return `(${a[0]} BETWEEN ${a[1]} AND ${a[2]})`;
          case 'LIKE':
            return `(${a[0]} LIKE ${a[1]}${a[2] ? ` ESCAPE ${a[2]}` : ''})`;
          case 'CASE': {
            let s = 'CASE';
            for (let i = 0; i + 1 < a.length; i += 2) s += ` WHEN ${a[i]} THEN ${a[i + 1]}`;
            return `${s} ELSE ${a[a.length - 1]} END`;
          }
          default:
            return `${x.fn}(${joinText(a, ', ')})`;
        }
      }
      default:
        return unreachable(x);
    }
  });
}
