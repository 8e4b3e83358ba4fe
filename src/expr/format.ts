/**
 * Renders bound expressions as SQL-like text for EXPLAIN and error messages:
 * `(amount * 2)`, `UPPER(name)`, `CAST(s AS INT)`, `$3` for unnamed inputs.
 */
import type { BoundExpr } from './bound.js';
import { unreachable } from '../errors.js';
import { showValue } from './cast.js';
import { typeName } from './type-rules.js';
import { formatTime } from './datetime-util.js';

const INFIX = new Set(['+', '-', '*', '/', '%', '=', '<>', '<', '<=', '>', '>=', 'AND', 'OR', '||']);
const POSTFIX = new Set(['IS NULL', 'IS NOT NULL', 'IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE']);

/** `names[i]` names input column i; missing names print as `$i`. */
export function formatExpr(e: BoundExpr, names: readonly string[] = []): string {
  const f = (x: BoundExpr): string => formatExpr(x, names);
  switch (e.kind) {
    case 'input':
      return names[e.index] ?? `$${e.index}`;
    case 'literal': {
      const t = e.type;
      if (e.value === null) return 'NULL';
      switch (t.kind) {
        case 'CHAR': case 'VARCHAR': case 'STRING': return `'${String(e.value).replace(/'/g, "''")}'`;
        case 'DATE': return `DATE ${showValue(e.value, t)}`;
        case 'TIME': return `TIME '${formatTime(e.value as number, t.precision ?? 0)}'`;
        case 'TIMESTAMP': case 'TIMESTAMP_LTZ': return `TIMESTAMP ${showValue(e.value, t)}`;
        case 'BOOLEAN': return e.value ? 'TRUE' : 'FALSE';
        default: return showValue(e.value, t);
      }
    }
    case 'call': {
      const a = e.args;
      if (INFIX.has(e.fn) && a.length === 2) return `(${f(a[0])} ${e.fn} ${f(a[1])})`;
      if (POSTFIX.has(e.fn)) return `(${f(a[0])} ${e.fn})`;
      switch (e.fn) {
        case 'NEGATE': return `(-${f(a[0])})`;
        case 'NOT': return `(NOT ${f(a[0])})`;
        case 'CAST': case 'TRY_CAST': return `${e.fn}(${f(a[0])} AS ${typeName(e.type)})`;
        case 'IN': return `(${f(a[0])} IN (${a.slice(1).map(f).join(', ')}))`;
        case 'BETWEEN': return `(${f(a[0])} BETWEEN ${f(a[1])} AND ${f(a[2])})`;
        case 'LIKE': return `(${f(a[0])} LIKE ${f(a[1])}${a[2] ? ` ESCAPE ${f(a[2])}` : ''})`;
        case 'CASE': {
          let s = 'CASE';
          for (let i = 0; i + 1 < a.length; i += 2) s += ` WHEN ${f(a[i])} THEN ${f(a[i + 1])}`;
          return `${s} ELSE ${f(a[a.length - 1])} END`;
        }
        default:
          return `${e.fn}(${a.map(f).join(', ')})`;
      }
    }
    default:
      return unreachable(e);
  }
}
