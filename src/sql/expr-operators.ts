import type { BinaryOp, Expr } from './ir.js';
import type { ExprConvertContext } from './expr-convert-context.js';
import { describeNode, freezeNode } from './expr-nodes.js';
import type { NspNode } from './nsp-node.js';
import { parseError, unsupported } from './sql-errors.js';

const DIRECT_BINARY: Readonly<Record<string, BinaryOp>> = {
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  AND: 'AND',
  OR: 'OR',
  '||': '||',
};

export function convertUnary(c: ExprConvertContext, operator: string, operand: NspNode): Expr {
  const op = String(operator).toUpperCase();
  if (op !== '-' && op !== '+' && op !== 'NOT' && op !== '!') throw unsupported(`operator ${op}`, c.loc.lastPos());
  const i = op === 'NOT' ? c.loc.findWord('NOT') : c.loc.findOp(op);
  const pos = c.at(i);
  return freezeNode({ kind: 'unary', op: op === '!' ? 'NOT' : op, operand: c.expr(operand), pos });
}

/**
 * `a + b + c ...` arrives as a left-deep tree as long as the chain: its left spine is walked
 * in a loop (operands still converted in source order, as the locator needs).
 */
function binaryChain(c: ExprConvertContext, n: NspNode): Expr {
  const spine: NspNode[] = [];
  let cur = n;
  while (cur?.type === 'binary_expr' && cur.ast === undefined && DIRECT_BINARY[String(cur.operator).toUpperCase()] !== undefined && !isLogic(cur)) {
    spine.push(cur);
    cur = cur.left;
  }
  let acc = c.expr(cur);
  for (let k = spine.length - 1; k >= 0; k--) {
    const node = spine[k];
    const right = c.expr(node.right);
    acc = freezeNode({ kind: 'binary', op: DIRECT_BINARY[String(node.operator).toUpperCase()]!, left: acc, right, pos: acc.pos });
  }
  return acc;
}

/**
 * An AND / OR chain. node-sql-parser's FlinkSQL grammar gets their precedence wrong (`a OR b
 * AND c` comes back as `(a OR b) AND c`, and in a SELECT item as right-associative), so the
 * chain is read back in source order (a parenthesized part is one operand) and rebuilt: AND
 * binds tighter than OR, both associate to the left. A loop, however long the chain.
 */
function logicChain(c: ExprConvertContext, n: NspNode): Expr {
  const operands: NspNode[] = [];
  const ops: BinaryOp[] = [];
  const stack: (NspNode | BinaryOp)[] = [n];
  let root = true;
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x === 'string') ops.push(x as BinaryOp);
    else if (isLogic(x) && (root || !x.parentheses)) stack.push(x.right, DIRECT_BINARY[String(x.operator).toUpperCase()]!, x.left);
    else operands.push(x);
    root = false;
  }
  const exprs = operands.map((o) => c.expr(o));
  const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => freezeNode({ kind: 'binary', op, left, right, pos: left.pos });
  let ors: Expr | undefined;
  let term = exprs[0]!;
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === 'AND') {
      term = bin('AND', term, exprs[i + 1]!);
    } else {
      ors = ors === undefined ? term : bin('OR', ors, term);
      term = exprs[i + 1]!;
    }
  }
  return ors === undefined ? term : bin('OR', ors, term);
}

export function convertBinary(c: ExprConvertContext, n: NspNode): Expr {
  const op = String(n.operator).toUpperCase();
  if (isLogic(n)) return logicChain(c, n);
  if (DIRECT_BINARY[op] !== undefined) return binaryChain(c, n);
  switch (op) {
    case 'IN':
    case 'NOT IN': {
      const operand = c.expr(n.left);
      const items: NspNode[] = n.right?.type === 'expr_list' ? n.right.value : [n.right];
      if (items.some((x) => x?.ast !== undefined)) throw unsupported('IN (subquery)', operand.pos);
      const list = items.map((x) => c.expr(x));
      return freezeNode({ kind: 'in', negated: op === 'NOT IN', operand, list, pos: operand.pos });
    }
    case 'BETWEEN':
    case 'NOT BETWEEN': {
      const operand = c.expr(n.left);
      const bounds: NspNode[] = n.right?.value ?? [];
      if (bounds.length !== 2) throw parseError('expected BETWEEN low AND high', operand.pos);
      const low = c.expr(bounds[0]);
      const high = c.expr(bounds[1]);
      return freezeNode({ kind: 'between', negated: op === 'NOT BETWEEN', operand, low, high, pos: operand.pos });
    }
    case 'LIKE':
    case 'NOT LIKE': {
      const operand = c.expr(n.left);
      const pattern = c.expr(n.right);
      const esc = n.right?.escape;
      const escape = esc ? c.expr(esc.value) : undefined;
      return freezeNode({
        kind: 'like',
        negated: op === 'NOT LIKE',
        operand,
        pattern,
        ...(escape ? { escape } : {}),
        pos: operand.pos,
      });
    }
    case 'IS':
    case 'IS NOT': {
      const operand = c.expr(n.left);
      const negated = op === 'IS NOT';
      if (n.right?.type === 'null') {
        c.loc.findWord('NULL');
        return freezeNode({ kind: 'is-null', negated, operand, pos: operand.pos });
      }
      if (n.right?.type === 'bool') {
        c.loc.findWord(n.right.value ? 'TRUE' : 'FALSE');
        return freezeNode({ kind: 'is-bool', negated, value: Boolean(n.right.value), operand, pos: operand.pos });
      }
      throw unsupported(`${op} ${describeNode(n.right)}`, operand.pos);
    }
    default: {
      const left = c.expr(n.left);
      throw unsupported(`operator ${op}`, left.pos);
    }
  }
}

function isLogic(n: NspNode): boolean {
  if (n?.type !== 'binary_expr' || n.ast !== undefined) return false;
  const op = String(n.operator).toUpperCase();
  return op === 'AND' || op === 'OR';
}
