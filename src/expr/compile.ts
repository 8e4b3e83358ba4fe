/**
 * Compiles bound expressions to JS functions with `new Function`, once per job. The generated
 * code reads inputs as `cols[i][row]`, keeps intermediate values in locals and allocates nothing
 * per row beyond the values themselves (strings, bigints).
 */
import type { BoundExpr, RowFn } from './bound.js';
import type { ChangeBatch } from '../model/changelog.js';
import { CodeGen } from './codegen.js';
import { lookupFunction } from './functions/registry.js';
import { formatType } from '../model/types.js';

export function compileRowFn(e: BoundExpr): RowFn {
  const g = new CodeGen((i) => `cols[${i}][row]`);
  const body = g.block(() => {
    const r = g.gen(e);
    g.emit(`return ${r};`);
  });
  return g.build<RowFn>(`return function rowFn(cols, row) {\n${body}\n};`);
}

/** A predicate that is true only when the SQL value is TRUE (NULL and FALSE reject the row). */
export function compilePredicate(e: BoundExpr): (cols: readonly unknown[][], row: number) => boolean {
  const g = new CodeGen((i) => `cols[${i}][row]`);
  const body = g.block(() => {
    const r = g.gen(e);
    g.emit(`return ${r} === true;`);
  });
  return g.build(`return function predicate(cols, row) {\n${body}\n};`);
}

/**
 * The stateless hot path (filter + projection) as ONE generated loop. Output batches keep the
 * kinds of the kept rows; null when no row is kept. Without a filter, columns that are plain
 * input references reuse the input column arrays (batches are immutable).
 */
export function compileCalc(projections: readonly BoundExpr[], filter: BoundExpr | undefined): (batch: ChangeBatch) => ChangeBatch | null {
  if (filter === undefined && projections.every((p) => p.kind === 'input')) {
    const idx = projections.map((p) => (p as { index: number }).index);
    return (batch) => {
      if (batch.size === 0) return null;
      if (idx.length === batch.columns.length && idx.every((c, i) => c === i)) return batch;
      return { size: batch.size, kinds: batch.kinds, columns: idx.map((c) => batch.columns[c]) };
    };
  }
  const used = new Set<number>();
  const g = new CodeGen((i) => {
    used.add(i);
    return `c${i}[row]`;
  });
  const filterCode = filter
    ? g.block(() => {
        const f = g.gen(filter);
        g.emit(`if (${f} !== true) continue;`);
      })
    : '';
  const outCols: string[] = [];
  const outDecls: string[] = [];
  const projCode = g.block(() => {
    projections.forEach((p, j) => {
      if (p.kind === 'input' && !filter) {
        used.add(p.index);
        outCols.push(`c${p.index}`);
        return;
      }
      outDecls.push(`const o${j} = [];`);
      outCols.push(`o${j}`);
      const v = g.gen(p);
      g.emit(`o${j}.push(${v});`);
    });
  });
  const inputDecls = [...used].sort((a, b) => a - b).map((i) => `const c${i} = cols[${i}];`);
  const src = `return function calc(batch) {
const n = batch.size;
if (n === 0) return null;
const kinds = batch.kinds;
const cols = batch.columns;
${inputDecls.join('\n')}
${outDecls.join('\n')}
${filter ? 'const ok = new Uint8Array(n);\nlet m = 0;' : ''}
for (let row = 0; row < n; row++) {
${filterCode}
${projCode}
${filter ? 'ok[m++] = kinds[row];' : ''}
}
${filter ? 'if (m === 0) return null;' : ''}
return { size: ${filter ? 'm' : 'n'}, kinds: ${filter ? '(m === n ? kinds : ok.subarray(0, m))' : 'kinds'}, columns: [${outCols.join(', ')}] };
};`;
  return g.build(src);
}

/** True when `e` can be evaluated once at bind time: a deterministic call over literals only. */
export function isFoldable(e: BoundExpr): boolean {
  if (e.kind !== 'call') return false;
  const fn = lookupFunction(e.fn);
  if (!fn || fn.deterministic === false) return false;
  return e.args.every((a) => a.kind === 'literal');
}

/**
 * Folds a constant call to a literal. An expression that fails (1 / 0) is left as it is, so the
 * error surfaces only if a row actually evaluates it.
 */
export function foldConstant(e: BoundExpr): BoundExpr {
  if (!isFoldable(e)) return e;
  try {
    const value = e.kind === 'call' && FOLD_BY_SIGNATURE.has(e.fn) ? foldBySignature(e) : compileRowFn(e)([], 0);
    return { kind: 'literal', value, type: e.type };
  } catch {
    return e;
  }
}

/**
 * Operators whose generated code depends only on the types of their operands, not on whether an
 * operand is a literal: their folding code is compiled once per signature and reused, instead of
 * once per call (`1 + 1 + ...` of 10,000 terms folds 9,999 times).
 */
const FOLD_BY_SIGNATURE = new Set(['+', '-', '*', '/', '%', '=', '<>', '<', '<=', '>', '>=', '||', 'NEGATE']);
const foldFunctions = new Map<string, RowFn>();

function foldBySignature(e: Extract<BoundExpr, { kind: 'call' }>): unknown {
  const key = `${e.fn}(${e.args.map((a) => formatType(a.type)).join(',')}):${formatType(e.type)}`;
  let fn = foldFunctions.get(key);
  if (fn === undefined) {
    fn = compileRowFn({ ...e, args: e.args.map((a, i) => ({ kind: 'input', index: i, type: a.type })) });
    // DECIMAL precisions make many signatures possible; the cache only has to serve one plan.
    if (foldFunctions.size >= 1000) foldFunctions.clear();
    foldFunctions.set(key, fn);
  }
  return fn(
    e.args.map((a) => [(a as { value: unknown }).value]),
    0,
  );
}
