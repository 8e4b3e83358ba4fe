import type { Expr } from './ir.js';
import type { ExprConvertContext } from './expr-convert-context.js';
import { freezeNode } from './expr-nodes.js';
import type { NspNode } from './nsp-node.js';
import { parseError, unsupported } from './sql-errors.js';

export function convertCase(c: ExprConvertContext, n: NspNode): Expr {
  const pos = c.at(c.loc.findWord('CASE'));
  const operand = n.expr ? c.expr(n.expr) : undefined;
  const whens: { when: Expr; then: Expr }[] = [];
  let otherwise: Expr | undefined;
  for (const arm of n.args ?? []) {
    if (arm.type === 'when') {
      const when = c.expr(arm.cond);
      const then = c.expr(arm.result);
      whens.push(Object.freeze({ when, then }));
    } else if (arm.type === 'else') {
      otherwise = c.expr(arm.result);
    }
  }
  if (whens.length === 0) throw parseError('expected WHEN in CASE', pos);
  c.loc.findWord('END');
  return freezeNode({
    kind: 'case',
    ...(operand ? { operand } : {}),
    whens: Object.freeze(whens),
    ...(otherwise ? { else: otherwise } : {}),
    pos,
  });
}

export function convertCast(c: ExprConvertContext, n: NspNode): Expr {
  const keyword = String(n.keyword ?? 'cast').toUpperCase();
  if (n.symbol === '::') throw unsupported("'::' casts", c.loc.lastPos(), 'use CAST(x AS type)');
  const i = c.loc.findWord(keyword);
  const pos = c.at(i);
  const target = i >= 0 ? c.tables.castTypes.get(c.loc.token(i)!.start) : undefined;
  if (!target) throw unsupported(`this ${keyword} target type`, pos);
  const operand = c.inParens(i, () => c.expr(n.expr));
  return freezeNode({ kind: 'cast', operand, target, try: keyword === 'TRY_CAST', pos });
}
