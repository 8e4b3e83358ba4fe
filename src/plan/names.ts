/**
 * Output column naming, as Flink (Calcite) does it: an item's alias, else the column it reads,
 * else `EXPR$<item index>`; duplicates get a numeric suffix (`a`, `a0`, `a1`).
 */
import type { Expr } from '../sql/ir.js';

export function itemName(expr: Expr, alias: string | undefined, index: number): string {
  if (alias !== undefined) return alias;
  if (expr.kind === 'column') return expr.name;
  return `EXPR$${index}`;
}

export function uniquify(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const n of names) {
    let name = n;
    if (seen.has(name)) {
      let k = 0;
      while (seen.has(`${n}${k}`)) k++;
      name = `${n}${k}`;
    }
    seen.add(name);
    out.push(name);
  }
  return out;
}
