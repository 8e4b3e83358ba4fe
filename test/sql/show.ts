/**
 * Compact renderings of IR for assertions: expressions as S-expressions, queries as one line.
 * `withPos` appends `@line:col` to every node that has a position.
 */
import { formatType } from '../../src/model/types.js';
import type { Expr, FromItem, Query, SelectItem } from '../../src/sql/ir.js';
import { unreachable } from '../../src/errors.js';

export function showExpr(e: Expr, withPos = false): string {
  const p = withPos && e.pos ? `@${e.pos.line}:${e.pos.column}` : '';
  const s = (x: Expr): string => showExpr(x, withPos);
  switch (e.kind) {
    case 'column':
      return `${e.table !== undefined ? `${e.table}.` : ''}${e.name}${p}`;
    case 'literal':
      return `${e.literalType}:${e.text}${p}`;
    case 'interval':
      return `interval:${e.value}:${e.unit}${p}`;
    case 'unary':
      return `(${e.op}${p} ${s(e.operand)})`;
    case 'binary':
      return `(${e.op}${p} ${s(e.left)} ${s(e.right)})`;
    case 'is-null':
      return `(is-${e.negated ? 'not-' : ''}null${p} ${s(e.operand)})`;
    case 'is-bool':
      return `(is-${e.negated ? 'not-' : ''}${e.value}${p} ${s(e.operand)})`;
    case 'in':
      return `(${e.negated ? 'not-' : ''}in${p} ${s(e.operand)} [${e.list.map(s).join(' ')}])`;
    case 'between':
      return `(${e.negated ? 'not-' : ''}between${p} ${s(e.operand)} ${s(e.low)} ${s(e.high)})`;
    case 'like':
      return `(${e.negated ? 'not-' : ''}like${p} ${s(e.operand)} ${s(e.pattern)}${e.escape ? ` escape ${s(e.escape)}` : ''})`;
    case 'case':
      return `(case${p}${e.operand ? ` ${s(e.operand)}` : ''}${e.whens.map((w) => ` [${s(w.when)} ${s(w.then)}]`).join('')}${e.else ? ` else ${s(e.else)}` : ''})`;
    case 'cast':
      return `(${e.try ? 'try-cast' : 'cast'}${p} ${s(e.operand)} ${formatType(e.target)})`;
    case 'call':
      return `(${e.name}${p}${e.distinct ? ' distinct' : ''}${e.star ? ' *' : ''}${e.args.map((a) => ` ${s(a)}`).join('')}${e.filter ? ` filter ${s(e.filter)}` : ''})`;
    default:
      return unreachable(e);
  }
}

function showItem(i: SelectItem, withPos: boolean): string {
  if (i.kind === 'star') return `${i.table !== undefined ? `${i.table}.` : ''}*`;
  return `${showExpr(i.expr, withPos)}${i.alias !== undefined ? ` AS ${i.alias}` : ''}`;
}

export function showFrom(f: FromItem, withPos = false): string {
  const p = withPos && f.pos ? `@${f.pos.line}:${f.pos.column}` : '';
  switch (f.kind) {
    case 'table':
      return `${f.name.join('.')}${p}${f.alias !== undefined ? ` ${f.alias}` : ''}`;
    case 'subquery':
      return `(${showQuery(f.query, withPos)})${p}${f.alias !== undefined ? ` ${f.alias}` : ''}`;
    case 'join':
      return `[${showFrom(f.left, withPos)} ${f.joinType}${p} ${showFrom(f.right, withPos)}${f.on ? ` ON ${showExpr(f.on, withPos)}` : ''}]`;
    case 'window-tvf': {
      const t = withPos && f.timeCol.pos ? `@${f.timeCol.pos.line}:${f.timeCol.pos.column}` : '';
      const part = f.partitionBy.length > 0 ? ` PARTITION BY ${f.partitionBy.map((c) => c.name).join(', ')}` : '';
      const args = f.intervals.map((e) => showExpr(e, withPos)).join(', ');
      return `${f.fn}${p}(TABLE ${showFrom(f.input, withPos)}${part}, DESCRIPTOR(${f.timeCol.name}${t}), ${args})${f.alias !== undefined ? ` ${f.alias}` : ''}`;
    }
    default:
      return unreachable(f);
  }
}

export function showQuery(q: Query, withPos = false): string {
  const p = withPos && q.pos ? `@${q.pos.line}:${q.pos.column}` : '';
  if (q.kind === 'union') return `{${showQuery(q.left, withPos)} UNION${q.all ? ' ALL' : ''}${p} ${showQuery(q.right, withPos)}}`;
  const parts = [`SELECT${p}${q.distinct ? ' DISTINCT' : ''} ${q.items.map((i) => showItem(i, withPos)).join(', ')}`];
  if (q.from) parts.push(`FROM ${showFrom(q.from, withPos)}`);
  if (q.where) parts.push(`WHERE ${showExpr(q.where, withPos)}`);
  if (q.groupBy.length > 0) parts.push(`GROUP BY ${q.groupBy.map((g) => showExpr(g, withPos)).join(', ')}`);
  if (q.having) parts.push(`HAVING ${showExpr(q.having, withPos)}`);
  if (q.orderBy.length > 0) parts.push(`ORDER BY ${q.orderBy.map((o) => `${showExpr(o.expr, withPos)}${o.descending ? ' DESC' : ''}`).join(', ')}`);
  if (q.limit !== undefined) parts.push(`LIMIT ${q.limit}`);
  return parts.join(' ');
}
