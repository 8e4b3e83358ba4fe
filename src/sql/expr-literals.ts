import type { Expr, IntervalUnit } from './ir.js';
import type { ExprConvertContext } from './expr-convert-context.js';
import { freezeNode, lit } from './expr-nodes.js';
import type { NspNode } from './nsp-node.js';
import { parseError, unsupported } from './sql-errors.js';

const UNITS: Readonly<Record<string, IntervalUnit>> = {
  YEAR: 'YEAR',
  YEARS: 'YEAR',
  MONTH: 'MONTH',
  MONTHS: 'MONTH',
  DAY: 'DAY',
  DAYS: 'DAY',
  HOUR: 'HOUR',
  HOURS: 'HOUR',
  MINUTE: 'MINUTE',
  MINUTES: 'MINUTE',
  SECOND: 'SECOND',
  SECONDS: 'SECOND',
  MILLISECOND: 'MILLISECOND',
  MILLISECONDS: 'MILLISECOND',
};

export function convertNumber(c: ExprConvertContext, n: NspNode): Expr {
  const raw = String(n.value);
  const negative = raw.startsWith('-');
  const toks = c.loc.ctx.tokens;
  const i = c.loc.find((t, j) => t.kind === 'number' && (!negative || (j > 0 && toks[j - 1]!.text === '-')));
  let text = raw;
  let pos = c.at(i);
  if (i >= 0) {
    text = (negative ? '-' : '') + toks[i]!.text;
    if (negative) pos = c.loc.pos(i - 1);
  }
  const digits = text.replace(/^-/, '');
  const literalType = /[eE]/.test(digits) ? 'double' : digits.includes('.') ? 'decimal' : 'integer';
  return lit(literalType, text, pos);
}

export function convertTypedLiteral(c: ExprConvertContext, n: NspNode): Expr {
  const keyword = String(n.type).toUpperCase();
  const toks = c.loc.ctx.tokens;
  const i = c.loc.find((t, j) => t.kind === 'word' && t.upper === keyword && toks[j + 1]?.kind === 'string');
  let text = String(n.value);
  if (i >= 0) {
    text = toks[i + 1]!.value;
    c.loc.cursor = i + 2;
  }
  return lit(n.type, text, c.at(i));
}

export function convertInterval(c: ExprConvertContext, n: NspNode): Expr {
  const i = c.loc.findWord('INTERVAL');
  const pos = c.at(i);
  let unitText = String(n.unit ?? '').toUpperCase();
  if (unitText === '' && i >= 0) {
    // node-sql-parser takes an unknown unit for an alias: look at the token itself.
    const after = c.loc.token(i + 2);
    unitText = after && after.kind === 'word' ? after.upper : '';
  }
  const unit = UNITS[unitText];
  if (!unit) {
    const valid = `use one of ${Object.keys(UNITS)
      .filter((u) => !u.endsWith('S'))
      .join(', ')}`;
    if (unitText === '') throw parseError(`expected a unit after INTERVAL: ${valid}`, pos);
    throw unsupported(`interval unit ${unitText}`, pos, valid);
  }
  const v = n.expr;
  let value: string;
  if (v?.type === 'single_quote_string' || v?.type === 'string') {
    const s = c.loc.find((t) => t.kind === 'string');
    value = s >= 0 ? c.loc.token(s)!.value : String(v.value);
  } else if (v?.type === 'number' || v?.type === 'bigint') {
    const s = c.loc.find((t) => t.kind === 'number');
    value = s >= 0 ? c.loc.token(s)!.text : String(v.value);
  } else {
    throw unsupported('an INTERVAL with a computed value', pos, "write INTERVAL '5' SECOND");
  }
  c.loc.findWord(String(n.unit).toUpperCase());
  return freezeNode({ kind: 'interval', value, unit, pos });
}
