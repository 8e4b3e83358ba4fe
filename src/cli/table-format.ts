/** Renders rows as a bordered text table (as Flink's tableau result mode). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<NULL>';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return String(v);
}

export function formatTable(columns: readonly string[], rows: readonly unknown[][]): string {
  const cells = rows.map((r) => r.map(formatValue));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const sep = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const line = (vals: readonly string[]): string => '|' + vals.map((v, i) => ` ${v.padStart(widths[i])} `).join('|') + '|';
  return [sep, line(columns), sep, ...cells.map(line), sep].join('\n');
}
