/** Renders rows as a bordered text table (as Flink's tableau result mode). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<NULL>';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return String(v);
}

/** Numbers are right-aligned, everything else left-aligned (as Flink's tableau mode). */
export function formatTable(columns: readonly string[], rows: readonly unknown[][]): string {
  const cells = rows.map((r) => r.map(formatValue));
  const isNumber = (v: unknown): boolean =>
    v === null || typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
  const numeric = columns.map((_c, i) => rows.length > 0 && rows.every((r) => isNumber(r[i])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (vals: readonly string[]): string => `|${vals.map((v, i) => ` ${numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])} `).join('|')}|`;
  return [sep, line(columns), sep, ...cells.map(line), sep].join('\n');
}
